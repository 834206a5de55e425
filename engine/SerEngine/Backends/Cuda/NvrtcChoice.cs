using System.Globalization;

namespace SerEngine.Backends.Cuda;

/// <summary>
/// The decisions behind compiling with NVRTC, as pure functions (unit-tested without a GPU): which of
/// the NVRTC libraries found suits the driver, which <c>libnvrtc-builtins</c> goes with it, and which
/// architectures to compile for.
/// </summary>
public static class NvrtcChoice
{
    /// <summary>
    /// The CUDA major version a library file name carries (<c>libnvrtc.so.12.4.127</c> → 12,
    /// <c>libnvrtc.so.11.2</c> → 11), or null when it has none (<c>libnvrtc.so</c>).
    /// </summary>
    public static int? MajorFromFileName(string path)
    {
        var name = Path.GetFileName(path);
        int at = name.IndexOf(".so.", StringComparison.Ordinal);
        if (at < 0) return null;
        var rest = name[(at + 4)..];
        int dot = rest.IndexOf('.', StringComparison.Ordinal);
        return int.TryParse(dot < 0 ? rest : rest[..dot], NumberStyles.None, CultureInfo.InvariantCulture, out int major) ? major : null;
    }

    /// <summary>The driver API version as <c>major.minor</c> (<c>12040</c> → 12.4).</summary>
    public static Version DriverVersion(int driverVersion) => new(driverVersion / 1000, driverVersion % 1000 / 10);

    /// <summary>
    /// Picks one NVRTC among those loaded, in search order, for a driver of
    /// <paramref name="driverVersion"/> (<c>cuDriverGetVersion</c>; 0 when there is no driver, e.g.
    /// compiling PTX on a machine without a GPU: then the first one). Preference: the first whose
    /// version is not newer than the driver's (its PTX always JITs); else the first of the driver's
    /// major version (CUBIN loads under minor-version compatibility, PTX may not); never a newer major
    /// (the driver rejects its PTX and CUBIN). Returns the index, or -1, and why.
    /// </summary>
    public static (int Index, string Reason) ChooseLibrary(IReadOnlyList<Version> versions, int driverVersion)
    {
        if (versions.Count == 0) return (-1, "no NVRTC library loaded");
        if (driverVersion <= 0) return (0, "no CUDA driver to match: the first NVRTC found");
        var driver = DriverVersion(driverVersion);
        for (int i = 0; i < versions.Count; i++)
            if (new Version(versions[i].Major, versions[i].Minor) <= driver)
                return (i, $"NVRTC {versions[i]} is not newer than the driver (CUDA {driver})");
        for (int i = 0; i < versions.Count; i++)
            if (versions[i].Major == driver.Major)
                return (i, $"NVRTC {versions[i]} has the driver's major version (CUDA {driver}); CUBIN is preferred, PTX may need a newer driver");
        return (-1, $"every NVRTC found ({string.Join(", ", versions)}) is a newer major version than the driver (CUDA {driver}): " +
            $"install an NVRTC of CUDA {driver.Major} or older, or set {NvrtcSearch.EnvironmentVariable} to one");
    }

    /// <summary>
    /// The <c>libnvrtc-builtins.so*</c> file to load before compiling with NVRTC <paramref name="version"/>,
    /// chosen among <paramref name="filesInFolder"/> (names in the chosen libnvrtc's folder): the exact
    /// <c>.so.MAJOR.MINOR</c> NVRTC asks the loader for, else another of the same major, else the bare
    /// <c>.so</c>; null when none is there.
    /// </summary>
    public static string? ChooseBuiltins(Version version, IEnumerable<string> filesInFolder)
    {
        var names = filesInFolder.Select(Path.GetFileName).OfType<string>()
            .Where(n => n.StartsWith("libnvrtc-builtins.so", StringComparison.Ordinal) && !n.EndsWith(".alt", StringComparison.Ordinal)).ToList();
        string exact = $"libnvrtc-builtins.so.{version.Major}.{version.Minor}";
        if (names.Contains(exact, StringComparer.Ordinal)) return exact;
        string sameMajor = $"libnvrtc-builtins.so.{version.Major}.";
        return names.Where(n => n.StartsWith(sameMajor, StringComparison.Ordinal)).OrderBy(n => n.Length).ThenByDescending(n => n, StringComparer.Ordinal).FirstOrDefault()
            ?? names.FirstOrDefault(n => n == "libnvrtc-builtins.so");
    }

    /// <summary>
    /// What to compile, in order of preference, for a device of compute capability
    /// <paramref name="computeCapability"/> (e.g. 90) with an NVRTC supporting
    /// <paramref name="supportedArchs"/> (<c>nvrtcGetSupportedArchs</c>; null before CUDA 11.2: assume
    /// it knows the device). CUBIN for <c>sm_XY</c> when NVRTC knows the device and can emit CUBIN,
    /// then PTX for the newest <c>compute_XY</c> not above the device (the driver JITs it; a device
    /// newer than NVRTC gets the newest arch NVRTC supports). Empty when NVRTC supports nothing this old.
    /// </summary>
    public static IReadOnlyList<(string Kind, string Arch)> CompilePlan(int computeCapability, IReadOnlyList<int>? supportedArchs, bool canEmitCubin)
    {
        var plan = new List<(string, string)>();
        if (supportedArchs is null || supportedArchs.Count == 0)
        {
            if (canEmitCubin) plan.Add(("cubin", $"sm_{computeCapability}"));
            plan.Add(("ptx", $"compute_{computeCapability}"));
            return plan;
        }
        if (canEmitCubin && supportedArchs.Contains(computeCapability)) plan.Add(("cubin", $"sm_{computeCapability}"));
        var usable = supportedArchs.Where(a => a <= computeCapability).ToList();
        if (usable.Count > 0) plan.Add(("ptx", $"compute_{usable.Max()}"));
        return plan;
    }
}
