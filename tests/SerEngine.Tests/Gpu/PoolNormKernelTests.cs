using SerEngine.Backends;
using SerEngine.Backends.Cpu;

namespace SerEngine.Tests.Gpu;

/// <summary>kernels/maxpool2d.cl and kernels/batchnorm2d.cl on OpenCL against the CPU reference.</summary>
public class PoolNormKernelTests(ITestOutputHelper output)
{
    private readonly CpuReferenceBackend _cpu = new();

    // Geometry: N, C, H, W, kernelH, kernelW, strideH, strideW, padH, padW.
    private static readonly Pool2dGeometry[] Pools =
    [
        new(2, 3, 17, 33, 3, 3, 2, 2, 0, 0),  // AttentionFcn's MaxPool2d(3, stride 2), odd sizes
        new(1, 2, 7, 9, 2, 2, 2, 2, 0, 0),    // MaxPool2d(2), floor drops the last row/column; batch 1
        new(2, 3, 8, 7, 3, 3, 1, 1, 1, 1),    // overlapping windows with padding
        new(1, 4, 9, 10, 3, 2, 2, 1, 1, 0),   // non-square window and stride
        new(2, 2, 5, 6, 1, 1, 1, 1, 0, 0),    // 1×1
        new(2, 16, 33, 65, 3, 3, 2, 2, 1, 1), // several work-groups per dimension
    ];

    [Theory]
    [InlineData("opencl")]
    [InlineData("cuda")]
    public void MaxPoolForwardAndBackwardMatchTheReference(string device)
    {
        if (KernelPair.Device(device, output) is not { } gpu) return;
        for (int i = 0; i < Pools.Length; i++)
        {
            var g = Pools[i];
            int inSize = g.N * g.C * g.H * g.W, outSize = g.N * g.C * g.OutH * g.OutW;
            using var x = KernelPair.Of(gpu, _cpu, KernelPair.RandomNormal(inSize, (ulong)(200 + i)));
            using var y = KernelPair.Output(gpu, _cpu, outSize);
            using var argmax = KernelPair.IntOutput(gpu, _cpu, outSize);
            _cpu.MaxPool2dForward(x.Cpu, y.Cpu, argmax.Cpu, g);
            gpu.MaxPool2dForward(x.Gpu, y.Gpu, argmax.Gpu, g);
            y.AssertClose(0, 0, $"maxpool forward {g}"); // a max is exact
            var (ga, ca) = argmax.Ints();
            Assert.Equal(ca, ga);

            using var dy = KernelPair.Of(gpu, _cpu, KernelPair.RandomNormal(outSize, (ulong)(300 + i)));
            using var dx = KernelPair.Output(gpu, _cpu, inSize);
            _cpu.MaxPool2dBackward(dy.Cpu, argmax.Cpu, dx.Cpu, g);
            gpu.MaxPool2dBackward(dy.Gpu, argmax.Gpu, dx.Gpu, g);
            dx.AssertClose(1e-6, 1e-6, $"maxpool backward {g}");
        }
    }

    [Theory]
    [InlineData("opencl")]
    [InlineData("cuda")]
    public void MaxPoolTiesKeepTheFirstPositionAndPaddingNeverWins(string device)
    {
        if (KernelPair.Device(device, output) is not { } gpu) return;
        // one 3×3 plane of −5 (below the padding's implicit 0), window 3, stride 1, padding 1
        var g = new Pool2dGeometry(1, 1, 3, 3, 3, 3, 1, 1, 1, 1);
        using var x = gpu.Allocate(9, DType.Float32);
        using var y = gpu.Allocate(9, DType.Float32);
        using var argmax = gpu.Allocate(9, DType.Int32);
        gpu.Write(x, Enumerable.Repeat(-5f, 9).ToArray());
        gpu.MaxPool2dForward(x, y, argmax, g);
        var (yv, av) = (new float[9], new int[9]);
        gpu.Read(y, yv);
        gpu.Read(argmax, av);
        Assert.All(yv, v => Assert.Equal(-5f, v));
        // window of (oh, ow) starts at row max(oh − 1, 0), column max(ow − 1, 0): its first element wins
        Assert.Equal([0, 0, 1, 0, 0, 1, 3, 3, 4], av);

        // backward: every output routes its dy to the argmax; overlapping windows accumulate
        using var dy = gpu.Allocate(9, DType.Float32);
        using var dx = gpu.Allocate(9, DType.Float32);
        gpu.Write(dy, [1f, 2f, 3f, 4f, 5f, 6f, 7f, 8f, 9f]);
        gpu.Write(dx, Enumerable.Repeat(float.NaN, 9).ToArray());
        gpu.MaxPool2dBackward(dy, argmax, dx, g);
        var dxv = new float[9];
        gpu.Read(dx, dxv);
        Assert.Equal([1f + 2f + 4f + 5f, 3f + 6f, 0f, 7f + 8f, 9f, 0f, 0f, 0f, 0f], dxv);
    }

