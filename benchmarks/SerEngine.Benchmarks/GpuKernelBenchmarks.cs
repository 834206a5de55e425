using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using SerEngine.Backends;
using SerEngine.Backends.Gpu;
using SerEngine.Backends.OpenCl;

namespace SerEngine.Benchmarks;

// OpenCL kernel variants (kernels/gemm.cl, kernels/conv2d.cl) timed on the default OpenCL device,
// with a GFLOP/s column. Short jobs: on PoCL (a CPU device) one conv pass takes 0.05 to 1 s.
//   dotnet run -c Release --project benchmarks/SerEngine.Benchmarks -- --filter '*GpuGemm*'
//   dotnet run -c Release --project benchmarks/SerEngine.Benchmarks -- --filter '*GpuConv2d*'
// Each variant is validated against cpu-reference by tests/SerEngine.Tests/Gpu before it is timed here.

/// <summary>GEMM C = A·B (square, no transposes) per gemm.cl variant.</summary>
[Config(typeof(GpuGemmBenchmarks.Config))]
public class GpuGemmBenchmarks : IDisposable
{
    private OpenClBackend? _backend;
    private Storage? _a, _b, _c;

    /// <summary>gemm.cl variant.</summary>
    [Params("naive", "tiled", "tiled_regblock", "regblock_padded", "regblock_vec4", "regblock_dbuf", "regblock_unrolled")]
    public string Variant { get; set; } = GpuBackend.DefaultGemmVariant;

    /// <summary>M = N = K.</summary>
    [Params(256, 512)]
    public int Size { get; set; }

    /// <summary>Opens the device and fills A, B with random values.</summary>
    [GlobalSetup]
    public void Setup()
    {
        _backend = new OpenClBackend { GemmVariant = Variant };
        _a = Random(_backend, Size * Size, 1);
        _b = Random(_backend, Size * Size, 2);
        _c = _backend.Allocate(Size * Size, DType.Float32);
    }

    /// <summary>One GEMM, waited for.</summary>
    [Benchmark]
    public void Gemm()
    {
        _backend!.Gemm(false, false, 1, Size, Size, Size, 1f, _a!, 0, _b!, 0, 0f, _c!, 0);
        _backend.Synchronize();
    }

    /// <summary>Releases the buffers and the device.</summary>
    [GlobalCleanup]
    public void Dispose()
    {
        _a?.Dispose();
        _b?.Dispose();
        _c?.Dispose();
        _backend?.Dispose();
        _backend = null;
        GC.SuppressFinalize(this);
    }

    private sealed class Config : ManualConfig
    {
        public Config()
        {
            AddJob(GpuKernelJobs.Short);
            AddColumn(new GflopsColumn(c => 2.0 * Math.Pow((int)c.Parameters["Size"], 3)));
        }
    }

    internal static Storage Random(Backend backend, int n, ulong seed)
    {
        var rng = new Generator(seed);
        var values = new float[n];
        for (int i = 0; i < n; i++) values[i] = rng.NextNormal();
        var s = backend.Allocate(n, DType.Float32);
        backend.Write(s, values);
        return s;
    }
}

/// <summary>Conv2d forward, backward-input and backward-weight per conv2d.cl variant.</summary>
[Config(typeof(GpuConv2dBenchmarks.Config))]
public class GpuConv2dBenchmarks : IDisposable
{
    private static readonly Dictionary<string, Conv2dGeometry> Cases = new()
    {
        // the sizes of BENCH_CASES.md's conv2d.*.k5x192 with the batch cut from 16 to 2 (PoCL is slow)
        ["k5x192.2x64x24x36"] = new(2, 64, 24, 36, 192, 5, 5, 1, 1, 2, 2, 2, 2, 1, 1),
        // AttentionFcn's first layer: 1 → 32 channels, 11×11, stride 4, padding 2
        ["k11s4x32.4x1x200x300"] = new(4, 1, 200, 300, 32, 11, 11, 4, 4, 2, 2, 2, 2, 1, 1),
    };

    private OpenClBackend? _backend;
    private Storage? _x, _w, _y, _dx, _dw;
    private Conv2dGeometry _g;

    /// <summary>conv2d.cl variant.</summary>
    [Params("direct", "im2col_gemm", "implicit_gemm", "implicit_padded", "implicit_vec4", "implicit_dbuf", "implicit_unrolled")]
    public string Variant { get; set; } = GpuBackend.DefaultConv2dVariant;

    /// <summary>Which pass: Forward, BackwardInput or BackwardWeight.</summary>
    [Params("Forward", "BackwardInput", "BackwardWeight")]
    public string Pass { get; set; } = "Forward";

    /// <summary>Shape name (see <see cref="Cases"/>).</summary>
    [Params("k5x192.2x64x24x36", "k11s4x32.4x1x200x300")]
    public string Case { get; set; } = "k5x192.2x64x24x36";

    /// <summary>Opens the device and fills every buffer with random values.</summary>
    [GlobalSetup]
    public void Setup()
    {
        _g = Cases[Case];
        var g = _g;
        _backend = new OpenClBackend { Conv2dVariant = Variant };
        _x = GpuGemmBenchmarks.Random(_backend, g.N * g.C * g.H * g.W, 1);           // [N, C, H, W]
        _w = GpuGemmBenchmarks.Random(_backend, g.K * g.C * g.R * g.S, 2);           // [K, C, R, S]
        _y = GpuGemmBenchmarks.Random(_backend, g.N * g.K * g.OutH * g.OutW, 3);     // [N, K, OH, OW] (y or dy)
        _dx = _backend.Allocate(g.N * g.C * g.H * g.W, DType.Float32);               // [N, C, H, W]
        _dw = _backend.Allocate(g.K * g.C * g.R * g.S, DType.Float32);               // [K, C, R, S]
    }

    /// <summary>One pass, waited for.</summary>
    [Benchmark]
    public void Conv2d()
    {
        switch (Pass)
        {
            case "Forward": _backend!.Conv2dForward(_x!, _w!, null, _y!, _g); break;
            case "BackwardInput": _backend!.Conv2dBackwardInput(_y!, _w!, _dx!, _g); break;
            default: _backend!.Conv2dBackwardWeight(_x!, _y!, _dw!, _g); break;
        }
        _backend.Synchronize();
    }

    /// <summary>Releases the buffers and the device.</summary>
    [GlobalCleanup]
    public void Dispose()
    {
        foreach (var s in new[] { _x, _w, _y, _dx, _dw }) s?.Dispose();
        _backend?.Dispose();
        _backend = null;
        GC.SuppressFinalize(this);
    }

    private sealed class Config : ManualConfig
    {
        public Config()
        {
            AddJob(GpuKernelJobs.Short);
            AddColumn(new GflopsColumn(c => 2.0 * Cases[(string)c.Parameters["Case"]].Macs)); // every pass has the forward's MACs
        }
    }
}

/// <summary>The short job the kernel benchmarks use.</summary>
internal static class GpuKernelJobs
{
    public static readonly Job Short = Job.ShortRun.WithLaunchCount(1).WithWarmupCount(1).WithIterationCount(3);
}
