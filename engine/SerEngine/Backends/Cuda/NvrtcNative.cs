using System.Runtime.InteropServices;
using System.Text;

namespace SerEngine.Backends.Cuda;

/// <summary>
/// NVRTC, the CUDA runtime compiler, loaded at run time from wherever <see cref="NvrtcSearch"/>
/// finds it (its soname carries the CUDA major version, so it cannot be a fixed
/// <c>[LibraryImport]</c>). Entry points are unmanaged function pointers taken with
/// <see cref="NativeLibrary.GetExport"/>; C names are kept in the field names.
/// </summary>
public sealed unsafe class NvrtcNative
{
    private static readonly Lazy<(NvrtcNative? Lib, string Report)> Shared = new(() => Probe());

    // nvrtcResult nvrtcCreateProgram(nvrtcProgram*, const char* src, const char* name, int numHeaders, const char* const* headers, const char* const* includeNames)
    private readonly delegate* unmanaged<nint*, byte*, byte*, int, byte**, byte**, int> nvrtcCreateProgram;
    private readonly delegate* unmanaged<nint, int, byte**, int> nvrtcCompileProgram;
    private readonly delegate* unmanaged<nint, nuint*, int> nvrtcGetProgramLogSize;
    private readonly delegate* unmanaged<nint, byte*, int> nvrtcGetProgramLog;
    private readonly delegate* unmanaged<nint, nuint*, int> nvrtcGetPTXSize;
    private readonly delegate* unmanaged<nint, byte*, int> nvrtcGetPTX;
    private readonly delegate* unmanaged<nint, nuint*, int> nvrtcGetCUBINSize;   // NVRTC ≥ 11.1, else null
    private readonly delegate* unmanaged<nint, byte*, int> nvrtcGetCUBIN;        // NVRTC ≥ 11.1, else null
    private readonly delegate* unmanaged<nint*, int> nvrtcDestroyProgram;
    private readonly delegate* unmanaged<int*, int*, int> nvrtcVersion;
    private readonly delegate* unmanaged<int, byte*> nvrtcGetErrorString;
    private readonly delegate* unmanaged<int*, int> nvrtcGetNumSupportedArchs;   // NVRTC ≥ 11.2, else null
    private readonly delegate* unmanaged<int*, int> nvrtcGetSupportedArchs;      // NVRTC ≥ 11.2, else null

    private NvrtcNative(string path, nint handle)
    {
        LibraryPath = path;
        nvrtcCreateProgram = (delegate* unmanaged<nint*, byte*, byte*, int, byte**, byte**, int>)NativeLibrary.GetExport(handle, "nvrtcCreateProgram");
        nvrtcCompileProgram = (delegate* unmanaged<nint, int, byte**, int>)NativeLibrary.GetExport(handle, "nvrtcCompileProgram");
        nvrtcGetProgramLogSize = (delegate* unmanaged<nint, nuint*, int>)NativeLibrary.GetExport(handle, "nvrtcGetProgramLogSize");
        nvrtcGetProgramLog = (delegate* unmanaged<nint, byte*, int>)NativeLibrary.GetExport(handle, "nvrtcGetProgramLog");
        nvrtcGetPTXSize = (delegate* unmanaged<nint, nuint*, int>)NativeLibrary.GetExport(handle, "nvrtcGetPTXSize");
        nvrtcGetPTX = (delegate* unmanaged<nint, byte*, int>)NativeLibrary.GetExport(handle, "nvrtcGetPTX");
        nvrtcDestroyProgram = (delegate* unmanaged<nint*, int>)NativeLibrary.GetExport(handle, "nvrtcDestroyProgram");
        nvrtcVersion = (delegate* unmanaged<int*, int*, int>)NativeLibrary.GetExport(handle, "nvrtcVersion");
        nvrtcGetErrorString = (delegate* unmanaged<int, byte*>)NativeLibrary.GetExport(handle, "nvrtcGetErrorString");
        if (NativeLibrary.TryGetExport(handle, "nvrtcGetCUBINSize", out var cs) && NativeLibrary.TryGetExport(handle, "nvrtcGetCUBIN", out var c))
        {
            nvrtcGetCUBINSize = (delegate* unmanaged<nint, nuint*, int>)cs;
            nvrtcGetCUBIN = (delegate* unmanaged<nint, byte*, int>)c;
        }
        if (NativeLibrary.TryGetExport(handle, "nvrtcGetNumSupportedArchs", out var na) && NativeLibrary.TryGetExport(handle, "nvrtcGetSupportedArchs", out var sa))
        {
            nvrtcGetNumSupportedArchs = (delegate* unmanaged<int*, int>)na;
            nvrtcGetSupportedArchs = (delegate* unmanaged<int*, int>)sa;
        }
        int major, minor;
        Check(nvrtcVersion(&major, &minor), "nvrtcVersion");
        Version = new Version(major, minor);
        Handle = handle;
        FilePath = NativeLibraryFile.Of(NativeLibrary.GetExport(handle, "nvrtcVersion")) ?? (Path.IsPathRooted(path) ? path : null);
    }

    private nint Handle { get; }

