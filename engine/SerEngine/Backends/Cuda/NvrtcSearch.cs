namespace SerEngine.Backends.Cuda;

/// <summary>
/// Where NVRTC (<c>libnvrtc.so.*</c>) is looked for, in order: <c>$SERENGINE_NVRTC</c> (an explicit
/// path), the CUDA toolkit folders (<c>/usr/local/cuda*/lib64</c>,
/// <c>/usr/local/cuda*/targets/x86_64-linux/lib</c>), the NVIDIA Python wheels
/// (<c>*/site-packages/nvidia/cuda_nvrtc/lib</c>, <c>*/site-packages/nvidia/cu13/lib</c>, also
/// <c>dist-packages</c>) under the usual Python prefixes, <c>$VIRTUAL_ENV</c>, <c>$CONDA_PREFIX</c> and
/// every environment whose <c>bin/python3</c> is on <c>PATH</c>, then the loader's own search by name
/// (<c>libnvrtc.so.13</c>, <c>.12</c>, <c>.11.2</c>, <c>libnvrtc.so</c>). Every candidate that loads is a
/// choice; <see cref="NvrtcChoice.ChooseLibrary"/> keeps the first that suits the driver
/// (<see cref="NvrtcNative.Probe"/>).
/// </summary>
public static class NvrtcSearch
{
    /// <summary>Environment variable holding an explicit path to <c>libnvrtc.so.*</c>.</summary>
    public const string EnvironmentVariable = "SERENGINE_NVRTC";

    /// <summary>Names handed to the dynamic loader's own search (LD_LIBRARY_PATH, ldconfig cache).</summary>
    public static readonly IReadOnlyList<string> LibraryNames = ["libnvrtc.so.13", "libnvrtc.so.12", "libnvrtc.so.11.2", "libnvrtc.so"];

    /// <summary>Folder patterns (with <c>*</c> wildcards in path components) searched for <c>libnvrtc.so*</c>.</summary>
    public static IReadOnlyList<string> FolderPatterns()
    {
        var list = new List<string> { "/usr/local/cuda*/lib64", "/usr/local/cuda*/targets/x86_64-linux/lib", "/usr/lib/x86_64-linux-gnu" };
        var home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        var prefixes = new List<string> { "/usr/lib/python3*", "/usr/local/lib/python3*", "/opt/conda/lib/python3*" };
        if (!string.IsNullOrEmpty(home)) prefixes.Add(Path.Combine(home, ".local/lib/python3*"));
        foreach (var env in new[] { "VIRTUAL_ENV", "CONDA_PREFIX" })
            if (Environment.GetEnvironmentVariable(env) is { Length: > 0 } root) prefixes.Add(Path.Combine(root, "lib/python3*"));
        // a venv or conda env whose bin/ is on PATH without being activated
        foreach (var bin in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries))
            if (File.Exists(Path.Combine(bin, "python3")) && Path.GetDirectoryName(Path.TrimEndingDirectorySeparator(bin)) is { Length: > 1 } envRoot)
                prefixes.Add(Path.Combine(envRoot, "lib/python3*"));
        foreach (var prefix in prefixes)
            foreach (var packages in new[] { "site-packages", "dist-packages" })
            {
                list.Add($"{prefix}/{packages}/nvidia/cuda_nvrtc/lib");
                list.Add($"{prefix}/{packages}/nvidia/cu13/lib");
            }
        return [.. list.Distinct(StringComparer.Ordinal)];
    }

    /// <summary>
    /// Every candidate in search order: the explicit path (if given or set in the environment), the
    /// <c>libnvrtc.so*</c> files found in existing folders (newest version first within a folder),
    /// then the bare library names for the loader's own search.
    /// </summary>
    public static IReadOnlyList<string> Candidates(string? explicitPath = null)
    {
        var list = new List<string>();
        explicitPath ??= Environment.GetEnvironmentVariable(EnvironmentVariable);
        if (!string.IsNullOrWhiteSpace(explicitPath)) list.Add(explicitPath.Trim());
        foreach (var dir in FolderPatterns().SelectMany(ExpandPattern))
        {
            IEnumerable<string> files;
            try { files = Directory.EnumerateFiles(dir, "libnvrtc.so*"); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { continue; }
            list.AddRange(files
                .Where(f => !Path.GetFileName(f).Contains("builtins", StringComparison.Ordinal) && !f.EndsWith(".alt", StringComparison.Ordinal))
                .OrderByDescending(f => Path.GetFileName(f).Length).ThenByDescending(f => f, StringComparer.Ordinal));
        }
        list.AddRange(LibraryNames);
        return [.. list.Distinct(StringComparer.Ordinal)];
    }

    /// <summary>Existing folders matching a pattern whose path components may hold <c>*</c>.</summary>
    public static IEnumerable<string> ExpandPattern(string pattern)
    {
        IEnumerable<string> current = [pattern.StartsWith('/') ? "/" : "."];
        foreach (var part in pattern.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            var next = new List<string>();
            foreach (var dir in current)
            {
                if (!part.Contains('*', StringComparison.Ordinal))
                {
                    var p = Path.Combine(dir, part);
                    if (Directory.Exists(p)) next.Add(p);
                    continue;
                }
                try { next.AddRange(Directory.EnumerateDirectories(dir, part).Order(StringComparer.Ordinal)); }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
            }
            current = next;
        }
        return current;
    }
}
