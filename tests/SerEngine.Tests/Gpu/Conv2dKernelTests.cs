using SerEngine.Backends;
using SerEngine.Backends.Cpu;
using SerEngine.Backends.Gpu;
using SerEngine.Backends.OpenCl;

namespace SerEngine.Tests.Gpu;

/// <summary>kernels/conv2d.cl on OpenCL against the CPU reference: every variant, every direction.</summary>
[Collection(ProcessWideCollection.Name)] // asserts the shared backend's live bytes
public class Conv2dKernelTests(ITestOutputHelper output)
{
    private readonly CpuReferenceBackend _cpu = new();

    // (name, geometry). Geometry: N, C, H, W, K, R, S, strideH, strideW, padTop, padBottom, padLeft, padRight, dilH, dilW.
    private static readonly (string Name, Conv2dGeometry G)[] Geometries =
    [
        ("11x11 stride 4 pad 2, 1 channel", new(2, 1, 40, 45, 4, 11, 11, 4, 4, 2, 2, 2, 2, 1, 1)),
        ("10x2 pad (4, 0)", new(2, 1, 26, 33, 8, 10, 2, 1, 1, 4, 4, 0, 0, 1, 1)),
        ("2x8 pad (0, 3), batch 1", new(1, 1, 26, 33, 8, 2, 8, 1, 1, 0, 0, 3, 3, 1, 1)),
        ("3x3 stride 2 dilation 2 asymmetric pad", new(2, 3, 17, 15, 5, 3, 3, 2, 2, 1, 2, 0, 3, 2, 2)),
        ("5x5 pad 2", new(2, 7, 12, 13, 17, 5, 5, 1, 1, 2, 2, 2, 2, 1, 1)),
        ("3x3 pad 1, several work-groups", new(2, 16, 20, 24, 70, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1)),
        ("1x1 pointwise", new(3, 33, 7, 9, 65, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1)),
        ("1x1 stride 2 dilation 3", new(1, 5, 9, 8, 3, 1, 1, 2, 2, 0, 1, 1, 0, 3, 3)),
        ("3x1 stride (1, 3) single output column", new(2, 2, 7, 3, 3, 3, 1, 1, 3, 1, 1, 0, 0, 1, 1)),
        // 3 channels but C·R·S = 12 and OH·OW = 240: the implicit tile steps' float4 loads of w and dy
        ("2x2 stride (2, 1) dilation (1, 2) asymmetric pad, 3 channels", new(2, 3, 19, 23, 9, 2, 2, 2, 1, 0, 1, 2, 1, 1, 2)),
    ];

    private static double Tolerance(int reduction) => 1e-5 + 1e-6 * reduction;

    [Theory]
    [InlineData("opencl")]
    [InlineData("cuda")]
    public void ForwardMatchesTheReference(string device)
    {
        if (KernelPair.Device(device, output) is not { } gpu) return;
        RunEveryVariant(gpu, (g, seed, i, eachVariant) =>
        {
            using var x = KernelPair.Of(gpu, _cpu, KernelPair.RandomNormal(g.N * g.C * g.H * g.W, seed));
            using var w = KernelPair.Of(gpu, _cpu, KernelPair.RandomNormal(g.K * g.C * g.R * g.S, seed + 1));
            using var bias = KernelPair.Of(gpu, _cpu, KernelPair.RandomNormal(g.K, seed + 2));
            using var y = KernelPair.Output(gpu, _cpu, g.N * g.K * g.OutH * g.OutW);
            bool withBias = i % 2 == 0;
            _cpu.Conv2dForward(x.Cpu, w.Cpu, withBias ? bias.Cpu : null, y.Cpu, g);
            eachVariant(() =>
            {
                gpu.Conv2dForward(x.Gpu, w.Gpu, withBias ? bias.Gpu : null, y.Gpu, g);
                return y.AssertClose(Tolerance(g.C * g.R * g.S), 1e-5, $"forward{(withBias ? " + bias" : "")}");
            });
        });
    }