    /// <summary>The file the library was loaded from (resolved by <c>dladdr</c> when it was found by name), or null if unknown.</summary>
    public string? FilePath { get; }

    /// <summary>The <c>libnvrtc-builtins</c> file loaded beside this NVRTC by <see cref="Probe"/>, or null.</summary>
    public string? BuiltinsPath { get; private set; }

    /// <summary>
    /// The compute capabilities this NVRTC compiles for (<c>nvrtcGetSupportedArchs</c>, e.g. 50 … 90),
    /// or null when it is older than 11.2 and cannot say.
    /// </summary>
    public IReadOnlyList<int>? SupportedArchs
    {
        get
        {
            if (nvrtcGetSupportedArchs == null) return null;
            int n;
            if (nvrtcGetNumSupportedArchs(&n) != 0 || n <= 0) return null;
            var archs = new int[n];
            fixed (int* a = archs) if (nvrtcGetSupportedArchs(a) != 0) return null;
            return archs;
        }
    }

    /// <summary>The file or name the library was loaded from.</summary>
    public string LibraryPath { get; }

    /// <summary>NVRTC's version (<c>nvrtcVersion</c>).</summary>
    public Version Version { get; }

    /// <summary>True when this NVRTC can emit CUBIN (11.1 and later); otherwise only PTX.</summary>
    public bool CanEmitCubin => nvrtcGetCUBIN != null;

    /// <summary>The process-wide NVRTC found by the default search, or null (see <see cref="SearchReport"/>).</summary>
    public static NvrtcNative? Instance => Shared.Value.Lib;

    /// <summary>Where the default search looked and what it found, one line per candidate.</summary>
    public static string SearchReport => Shared.Value.Report;

    /// <summary>
    /// Searches for NVRTC (see <see cref="NvrtcSearch"/>), trying <paramref name="explicitPath"/>
    /// (default: <c>$SERENGINE_NVRTC</c>) first, loads every candidate and keeps the one
    /// <see cref="NvrtcChoice.ChooseLibrary"/> picks for <paramref name="driverVersion"/> (default: the
    /// installed driver's <c>cuDriverGetVersion</c>, 0 without one), then loads the
    /// <c>libnvrtc-builtins</c> beside it by full path (NVRTC dlopens it by name, which fails when its
    /// folder is not on the loader path). The report lists every place tried and the outcome.
    /// </summary>
    public static (NvrtcNative? Lib, string Report) Probe(string? explicitPath = null, int? driverVersion = null)
    {
        int driver = driverVersion ?? CuDevice.TryDriverVersion();
        var report = new StringBuilder("NVRTC search (").Append(NvrtcSearch.EnvironmentVariable).Append(", names, toolkit and wheel folders)")
            .Append(driver > 0 ? $", CUDA driver {NvrtcChoice.DriverVersion(driver)}" : ", no CUDA driver").Append(":\n");
        var loaded = new List<NvrtcNative>();
        foreach (var candidate in NvrtcSearch.Candidates(explicitPath))
        {
            if (!NativeLibrary.TryLoad(candidate, typeof(NvrtcNative).Assembly, null, out var handle))
            {
                report.Append("  ").Append(candidate).Append(": not found\n");
                continue;
            }
            // several names (.so, .so.12, .so.12.4.127, the soname) are one file, which the loader hands back as the same handle
            if (loaded.FirstOrDefault(l => l.Handle == handle) is { } same)
            {
                NativeLibrary.Free(handle); // drops this lookup's reference only
                report.Append("  ").Append(candidate).Append($": same file as {same.FilePath ?? same.LibraryPath}\n");
                continue;
            }
            try
            {
                var lib = new NvrtcNative(candidate, handle);
                report.Append("  ").Append(candidate).Append($": loaded, NVRTC {lib.Version}").Append(lib.FilePath is { } f && f != candidate ? $" ({f})" : "").Append('\n');
                loaded.Add(lib);
            }
            catch (Exception e) when (e is EntryPointNotFoundException or InvalidOperationException)
            {
                NativeLibrary.Free(handle);
                report.Append("  ").Append(candidate).Append(": loaded but unusable: ").Append(e.Message).Append('\n');
            }
        }
        if (loaded.Count == 0)
        {
            var patterns = string.Join(", ", NvrtcSearch.FolderPatterns().Take(2));
            report.Append($"  no libnvrtc found (looked by name and under {patterns}, python site-packages/nvidia/cuda_nvrtc/lib and nvidia/cu13/lib)");
            return (null, report.ToString());
        }
        var (index, reason) = NvrtcChoice.ChooseLibrary([.. loaded.Select(l => l.Version)], driver);
        for (int i = 0; i < loaded.Count; i++)
            if (i != index) NativeLibrary.Free(loaded[i].Handle); // unused: the chosen one stays loaded for the process
        if (index < 0)
        {
            report.Append("  none chosen: ").Append(reason);
            return (null, report.ToString());
        }
        var chosen = loaded[index];
        report.Append("  chosen: ").Append(chosen.FilePath ?? chosen.LibraryPath).Append(" — ").Append(reason).Append('\n');
        report.Append("  ").Append(chosen.LoadBuiltins());
        return (chosen, report.ToString());
    }