    // (n, c, hw): HW 1 (normalising over the batch only), a single image, counts far above the
    // work-group size, a channel count above one group.
    private static readonly (int N, int C, int HW)[] Norms = [(4, 5, 1), (1, 2, 7), (2, 3, 600), (3, 70, 33)];

    [Theory]
    [InlineData("opencl")]
    [InlineData("cuda")]
    public void BatchNormForwardMatchesTheReferenceInTrainingAndEval(string device)
    {
        if (KernelPair.Device(device, output) is not { } gpu) return;
        for (int i = 0; i < Norms.Length; i++)
        {
            var (n, c, hw) = Norms[i];
            ulong seed = (ulong)(400 + 10 * i);
            using var x = KernelPair.Of(gpu, _cpu, KernelPair.RandomNormal(n * c * hw, seed, offset: 3f)); // mean far from 0
            using var weight = KernelPair.Of(gpu, _cpu, KernelPair.RandomNormal(c, seed + 1));
            using var bias = KernelPair.Of(gpu, _cpu, KernelPair.RandomNormal(c, seed + 2));
            var rm0 = KernelPair.RandomNormal(c, seed + 3);
            var rv0 = KernelPair.RandomNormal(c, seed + 4).Select(v => 0.5f + Math.Abs(v)).ToArray();
            foreach (bool training in new[] { true, false })
            {
                foreach (bool affine in new[] { true, false })
                {
                    bool running = !training || affine; // training without running stats when not affine
                    string what = $"n {n} c {c} hw {hw} training {training} affine {affine} running {running}";
                    using var runningMean = KernelPair.Of(gpu, _cpu, rm0);
                    using var runningVar = KernelPair.Of(gpu, _cpu, rv0);
                    using var y = KernelPair.Output(gpu, _cpu, n * c * hw);
                    using var mean = KernelPair.Output(gpu, _cpu, c);
                    using var invStd = KernelPair.Output(gpu, _cpu, c);
                    foreach (var (be, pick) in new (Backend, Func<KernelPair, Storage>)[] { (_cpu, t => t.Cpu), (gpu, t => t.Gpu) })
                    {
                        be.BatchNorm2dForward(pick(x), affine ? pick(weight) : null, affine ? pick(bias) : null, pick(y),
                            pick(mean), pick(invStd), running ? pick(runningMean) : null, running ? pick(runningVar) : null,
                            n, c, hw, 1e-5f, 0.1f, training);
                    }
                    mean.AssertClose(1e-5, 1e-5, $"mean, {what}");
                    invStd.AssertClose(1e-5, 1e-4, $"invStd, {what}");
                    y.AssertClose(1e-4, 1e-4, $"y, {what}");
                    if (running)
                    {
                        runningMean.AssertClose(1e-5, 1e-5, $"runningMean, {what}");
                        runningVar.AssertClose(1e-5, 1e-4, $"runningVar, {what}");
                    }
                }
            }
        }
    }

