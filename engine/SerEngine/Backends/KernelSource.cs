using System.Reflection;

namespace SerEngine.Backends;

/// <summary>Which prelude adapts the kernel dialect: OpenCL C 1.2 or CUDA C++ (NVRTC).</summary>
public enum KernelDialect
{
    /// <summary>OpenCL C 1.2, with <c>kernels/prelude_opencl.h</c>.</summary>
    OpenCl,

    /// <summary>CUDA C++ for NVRTC, with <c>kernels/prelude_cuda.h</c>.</summary>
    Cuda,
}

/// <summary>
/// One kernel file ready to compile: the dialect's prelude, a <c>#line 1 "file"</c> marker, then the
/// file's text, so compiler messages point at the kernel file's own lines. Files come from the
/// engine assembly (embedded from <c>kernels/</c>), or from a folder on disk named by
/// <c>SERENGINE_KERNEL_DIR</c> (or an explicit argument) for kernel development.
/// </summary>
public sealed class KernelSource
{
    /// <summary>Environment variable naming a folder to load kernel files from instead of the embedded copies.</summary>
    public const string DirectoryEnvironmentVariable = "SERENGINE_KERNEL_DIR";

    private const string ResourcePrefix = "kernels/";

    private KernelSource(string fileName, KernelDialect dialect, string prelude, string body, string origin)
    {
        FileName = fileName;
        Dialect = dialect;
        Prelude = prelude;
        Body = body;
        Origin = origin;
        Text = $"#line 1 \"{PreludeFileName(dialect)}\"\n{prelude}\n#line 1 \"{fileName}\"\n{body}";
    }

    /// <summary>Kernel file name, e.g. <c>memory.cl</c>.</summary>
    public string FileName { get; }

    /// <summary>Dialect (which prelude was prepended).</summary>
    public KernelDialect Dialect { get; }

    /// <summary>The prelude's text.</summary>
    public string Prelude { get; }

    /// <summary>The kernel file's own text.</summary>
    public string Body { get; }

    /// <summary>Where the file came from: <c>embedded</c>, a path, or <c>text</c>.</summary>
    public string Origin { get; }

    /// <summary>The full text handed to the compiler: prelude, <c>#line</c> marker, file.</summary>
    public string Text { get; }

    /// <summary>File name of the dialect's prelude.</summary>
    public static string PreludeFileName(KernelDialect dialect) =>
        dialect == KernelDialect.Cuda ? "prelude_cuda.h" : "prelude_opencl.h";

    /// <summary>
    /// Loads <paramref name="fileName"/> and the dialect's prelude. <paramref name="kernelDirectory"/>
    /// (default: <c>$SERENGINE_KERNEL_DIR</c>; <c>""</c> for the embedded copies only) is searched
    /// first; files not found there come from the embedded copies.
    /// </summary>
    /// <exception cref="FileNotFoundException">Neither the folder nor the assembly has the file.</exception>
    public static KernelSource Load(string fileName, KernelDialect dialect, string? kernelDirectory = null)
    {
        var body = ReadFile(fileName, kernelDirectory, out var origin);
        var prelude = ReadFile(PreludeFileName(dialect), kernelDirectory, out _);
        return new KernelSource(fileName, dialect, prelude, body, origin);
    }

    /// <summary>A kernel from text in memory (tests, experiments); the prelude still comes from <see cref="Load"/>'s places.</summary>
    public static KernelSource FromText(string fileName, string body, KernelDialect dialect, string? kernelDirectory = null)
    {
        var prelude = ReadFile(PreludeFileName(dialect), kernelDirectory, out _);
        return new KernelSource(fileName, dialect, prelude, body, "text");
    }

    /// <summary>The raw text of one kernel file (no prelude).</summary>
    public static string ReadFile(string fileName, string? kernelDirectory = null) => ReadFile(fileName, kernelDirectory, out _);

    /// <summary>Names of the kernel files embedded in the engine (relative to <c>kernels/</c>).</summary>
    public static IReadOnlyList<string> EmbeddedFiles =>
        [.. typeof(KernelSource).Assembly.GetManifestResourceNames()
            .Where(n => n.StartsWith(ResourcePrefix, StringComparison.Ordinal))
            .Select(n => n[ResourcePrefix.Length..])
            .Order(StringComparer.Ordinal)];

    private static string ReadFile(string fileName, string? kernelDirectory, out string origin)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(fileName);
        kernelDirectory ??= Environment.GetEnvironmentVariable(DirectoryEnvironmentVariable);
        if (!string.IsNullOrWhiteSpace(kernelDirectory))
        {
            var path = Path.Combine(kernelDirectory, fileName);
            if (File.Exists(path))
            {
                origin = Path.GetFullPath(path);
                return File.ReadAllText(path);
            }
        }
        Assembly asm = typeof(KernelSource).Assembly;
        using var stream = asm.GetManifestResourceStream(ResourcePrefix + fileName.Replace('\\', '/'));
        if (stream is null)
        {
            var dirNote = string.IsNullOrWhiteSpace(kernelDirectory) ? $"${DirectoryEnvironmentVariable} not set" : $"not in {kernelDirectory}";
            throw new FileNotFoundException(
                $"kernel file '{fileName}' not found ({dirNote}; embedded kernels: {string.Join(", ", EmbeddedFiles)})", fileName);
        }
        using var reader = new StreamReader(stream);
        origin = "embedded";
        return reader.ReadToEnd();
    }
}
