using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using SerEngine.Backends;
using SerEngine.Backends.Cuda;
using SerEngine.Backends.Gpu;

namespace SerEngine.Tests.Gpu;

/// <summary>
/// Every kernel file checked as CUDA without a GPU: the text NVRTC would get (CUDA prelude, includes
/// expanded by <see cref="KernelSource"/>, each build's <c>-D</c> options from the launch code) is
/// compiled to PTX by clang's CUDA front end, with <c>kernels/cuda_nvrtc_builtins.h</c> standing in
/// for what NVRTC declares implicitly. The register-tiled GEMM, conv2d and spectrogram kernels must
/// also keep their accumulators in registers: no <c>.local</c> memory in their PTX. No clang: the
/// test returns early with a message, except under CI=true, where it fails (CI installs clang).
/// </summary>
public partial class CudaPtxCheckTests(ITestOutputHelper output)
{
    /// <summary>Architecture compiled for (A100, sm_80: known to clang 14 and later).</summary>
    private const string Arch = "sm_80";

    private const string BuiltinsHeader = "cuda_nvrtc_builtins.h";

    /// <summary>Files whose register tiles must not spill to local memory (thread-private arrays in registers).</summary>
    private static readonly string[] RegisterTileFiles = ["attention.cl", "gemm.cl", "conv2d.cl", "spectrogram.cl"];

    private static readonly Lazy<(string? Path, string Reason)> Clang = new(FindClang);

    /// <summary>The builds the CUDA backend asks for (its launch code, its block size).</summary>
    private static IReadOnlyList<(string File, string Options)> Builds => GpuBackend.KernelBuilds(CudaBackend.BlockSize);

    /// <summary>Kernel files of the CUDA builds, one test case each.</summary>
    public static TheoryData<string> KernelFiles => [.. Builds.Select(b => b.File).Distinct()];

    [Fact]
    public void EveryEmbeddedKernelFileHasABuild()
    {
        var embedded = KernelSource.EmbeddedFiles.Where(f => f.EndsWith(".cl", StringComparison.Ordinal)).Order(StringComparer.Ordinal);
        Assert.Equal(embedded, Builds.Select(b => b.File).Order(StringComparer.Ordinal));
    }

    [Theory]
    [MemberData(nameof(KernelFiles))]
    public void KernelFileCompilesToPtx(string file)
    {
        var clang = ClangOrSkip();
        if (clang is null) return;
        foreach (var (_, options) in Builds.Where(b => b.File == file))
        {
            var (ptx, seconds) = CompileToPtx(clang, file, options);
            var local = LocalBytesByFunction(ptx);
            var localText = local.Count == 0 ? "none" : string.Join(", ", local.Select(kv => $"{kv.Key} {kv.Value} B"));
            output.WriteLine($"{file} [{(options.Length == 0 ? "no options" : options)}]: PTX OK for {Arch} ({seconds:F1} s); local memory per thread: {localText}");
            Assert.Contains(".entry", ptx, StringComparison.Ordinal);
            if (RegisterTileFiles.Contains(file))
            {
                Assert.True(local.Count == 0, $"{file}: register tiles spilled to local memory ({localText}); unroll their loops (UNROLL) so the arrays stay in registers");
                Assert.DoesNotMatch(LocalDeclaration(), ptx);
            }
        }
    }