    [Theory]
    [InlineData("opencl")]
    [InlineData("cuda")]
    public void BatchNormBackwardMatchesTheReferenceInTrainingAndEval(string device)
    {
        if (KernelPair.Device(device, output) is not { } gpu) return;
        for (int i = 0; i < Norms.Length; i++)
        {
            var (n, c, hw) = Norms[i];
            ulong seed = (ulong)(500 + 10 * i);
            using var x = KernelPair.Of(gpu, _cpu, KernelPair.RandomNormal(n * c * hw, seed, offset: -2f));
            using var dy = KernelPair.Of(gpu, _cpu, KernelPair.RandomNormal(n * c * hw, seed + 1));
            using var weight = KernelPair.Of(gpu, _cpu, KernelPair.RandomNormal(c, seed + 2));
            // statistics as a forward pass would leave them: batch mean and 1/std of x
            var xs = x.CpuFloats();
            var m = new float[c];
            var s = new float[c];
            for (int ch = 0; ch < c; ch++)
            {
                var vals = Enumerable.Range(0, n * hw).Select(e => (double)xs[(e / hw * c + ch) * hw + e % hw]).ToArray();
                double mu = vals.Average();
                m[ch] = (float)mu;
                s[ch] = (float)(1 / Math.Sqrt(vals.Sum(v => (v - mu) * (v - mu)) / vals.Length + 1e-5));
            }
            using var mean = KernelPair.Of(gpu, _cpu, m);
            using var invStd = KernelPair.Of(gpu, _cpu, s);
            foreach (bool training in new[] { true, false })
            {
                foreach (bool affine in new[] { true, false })
                {
                    string what = $"n {n} c {c} hw {hw} training {training} affine {affine}";
                    using var dx = KernelPair.Output(gpu, _cpu, n * c * hw);
                    using var dWeight = KernelPair.Output(gpu, _cpu, c);
                    using var dBias = KernelPair.Output(gpu, _cpu, c);
                    foreach (var (be, pick) in new (Backend, Func<KernelPair, Storage>)[] { (_cpu, t => t.Cpu), (gpu, t => t.Gpu) })
                    {
                        be.BatchNorm2dBackward(pick(dy), pick(x), affine ? pick(weight) : null, pick(mean), pick(invStd), pick(dx),
                            affine ? pick(dWeight) : null, affine ? pick(dBias) : null, n, c, hw, training);
                    }
                    dx.AssertClose(1e-4, 1e-4, $"dx, {what}");
                    if (affine)
                    {
                        double scale = Math.Sqrt(n * hw);
                        dWeight.AssertClose(1e-5 * scale, 1e-4, $"dWeight, {what}");
                        dBias.AssertClose(1e-5 * scale, 1e-4, $"dBias, {what}");
                    }
                    else
                    {
                        Assert.All(dWeight.GpuFloats(), v => Assert.True(float.IsNaN(v), $"dWeight written although not asked for, {what}"));
                    }
                }
            }
        }
    }

    [Theory]
    [InlineData("opencl")]
    [InlineData("cuda")]
    public void WrongSizesFailWithTheShapes(string device)
    {
        if (KernelPair.Device(device, output) is not { } gpu) return;
        using var x = gpu.Allocate(2 * 3 * 5, DType.Float32);
        using var small = gpu.Allocate(2, DType.Float32);
        using var c3 = gpu.Allocate(3, DType.Float32);
        var ex = Assert.Throws<ArgumentException>(() =>
            gpu.BatchNorm2dForward(x, null, null, x, small, c3, null, null, 2, 3, 5, 1e-5f, 0.1f, training: true));
        Assert.Contains("mean [3] needs 3 elements, buffer has 2", ex.Message, StringComparison.Ordinal);
        ex = Assert.Throws<ArgumentException>(() =>
            gpu.BatchNorm2dForward(x, null, null, x, c3, c3, null, null, 2, 3, 5, 1e-5f, 0.1f, training: false));
        Assert.Contains("eval mode needs runningMean and runningVar", ex.Message, StringComparison.Ordinal);
        var g = new Pool2dGeometry(1, 2, 3, 5, 2, 2, 2, 2, 0, 0);
        using var y = gpu.Allocate(4, DType.Float32); // [1, 2, 1, 2]
        var wrongType = Assert.Throws<InvalidOperationException>(() => gpu.MaxPool2dForward(x, y, y, g));
        Assert.Contains("argmax must be an Int32 buffer", wrongType.Message, StringComparison.Ordinal);
        ex = Assert.Throws<ArgumentException>(() => gpu.MaxPool2dForward(x, small, small, g));
        Assert.Contains("y [1, 2, 1, 2] needs 4 elements, buffer has 2", ex.Message, StringComparison.Ordinal);
        ex = Assert.Throws<ArgumentException>(() => gpu.MaxPool2dForward(x, y, y, g with { PadH = 2 }));
        Assert.Contains("invalid geometry", ex.Message, StringComparison.Ordinal);
    }
}