    /// <summary>Loads <c>libnvrtc-builtins</c> from this library's folder by full path; returns one report line.</summary>
    private string LoadBuiltins()
    {
        if (Path.GetDirectoryName(FilePath) is not { Length: > 0 } dir) return "libnvrtc-builtins: folder of libnvrtc unknown, left to the loader";
        string[] files;
        try { files = Directory.GetFiles(dir, "libnvrtc-builtins.so*"); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return $"libnvrtc-builtins: cannot list {dir}: {e.Message}"; }
        if (NvrtcChoice.ChooseBuiltins(Version, files) is not { } name) return $"libnvrtc-builtins: none in {dir}, left to the loader";
        var full = Path.Combine(dir, name);
        if (!NativeLibrary.TryLoad(full, out _)) return $"libnvrtc-builtins: {full} did not load, left to the loader";
        BuiltinsPath = full;
        return $"libnvrtc-builtins: loaded {full}";
    }

    /// <summary>The NVRTC name of a result code, e.g. <c>NVRTC_ERROR_COMPILATION</c>.</summary>
    public string ErrorName(int result) => Marshal.PtrToStringUTF8((nint)nvrtcGetErrorString(result)) ?? $"NVRTC_ERROR({result})";

    /// <summary>
    /// Compiles CUDA C++ <paramref name="source"/> with <paramref name="options"/> (one option per
    /// entry, e.g. <c>--gpu-arch=sm_90</c>, <c>-DTILE=16</c>). Returns CUBIN when
    /// <paramref name="cubin"/> (needs a real <c>sm_XY</c> arch) else NUL-terminated PTX; on failure
    /// returns a null image, the error name and the full log (an <c>nvrtcCreateProgram</c> failure included: it never throws for NVRTC's errors).
    /// </summary>
    public (byte[]? Image, string Error, string Log) Compile(string source, string fileName, IReadOnlyList<string> options, bool cubin)
    {
        if (cubin && !CanEmitCubin) return (null, "NVRTC_CUBIN_UNSUPPORTED", $"NVRTC {Version} cannot emit CUBIN (needs 11.1+)");
        var src = Utf8Z(source);
        var name = Utf8Z(fileName);
        var opts = options.Select(Utf8Z).ToArray();
        var handles = new GCHandle[opts.Length];
        nint prog = 0;
        try
        {
            var optPtrs = stackalloc byte*[Math.Max(1, opts.Length)];
            for (int i = 0; i < opts.Length; i++)
            {
                handles[i] = GCHandle.Alloc(opts[i], GCHandleType.Pinned);
                optPtrs[i] = (byte*)handles[i].AddrOfPinnedObject();
            }
            int created;
            fixed (byte* s = src)
            fixed (byte* n = name)
                created = nvrtcCreateProgram(&prog, s, n, 0, null, null);
            if (created != 0) return (null, ErrorName(created), $"nvrtcCreateProgram failed: {ErrorName(created)} (NVRTC {Version} from {FilePath ?? LibraryPath})");
            int result = nvrtcCompileProgram(prog, opts.Length, optPtrs);
            var log = Log(prog);
            if (result != 0) return (null, ErrorName(result), log);
            nuint size;
            if (cubin)
            {
                Check(nvrtcGetCUBINSize(prog, &size), "nvrtcGetCUBINSize");
                var image = new byte[(int)size];
                fixed (byte* p = image) Check(nvrtcGetCUBIN(prog, p), "nvrtcGetCUBIN");
                return (image, "", log);
            }
            Check(nvrtcGetPTXSize(prog, &size), "nvrtcGetPTXSize");
            var ptx = new byte[(int)size];
            fixed (byte* p = ptx) Check(nvrtcGetPTX(prog, p), "nvrtcGetPTX");
            return (ptx, "", log);
        }
        catch (InvalidOperationException e) // an NVRTC call after a successful compile failed: the caller's compile error, not a crash
        {
            return (null, "NVRTC_ERROR", e.Message);
        }
        finally
        {
            foreach (var h in handles) if (h.IsAllocated) h.Free();
            if (prog != 0) _ = nvrtcDestroyProgram(&prog);
        }
    }

    private string Log(nint prog)
    {
        nuint size;
        if (nvrtcGetProgramLogSize(prog, &size) != 0 || size <= 1) return "";
        var buf = new byte[(int)size];
        fixed (byte* b = buf) if (nvrtcGetProgramLog(prog, b) != 0) return "";
        return NativeText.Utf8(buf);
    }

    private void Check(int result, string call)
    {
        if (result != 0) throw new InvalidOperationException($"{call} failed: {(nvrtcGetErrorString == null ? result.ToString(System.Globalization.CultureInfo.InvariantCulture) : ErrorName(result))}");
    }

    private static byte[] Utf8Z(string s)
    {
        var bytes = new byte[Encoding.UTF8.GetByteCount(s) + 1];
        Encoding.UTF8.GetBytes(s, bytes);
        return bytes;
    }
}
