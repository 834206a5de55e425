using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using SerEngine.Audio;
using SerEngine.Backends;
using SerEngine.Bench;
using SerEngine.Ilgpu;

namespace SerEngine.Benchmarks;

// The ILGPU backend (engine/SerEngine.Ilgpu, kernels in C#) beside the dialect (kernels/*.cl) on the
// four ops issue 19 compares: GEMM, conv2d, the biased attention softmax, the spectrogram. Each row is
// one backend by registry name: on a CPU-only machine opencl is PoCL and ilgpu-cpu ILGPU's CPU
// accelerator (both "GPU code on a CPU"); on a GPU machine add cuda and ilgpu (ILGPU's CUDA accelerator).
//   dotnet run -c Release --project benchmarks/SerEngine.Benchmarks -- --filter '*Ilgpu*'
// Every kernel is checked against cpu-reference by the tests (tests/SerEngine.Tests/Ilgpu, Gpu) first.

/// <summary>The backends of the side-by-side rows; absent ones are skipped with their reason.</summary>
internal static class SideBySide
{
    /// <summary>The rows: <c>$SERENGINE_SIDE_BY_SIDE</c> (comma-separated names; on a GPU machine <c>cuda,ilgpu</c>), else opencl and ilgpu-cpu.</summary>
    public static IEnumerable<string> Backends =>
        (Environment.GetEnvironmentVariable("SERENGINE_SIDE_BY_SIDE") is { Length: > 0 } list ? list : "opencl,ilgpu-cpu")
        .Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    /// <summary>The backend by name (ILGPU registered here: the core does not know it), waiting for its queue after each call.</summary>
    public static Backend Open(string name)
    {
        IlgpuBackends.Register();
        DeviceSync.Register(b => b is IlgpuBackend i ? i.Synchronize : null);
        return BackendRegistry.Get(name);
    }
}

/// <summary>GEMM C = A·B (square) on each backend's default variant (tiled_regblock on both).</summary>
[Config(typeof(Config))]
public class IlgpuGemmBenchmarks
{
    private Backend _be = null!;
    private Storage _a = null!, _b = null!, _c = null!;

    /// <summary>The rows (<see cref="SideBySide.Backends"/>).</summary>
    public static IEnumerable<string> Backends => SideBySide.Backends;

    /// <summary>Backend registry name.</summary>
    [ParamsSource(nameof(Backends))]
    public string Backend { get; set; } = "opencl";

    /// <summary>M = N = K.</summary>
    [Params(128, 256)]
    public int Size { get; set; }

    /// <summary>Allocates and fills the operands.</summary>
    [GlobalSetup]
    public void Setup()
    {
        _be = SideBySide.Open(Backend);
        _a = GpuGemmBenchmarks.Random(_be, Size * Size, 1);
        _b = GpuGemmBenchmarks.Random(_be, Size * Size, 2);
        _c = _be.Allocate(Size * Size, DType.Float32);
    }

    /// <summary>One GEMM, waited for.</summary>
    [Benchmark]
    public void Gemm()
    {
        _be.Gemm(false, false, 1, Size, Size, Size, 1f, _a, 0, _b, 0, 0f, _c, 0);
        DeviceSync.Synchronize(_be);
    }

    /// <summary>Frees the buffers (the backends are the registry's and stay).</summary>
    [GlobalCleanup]
    public void Cleanup()
    {
        _a.Dispose();
        _b.Dispose();
        _c.Dispose();
    }

    private sealed class Config : ManualConfig
    {
        public Config()
        {
            AddJob(GpuKernelJobs.Short);
            AddColumn(new GflopsColumn(c => 2.0 * Math.Pow((int)c.Parameters["Size"], 3)));
        }
    }
}

/// <summary>Conv2d forward, backward-input and backward-weight (implicit_gemm, the default on both) of one mid-network layer.</summary>
[Config(typeof(Config))]
public class IlgpuConv2dBenchmarks
{
    // BENCH_CASES.md's conv2d k3 layer shape with the batch cut to 1 (the CPU accelerator simulates every thread)
    private static readonly Conv2dGeometry G = new(1, 32, 24, 36, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1);
    private Backend _be = null!;
    private Storage _x = null!, _w = null!, _y = null!;

    /// <summary>The rows (<see cref="SideBySide.Backends"/>).</summary>
    public static IEnumerable<string> Backends => SideBySide.Backends;

    /// <summary>Backend registry name.</summary>
    [ParamsSource(nameof(Backends))]
    public string Backend { get; set; } = "opencl";

    /// <summary>Allocates and fills x, w, y (= dy).</summary>
    [GlobalSetup]
    public void Setup()
    {
        _be = SideBySide.Open(Backend);
        _x = GpuGemmBenchmarks.Random(_be, G.N * G.C * G.H * G.W, 1);
        _w = GpuGemmBenchmarks.Random(_be, G.K * G.C * G.R * G.S, 2);
        _y = GpuGemmBenchmarks.Random(_be, G.N * G.K * G.OutH * G.OutW, 3);
    }

    /// <summary>y = conv(x, w).</summary>
    [Benchmark]
    public void Forward()
    {
        _be.Conv2dForward(_x, _w, null, _y, G);
        DeviceSync.Synchronize(_be);
    }

    /// <summary>dx from dy.</summary>
    [Benchmark]
    public void BackwardInput()
    {
        _be.Conv2dBackwardInput(_y, _w, _x, G);
        DeviceSync.Synchronize(_be);
    }