    [Theory]
    [InlineData("opencl")]
    [InlineData("cuda")]
    public void BackwardInputMatchesTheReference(string device)
    {
        if (KernelPair.Device(device, output) is not { } gpu) return;
        RunEveryVariant(gpu, (g, seed, _, eachVariant) =>
        {
            using var dy = KernelPair.Of(gpu, _cpu, KernelPair.RandomNormal(g.N * g.K * g.OutH * g.OutW, seed));
            using var w = KernelPair.Of(gpu, _cpu, KernelPair.RandomNormal(g.K * g.C * g.R * g.S, seed + 1));
            using var dx = KernelPair.Output(gpu, _cpu, g.N * g.C * g.H * g.W);
            _cpu.Conv2dBackwardInput(dy.Cpu, w.Cpu, dx.Cpu, g);
            eachVariant(() =>
            {
                gpu.Conv2dBackwardInput(dy.Gpu, w.Gpu, dx.Gpu, g);
                return dx.AssertClose(Tolerance(g.K * g.R * g.S), 1e-5, "backward-input");
            });
        });
    }

    [Theory]
    [InlineData("opencl")]
    [InlineData("cuda")]
    public void BackwardWeightMatchesTheReference(string device)
    {
        if (KernelPair.Device(device, output) is not { } gpu) return;
        RunEveryVariant(gpu, (g, seed, _, eachVariant) =>
        {
            using var x = KernelPair.Of(gpu, _cpu, KernelPair.RandomNormal(g.N * g.C * g.H * g.W, seed));
            using var dy = KernelPair.Of(gpu, _cpu, KernelPair.RandomNormal(g.N * g.K * g.OutH * g.OutW, seed + 1));
            using var dw = KernelPair.Output(gpu, _cpu, g.K * g.C * g.R * g.S);
            _cpu.Conv2dBackwardWeight(x.Cpu, dy.Cpu, dw.Cpu, g);
            eachVariant(() =>
            {
                gpu.Conv2dBackwardWeight(x.Gpu, dy.Gpu, dw.Gpu, g);
                return dw.AssertClose(Tolerance(g.N * g.OutH * g.OutW), 1e-5, "backward-weight");
            });
        });
    }

    [Theory]
    [InlineData("opencl")]
    [InlineData("cuda")]
    public void Im2colGemmWorksInChunksOfImages(string device)
    {
        if (KernelPair.Device(device, output) is not { } gpu) return;
        var g = new Conv2dGeometry(5, 3, 11, 10, 6, 3, 2, 2, 1, 1, 0, 1, 1, 1, 2);
        using var x = KernelPair.Of(gpu, _cpu, KernelPair.RandomNormal(g.N * g.C * g.H * g.W, 41));
        using var w = KernelPair.Of(gpu, _cpu, KernelPair.RandomNormal(g.K * g.C * g.R * g.S, 42));
        using var bias = KernelPair.Of(gpu, _cpu, KernelPair.RandomNormal(g.K, 43));
        using var dy = KernelPair.Of(gpu, _cpu, KernelPair.RandomNormal(g.N * g.K * g.OutH * g.OutW, 44));
        using var y = KernelPair.Output(gpu, _cpu, g.N * g.K * g.OutH * g.OutW);
        using var dx = KernelPair.Output(gpu, _cpu, g.N * g.C * g.H * g.W);
        using var dw = KernelPair.Output(gpu, _cpu, g.K * g.C * g.R * g.S);
        _cpu.Conv2dForward(x.Cpu, w.Cpu, bias.Cpu, y.Cpu, g);
        _cpu.Conv2dBackwardInput(dy.Cpu, w.Cpu, dx.Cpu, g);
        _cpu.Conv2dBackwardWeight(x.Cpu, dy.Cpu, dw.Cpu, g);
        var (savedVariant, savedLimit) = (gpu.Conv2dVariant, gpu.Conv2dColumnBufferElements);
        try
        {
            gpu.Conv2dVariant = "im2col_gemm";
            int perImage = g.C * g.R * g.S * g.OutH * g.OutW;
            foreach (int limit in new[] { 1, 2 * perImage + 1 }) // chunks of 1 image, then 2, 2, 1
            {
                gpu.Conv2dColumnBufferElements = limit;
                long before = gpu.LiveBytes;
                gpu.Conv2dForward(x.Gpu, w.Gpu, bias.Gpu, y.Gpu, g);
                gpu.Conv2dBackwardInput(dy.Gpu, w.Gpu, dx.Gpu, g);
                gpu.Conv2dBackwardWeight(x.Gpu, dy.Gpu, dw.Gpu, g);
                Assert.Equal(before, gpu.LiveBytes); // the column buffer is released
                y.AssertClose(Tolerance(g.C * g.R * g.S), 1e-5, $"forward, column limit {limit}");
                dx.AssertClose(Tolerance(g.K * g.R * g.S), 1e-5, $"backward-input, column limit {limit}");
                dw.AssertClose(Tolerance(g.N * g.OutH * g.OutW), 1e-5, $"backward-weight, column limit {limit}");
            }
        }
        finally
        {
            (gpu.Conv2dVariant, gpu.Conv2dColumnBufferElements) = (savedVariant, savedLimit);
        }
    }