    /// <summary>Assembles <paramref name="file"/> as the CUDA backend does and compiles it with clang; returns the PTX.</summary>
    private (string Ptx, double Seconds) CompileToPtx(string clang, string file, string options)
    {
        var source = KernelSource.Load(file, KernelDialect.Cuda); // as CompiledKernelCache.Get loads it for NVRTC
        var dir = Directory.CreateTempSubdirectory("serengine-ptx-").FullName;
        try
        {
            var cu = Path.Combine(dir, Path.ChangeExtension(file, ".cu"));
            var header = Path.Combine(dir, BuiltinsHeader);
            var ptx = Path.Combine(dir, Path.ChangeExtension(file, ".ptx"));
            File.WriteAllText(cu, source.Text);
            File.WriteAllText(header, KernelSource.ReadFile(BuiltinsHeader, kernelDirectory: ""));
            // NVRTC's defaults: optimised, C++17; CuModuleCache passes the options split the same way. PTX ISA 7.0
            // (CUDA 11, sm_80's own): without a CUDA install clang assumes an older ISA that lacks the
            // __shfl_xor_sync instructions (shfl.sync) every NVRTC the backend accepts emits.
            string[] args = ["-x", "cuda", "--cuda-device-only", $"--cuda-gpu-arch={Arch}", "-nocudainc", "-nocudalib",
                "-Xclang", "-target-feature", "-Xclang", "+ptx70", "-O3", "-std=c++17", "-include", header, .. CuModuleCache.SplitOptions(options), "-S", "-o", ptx, cu];
            var watch = Stopwatch.StartNew();
            var (exit, log) = Run(clang, args);
            var seconds = watch.Elapsed.TotalSeconds;
            if (log.Length > 0) output.WriteLine(log);
            Assert.True(exit == 0, $"{file} [{options}] does not compile as CUDA ({clang} exited with {exit}):\n{log}");
            return (File.ReadAllText(ptx), seconds);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>Bytes of <c>__local_depot</c> (stack and thread-private arrays in local memory) per PTX function that has any.</summary>
    internal static SortedDictionary<string, int> LocalBytesByFunction(string ptx)
    {
        var bytes = new SortedDictionary<string, int>(StringComparer.Ordinal);
        string function = "(none)";
        foreach (var line in ptx.Split('\n'))
        {
            var f = FunctionLine().Match(line);
            if (f.Success) function = f.Groups[1].Value;
            var d = DepotLine().Match(line);
            if (d.Success)
                bytes[function] = bytes.GetValueOrDefault(function) + int.Parse(d.Groups[1].Value, CultureInfo.InvariantCulture);
        }
        return bytes;
    }

    [Fact]
    public void LocalBytesAreReadPerFunction()
    {
        const string ptx = """
            .visible .entry gemm_tiled(
            {
            .visible .entry gemm_tiled_regblock(
            {
            	.local .align 4 .b8 	__local_depot2[288];
            .func  (.param .b32 func_retval0) helper(
            	.local .align 8 .b8 	__local_depot3[16];
            """;
        Assert.Equal(new Dictionary<string, int> { ["gemm_tiled_regblock"] = 288, ["helper"] = 16 }, LocalBytesByFunction(ptx));
    }

    [GeneratedRegex(@"\.(?:entry|func)\s+(?:\([^)]*\)\s*)?([A-Za-z_$][\w$]*)")]
    private static partial Regex FunctionLine();

    [GeneratedRegex(@"^\s*\.local\s.*__local_depot\d+\[(\d+)\]")]
    private static partial Regex DepotLine();

    [GeneratedRegex(@"(?m)^\s*\.local\s")]
    private static partial Regex LocalDeclaration();

    private string? ClangOrSkip()
    {
        var (path, reason) = Clang.Value;
        if (path is not null) return path;
        if (GpuTestDevices.IsCi) Assert.Fail($"CI=true requires clang to check the kernels as CUDA (apt-get install clang): {reason}");
        output.WriteLine($"SKIPPED (returned early): {reason}");
        return null;
    }

    /// <summary><c>clang</c> on PATH, else the newest <c>clang-NN</c> there (Debian installs both).</summary>
    private static (string? Path, string Reason) FindClang()
    {
        var dirs = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries);
        var names = new[] { "clang" }.Concat(Enumerable.Range(14, 17).Reverse().Select(v => $"clang-{v}"));
        foreach (var name in names)
            foreach (var dir in dirs)
            {
                var path = Path.Combine(dir, name);
                if (File.Exists(path)) return (path, "");
            }
        return (null, "no clang on PATH (looked for clang and clang-14 … clang-30)");
    }

    private static (int Exit, string Log) Run(string program, IEnumerable<string> args)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) start.ArgumentList.Add(a);
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {program}");
        var log = new StringBuilder();
        var stdout = process.StandardOutput.ReadToEndAsync();
        log.Append(process.StandardError.ReadToEnd());
        log.Append(stdout.Result);
        if (!process.WaitForExit(TimeSpan.FromMinutes(2)))
        {
            process.Kill(entireProcessTree: true);
            return (-1, log.Append("timed out after 2 minutes").ToString());
        }
        return (process.ExitCode, log.ToString().Trim());
    }
}
