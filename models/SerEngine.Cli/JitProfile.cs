using System.Runtime;
using System.Security.Cryptography;
using System.Text;

namespace SerEngine.Cli;

/// <summary>
/// Multi-core JIT for the model commands: the runtime records which methods a run compiled and, on
/// the next run of the same command (and model) with the same build, compiles them ahead on a background
/// thread while the main thread starts up and reads features, so the first epoch and the test and
/// report phases wait less for the JIT. The profiles live in the user's cache folder
/// (<c>$XDG_CACHE_HOME/serengine/jit</c> or <c>~/.cache/serengine/jit</c>); <c>SERENGINE_JIT_PROFILE=off</c> turns this off.
/// Compiled code is the same either way: only when it is compiled changes.
/// </summary>
public static class JitProfile
{
    /// <summary>Commands whose runs are long enough to gain from it.</summary>
    private static readonly string[] Commands = ["train", "eval", "predict"];

    /// <summary>Starts recording (and replaying the previous run's profile) for <paramref name="args"/>; does nothing for other commands or without a writable cache folder.</summary>
    public static void Start(string[] args)
    {
        if (Environment.GetEnvironmentVariable("SERENGINE_JIT_PROFILE") is "off" or "0") return;
        string? name = ProfileName(args, AppContext.BaseDirectory);
        string? dir = Folder();
        if (name is null || dir is null) return;
        try
        {
            Directory.CreateDirectory(dir);
            ProfileOptimization.SetProfileRoot(dir);
            ProfileOptimization.StartProfile(name);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // no cache folder: run without a profile
        }
    }

    /// <summary>
    /// The profile's file name: the command, its <c>--model</c> when given, and a hash of the build
    /// (<paramref name="appDirectory"/> and the module versions of ser and the engine), so builds and
    /// models do not replay each other's profiles; null for commands that do not use one.
    /// </summary>
    public static string? ProfileName(string[] args, string appDirectory)
    {
        if (args.Length == 0 || !Commands.Contains(args[0], StringComparer.Ordinal)) return null;
        int m = Array.IndexOf(args, "--model");
        string model = m >= 0 && m + 1 < args.Length ? args[m + 1] : "";
        if (model.Any(c => !char.IsAsciiLetterOrDigit(c))) model = "";
        string build = $"{appDirectory}|{typeof(JitProfile).Module.ModuleVersionId}|{typeof(Tensor).Module.ModuleVersionId}";
        string hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(build)).AsSpan(0, 6));
        return model.Length > 0 ? $"{args[0]}-{model}-{hash}.jitprofile" : $"{args[0]}-{hash}.jitprofile";
    }

    /// <summary>The cache folder for profiles, or null when there is no home to put it in.</summary>
    private static string? Folder()
    {
        string? cache = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
        if (string.IsNullOrEmpty(cache) || !Path.IsPathRooted(cache))
        {
            string home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
            if (string.IsNullOrEmpty(home)) return null;
            cache = OperatingSystem.IsWindows()
                ? Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData)
                : Path.Combine(home, ".cache");
        }
        return string.IsNullOrEmpty(cache) ? null : Path.Combine(cache, "serengine", "jit");
    }
}