    [Theory]
    [InlineData("opencl")]
    [InlineData("cuda")]
    public void WrongSizesAndUnknownVariantsFailWithTheShapes(string device)
    {
        if (KernelPair.Device(device, output) is not { } gpu) return;
        var g = new Conv2dGeometry(2, 3, 8, 8, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1);
        using var x = gpu.Allocate(2 * 3 * 8 * 8, DType.Float32);
        using var w = gpu.Allocate(4 * 3 * 3 * 3, DType.Float32);
        using var y = gpu.Allocate(2 * 4 * 8 * 8 - 1, DType.Float32);
        var ex = Assert.Throws<ArgumentException>(() => gpu.Conv2dForward(x, w, null, y, g));
        Assert.Contains("y [2, 4, 8, 8] needs 512 elements, buffer has 511", ex.Message, StringComparison.Ordinal);
        ex = Assert.Throws<ArgumentException>(() => gpu.Conv2dBackwardWeight(x, y, w, g with { C = 4 }));
        Assert.Contains("x [2, 4, 8, 8]", ex.Message, StringComparison.Ordinal);
        ex = Assert.Throws<ArgumentException>(() => gpu.Conv2dForward(x, w, null, y, g with { StrideH = 0 }));
        Assert.Contains("invalid geometry", ex.Message, StringComparison.Ordinal);
        var bad = Assert.Throws<ArgumentException>(() => gpu.Conv2dVariant = "winograd");
        Assert.Contains("direct, im2col_gemm, implicit_gemm", bad.Message, StringComparison.Ordinal);
    }

    /// <summary>
    /// For each geometry, <paramref name="body"/> builds the inputs and runs the reference, then hands
    /// eachVariant a check (run the GPU primitive, compare, return the largest error), which runs once
    /// per conv2d variant.
    /// </summary>
    private void RunEveryVariant(GpuBackend gpu, Action<Conv2dGeometry, ulong, int, Action<Func<double>>> body)
    {
        var (saved, savedShare) = (gpu.Conv2dVariant, gpu.Conv2dImplicitMinUsefulShare);
        // every variant, plus each implicit-GEMM variant with its fallback to the direct kernels switched off
        string[] variants = [.. GpuBackend.Conv2dVariants, .. GpuBackend.Conv2dVariants.Where(GpuBackend.IsImplicitGemmVariant).Select(v => v + Forced)];
        try
        {
            for (int i = 0; i < Geometries.Length; i++)
            {
                var (name, g) = Geometries[i];
                body(g, (ulong)(100 + 10 * i), i, check =>
                {
                    foreach (var variant in variants)
                    {
                        bool forced = variant.EndsWith(Forced, StringComparison.Ordinal);
                        gpu.Conv2dVariant = forced ? variant[..^Forced.Length] : variant;
                        gpu.Conv2dImplicitMinUsefulShare = forced ? 0 : savedShare;
                        double err;
                        try
                        {
                            err = check();
                        }
                        catch (Exception e) when (e is not OutOfMemoryException)
                        {
                            throw new InvalidOperationException($"{variant}, {name} ({g}): {e.Message}", e);
                        }
                        output.WriteLine($"{variant,-18} {name}: max error {err:E2}");
                    }
                });
            }
        }
        finally
        {
            (gpu.Conv2dVariant, gpu.Conv2dImplicitMinUsefulShare) = (saved, savedShare);
        }
    }

    private const string Forced = "!";
}