    /// <summary>dw from x and dy.</summary>
    [Benchmark]
    public void BackwardWeight()
    {
        _be.Conv2dBackwardWeight(_x, _y, _w, G);
        DeviceSync.Synchronize(_be);
    }

    /// <summary>Frees the buffers.</summary>
    [GlobalCleanup]
    public void Cleanup()
    {
        _x.Dispose();
        _w.Dispose();
        _y.Dispose();
    }

    private sealed class Config : ManualConfig
    {
        public Config()
        {
            AddJob(GpuKernelJobs.Short);
            AddColumn(new GflopsColumn(_ => 2.0 * G.Macs));
        }
    }
}

/// <summary>The fused scale + bias + mask attention softmax, forward and backward (FocusCalibrationNet's [B·heads·T, T] scores).</summary>
[Config(typeof(GpuKernelBenchmarksConfig))]
public class IlgpuBiasedSoftmaxBenchmarks
{
    private const int Rows = 2 * 2 * 64, Cols = 64, RowsPerMask = 2 * 64;
    private Backend _be = null!;
    private Storage _x = null!, _bias = null!, _mask = null!, _y = null!, _dy = null!, _dx = null!;

    /// <summary>The rows (<see cref="SideBySide.Backends"/>).</summary>
    public static IEnumerable<string> Backends => SideBySide.Backends;

    /// <summary>Backend registry name.</summary>
    [ParamsSource(nameof(Backends))]
    public string Backend { get; set; } = "opencl";

    /// <summary>Allocates and fills the scores, bias, mask (the last 9 keys of each item masked) and dy.</summary>
    [GlobalSetup]
    public void Setup()
    {
        _be = SideBySide.Open(Backend);
        _x = GpuGemmBenchmarks.Random(_be, Rows * Cols, 1);
        _bias = GpuGemmBenchmarks.Random(_be, Rows * Cols, 2);
        _dy = GpuGemmBenchmarks.Random(_be, Rows * Cols, 3);
        _y = _be.Allocate(Rows * Cols, DType.Float32);
        _dx = _be.Allocate(Rows * Cols, DType.Float32);
        var mask = Enumerable.Range(0, Rows / RowsPerMask * Cols).Select(i => i % Cols < Cols - 9 ? 1 : 0).ToArray();
        _mask = _be.Allocate(mask.Length, DType.Int32);
        _be.Write(_mask, mask);
    }

    /// <summary>y = softmax(scale·x + bias) over the kept keys.</summary>
    [Benchmark]
    public void Forward()
    {
        _be.BiasedSoftmax(_x, _bias, _mask, _y, Rows, Cols, RowsPerMask, 0.125f);
        DeviceSync.Synchronize(_be);
    }

    /// <summary>dx and dBias from y and dy.</summary>
    [Benchmark]
    public void Backward()
    {
        _be.BiasedSoftmaxBackward(_y, _dy, _dx, _bias, Rows, Cols, 0.125f);
        DeviceSync.Synchronize(_be);
    }

    /// <summary>Frees the buffers.</summary>
    [GlobalCleanup]
    public void Cleanup()
    {
        foreach (var s in new[] { _x, _bias, _mask, _y, _dy, _dx }) s.Dispose();
    }
}

/// <summary>The power spectrogram of 1 s at 16 kHz with Paper A's framing (n_fft 400, hop 160, 201 bins), then dB.</summary>
[Config(typeof(GpuKernelBenchmarksConfig))]
public class IlgpuSpectrogramBenchmarks
{
    private const int NFft = 400, Hop = 160, Frames = 101, NFreq = 201;
    private Backend _be = null!;
    private Storage _signal = null!, _window = null!, _y = null!;

    /// <summary>The rows (<see cref="SideBySide.Backends"/>).</summary>
    public static IEnumerable<string> Backends => SideBySide.Backends;

    /// <summary>Backend registry name.</summary>
    [ParamsSource(nameof(Backends))]
    public string Backend { get; set; } = "opencl";

    /// <summary>Allocates the signal, the Hann window and the output.</summary>
    [GlobalSetup]
    public void Setup()
    {
        _be = SideBySide.Open(Backend);
        _signal = GpuGemmBenchmarks.Random(_be, (Frames - 1) * Hop + NFft, 1);
        _window = _be.Allocate(NFft, DType.Float32);
        _be.Write(_window, Windows.Hann(NFft).Select(v => (float)v).ToArray());
        _y = _be.Allocate(NFreq * Frames, DType.Float32);
    }

    /// <summary>|STFT|² (the tiled variant on both).</summary>
    [Benchmark]
    public void Spectrogram()
    {
        _be.SpectrogramForward(_signal, _window, _y, NFft, Hop, Frames, NFreq, 2f);
        DeviceSync.Synchronize(_be);
    }

    /// <summary>10·log10 with an 80 dB floor, in place.</summary>
    [Benchmark]
    public void AmplitudeToDb()
    {
        _be.AmplitudeToDb(_y, _y, NFreq * Frames, 10f, 1e-10f, 0f, 80f);
        DeviceSync.Synchronize(_be);
    }

    /// <summary>Frees the buffers.</summary>
    [GlobalCleanup]
    public void Cleanup()
    {
        _signal.Dispose();
        _window.Dispose();
        _y.Dispose();
    }
}

/// <summary>The short job of the GPU suites, without a throughput column.</summary>
internal sealed class GpuKernelBenchmarksConfig : ManualConfig
{
    public GpuKernelBenchmarksConfig() => AddJob(GpuKernelJobs.Short);
}
