using System.Reflection;
using System.Text;
using System.Text.RegularExpressions;

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
/// file's text, so compiler messages point at the kernel file's own lines. A line
/// <c>#include "name.h"</c> is replaced by that file's text between <c>#line</c> markers (nested
/// includes too; each file once), so shared helpers live in one place while neither compiler needs
/// an include path. Files come from the engine assembly (embedded from <c>kernels/</c>), or from a
/// folder on disk named by <c>SERENGINE_KERNEL_DIR</c> (or an explicit argument) for kernel development.
/// </summary>
public sealed partial class KernelSource
{
    /// <summary>Environment variable naming a folder to load kernel files from instead of the embedded copies.</summary>
    public const string DirectoryEnvironmentVariable = "SERENGINE_KERNEL_DIR";

    private const string ResourcePrefix = "kernels/";

    private KernelSource(string fileName, KernelDialect dialect, string prelude, string body, string origin, string? kernelDirectory)
    {
        FileName = fileName;
        Dialect = dialect;
        Prelude = prelude;
        Body = body;
        Origin = origin;
        var included = new HashSet<string>(StringComparer.Ordinal) { fileName };
        Text = $"#line 1 \"{PreludeFileName(dialect)}\"\n{prelude}\n#line 1 \"{fileName}\"\n{ExpandIncludes(fileName, body, kernelDirectory, included)}";
    }

    /// <summary>Kernel file name, e.g. <c>memory.cl</c>.</summary>
    public string FileName { get; }

    /// <summary>Dialect (which prelude was prepended).</summary>
    public KernelDialect Dialect { get; }

    /// <summary>The prelude's text.</summary>
    public string Prelude { get; }

    /// <summary>The kernel file's own text (its <c>#include</c> lines as written).</summary>
    public string Body { get; }

    /// <summary>Where the file came from: <c>embedded</c>, a path, or <c>text</c>.</summary>
    public string Origin { get; }

    /// <summary>The full text handed to the compiler: prelude, <c>#line</c> marker, file with its includes expanded.</summary>
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
        return new KernelSource(fileName, dialect, prelude, body, origin, kernelDirectory);
    }

    /// <summary>A kernel from text in memory (tests, experiments); the prelude still comes from <see cref="Load"/>'s places.</summary>
    public static KernelSource FromText(string fileName, string body, KernelDialect dialect, string? kernelDirectory = null)
    {
        var prelude = ReadFile(PreludeFileName(dialect), kernelDirectory, out _);
        return new KernelSource(fileName, dialect, prelude, body, "text", kernelDirectory);
    }

    /// <summary>The raw text of one kernel file (no prelude).</summary>
    public static string ReadFile(string fileName, string? kernelDirectory = null) => ReadFile(fileName, kernelDirectory, out _);

    /// <summary>Names of the kernel files embedded in the engine (relative to <c>kernels/</c>).</summary>
    public static IReadOnlyList<string> EmbeddedFiles =>
        [.. typeof(KernelSource).Assembly.GetManifestResourceNames()
            .Where(n => n.StartsWith(ResourcePrefix, StringComparison.Ordinal))
            .Select(n => n[ResourcePrefix.Length..])
            .Order(StringComparer.Ordinal)];

    [GeneratedRegex("""^\s*#\s*include\s+"([^"]+)"\s*(//.*)?$""")]
    private static partial Regex IncludeLine();

    /// <summary>
    /// <paramref name="body"/> with every <c>#include "name"</c> line replaced by the named file's text
    /// (its own includes expanded, a file already in <paramref name="included"/> left out), framed by
    /// <c>#line</c> markers so messages keep pointing at the right file and line.
    /// </summary>
    private static string ExpandIncludes(string fileName, string body, string? kernelDirectory, HashSet<string> included)
    {
        if (!body.Contains("#include", StringComparison.Ordinal) && !body.Contains("# include", StringComparison.Ordinal)) return body;
        var lines = body.Split('\n');
        var text = new StringBuilder(body.Length);
        for (int i = 0; i < lines.Length; i++)
        {
            var m = IncludeLine().Match(lines[i].TrimEnd('\r'));
            if (!m.Success)
            {
                text.Append(lines[i]);
                if (i + 1 < lines.Length) text.Append('\n');
                continue;
            }
            var name = m.Groups[1].Value;
            if (name.Contains('/', StringComparison.Ordinal) || name.Contains('\\', StringComparison.Ordinal) || name.StartsWith('.'))
                throw new ArgumentException($"{fileName}:{i + 1}: #include \"{name}\": only a file of the kernels folder may be included");
            if (included.Add(name))
            {
                var inner = ReadFile(name, kernelDirectory, out _);
                text.Append($"#line 1 \"{name}\"\n").Append(ExpandIncludes(name, inner, kernelDirectory, included));
                if (!inner.EndsWith('\n')) text.Append('\n');
            }
            text.Append($"#line {i + 2} \"{fileName}\"");
            if (i + 1 < lines.Length) text.Append('\n');
        }
        return text.ToString();
    }

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
