using SerEngine.Audio;
using SerEngine.Backends;
using SerEngine.Ilgpu;
using SerEngine.Tests.Gpu;

namespace SerEngine.Tests.Ilgpu;

/// <summary>
/// The ILGPU kernels (engine/SerEngine.Ilgpu/Kernels) on <c>ilgpu-cpu</c> against the CPU reference, at
/// awkward sizes (odd, not tile multiples, batch 1, one group and several), every variant, outputs
/// pre-filled with a sentinel and followed by sentinel padding (KernelTwin.Output: an element the kernel
/// misses, or one it writes out of bounds, shows up), and NaN in C where beta = 0. The elementwise,
/// reduction, permute, softmax, loss and optimizer kernels run in the shared theories of
/// tests/Gpu (ElementwiseKernelTests, SoftmaxKernelTests, LossOptimKernelTests: their ilgpu-cpu rows).
/// ILGPU's CPU accelerator simulates every thread, so sizes stay small.
/// </summary>
[Collection(ProcessWideCollection.Name)] // asserts the shared backend's live bytes
public class IlgpuKernelTests(ITestOutputHelper output)
{
    private static IlgpuBackend Be => (IlgpuBackend)BackendRegistry.Get("ilgpu-cpu");
    private static Backends.Cpu.CpuReferenceBackend Ref => KernelTwin.Reference;

    // N, C, H, W, K, R, S, strideH, strideW, padTop, padBottom, padLeft, padRight, dilH, dilW
    private static readonly (string Name, Conv2dGeometry G)[] Convs =
    [
        ("11x11 stride 4, 1 channel (direct fallback)", new(2, 1, 23, 26, 3, 11, 11, 4, 4, 2, 2, 2, 2, 1, 1)),
        ("3x3 stride 2 dilation 2 asymmetric pad, batch 1", new(1, 3, 13, 11, 5, 3, 3, 2, 2, 1, 2, 0, 3, 2, 2)),
        ("3x3 pad 1, 70 filters: two row tiles, two column tiles", new(2, 9, 9, 9, 70, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1)),
        ("1x1 pointwise, odd", new(3, 17, 5, 7, 33, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1)),
        ("2x8 pad (0, 3), batch 1, long reduction (split-K)", new(1, 2, 30, 37, 4, 2, 8, 1, 1, 0, 0, 3, 3, 1, 1)),
    ];

    [Fact]
    public void Conv2dEveryVariantAndDirectionMatchesTheReference()
    {
        var be = Be;
        var (savedVariant, savedShare) = (be.Conv2dVariant, be.Conv2dImplicitMinUsefulShare);
        try
        {
            for (int i = 0; i < Convs.Length; i++)
            {
                var (name, g) = Convs[i];
                int seed = 100 + 10 * i;
                using var x = KernelTwin.Of(be, KernelTwin.Normal(g.N * g.C * g.H * g.W, seed));
                using var w = KernelTwin.Of(be, KernelTwin.Normal(g.K * g.C * g.R * g.S, seed + 1));
                using var bias = KernelTwin.Of(be, KernelTwin.Normal(g.K, seed + 2));
                using var dy = KernelTwin.Of(be, KernelTwin.Normal(g.N * g.K * g.OutH * g.OutW, seed + 3));
                using var y = KernelTwin.Output(be, g.N * g.K * g.OutH * g.OutW);
                using var dx = KernelTwin.Output(be, g.N * g.C * g.H * g.W);
                using var dw = KernelTwin.Output(be, g.K * g.C * g.R * g.S);
                Storage? b = i % 2 == 0 ? bias.Cpu : null;
                Ref.Conv2dForward(x.Cpu, w.Cpu, b, y.Cpu, g);
                Ref.Conv2dBackwardInput(dy.Cpu, w.Cpu, dx.Cpu, g);
                Ref.Conv2dBackwardWeight(x.Cpu, dy.Cpu, dw.Cpu, g);
                foreach (var (variant, share) in new[] { ("direct", 0.25), ("im2col_gemm", 0.25), ("implicit_gemm", 0.25), ("implicit_gemm", 0.0) })
                {
                    (be.Conv2dVariant, be.Conv2dImplicitMinUsefulShare) = (variant, share);
                    string what = $"{variant}{(share == 0 ? " (forced)" : "")}, {name}";
                    be.Conv2dForward(x.Gpu, w.Gpu, i % 2 == 0 ? bias.Gpu : null, y.Gpu, g);
                    be.Conv2dBackwardInput(dy.Gpu, w.Gpu, dx.Gpu, g);
                    be.Conv2dBackwardWeight(x.Gpu, dy.Gpu, dw.Gpu, g);
                    y.AssertClose(1e-5, 1e-4, "forward " + what);
                    dx.AssertClose(1e-5, 1e-4, "backward-input " + what);
                    dw.AssertClose(1e-5, 2e-4, "backward-weight " + what);
                    output.WriteLine($"ok {what}");
                }
            }
        }
        finally
        {
            (be.Conv2dVariant, be.Conv2dImplicitMinUsefulShare) = (savedVariant, savedShare);
        }
    }

    [Fact]
    public void Im2colWorksInChunksOfImagesAndFreesItsBuffers()
    {
        var be = Be;
        var g = new Conv2dGeometry(3, 2, 7, 6, 4, 3, 2, 2, 1, 1, 0, 1, 1, 1, 2);
        using var x = KernelTwin.Of(be, KernelTwin.Normal(g.N * g.C * g.H * g.W, 41));
        using var w = KernelTwin.Of(be, KernelTwin.Normal(g.K * g.C * g.R * g.S, 42));
        using var dy = KernelTwin.Of(be, KernelTwin.Normal(g.N * g.K * g.OutH * g.OutW, 44));
        using var y = KernelTwin.Output(be, g.N * g.K * g.OutH * g.OutW);
        using var dx = KernelTwin.Output(be, g.N * g.C * g.H * g.W);
        using var dw = KernelTwin.Output(be, g.K * g.C * g.R * g.S);
        Ref.Conv2dForward(x.Cpu, w.Cpu, null, y.Cpu, g);
        Ref.Conv2dBackwardInput(dy.Cpu, w.Cpu, dx.Cpu, g);
        Ref.Conv2dBackwardWeight(x.Cpu, dy.Cpu, dw.Cpu, g);
        var (saved, savedLimit) = (be.Conv2dVariant, be.Conv2dColumnBufferElements);
        try
        {
            be.Conv2dVariant = "im2col_gemm";
            be.Conv2dColumnBufferElements = 1; // one image per chunk
            long before = be.LiveBytes;
            be.Conv2dForward(x.Gpu, w.Gpu, null, y.Gpu, g);
            be.Conv2dBackwardInput(dy.Gpu, w.Gpu, dx.Gpu, g);
            be.Conv2dBackwardWeight(x.Gpu, dy.Gpu, dw.Gpu, g);
            Assert.Equal(before, be.LiveBytes);
            y.AssertClose(1e-5, 1e-4, "forward");
            dx.AssertClose(1e-5, 1e-4, "backward-input");
            dw.AssertClose(1e-5, 1e-4, "backward-weight");
        }
        finally
        {
            (be.Conv2dVariant, be.Conv2dColumnBufferElements) = (saved, savedLimit);
        }
    }

    [Fact]
    public void GemmEveryVariantTransposeBatchStrideAndBetaMatchesTheReference()
    {
        var be = Be;
        string saved = be.GemmVariant;
        try
        {
            // (batch, m, n, k): one element, odd sizes under one tile, past a 64×128 tile, k past several slabs
            foreach (var variant in IlgpuBackend.GemmVariants)
            {
                be.GemmVariant = variant;
                foreach (var (batch, m, n, k) in new[] { (1, 1, 1, 1), (2, 5, 7, 3), (1, 67, 131, 35), (3, 9, 17, 40) })
                {
                    foreach (var (ta, tb) in new[] { (false, false), (true, false), (false, true), (true, true) })
                    {
                        bool sharedA = batch > 1 && ta; // stride 0: one A for every item
                        float beta = tb ? 0.5f : 0f;
                        string what = $"{variant} batch {batch} m {m} n {n} k {k} transA {ta} transB {tb} beta {beta}{(sharedA ? " shared A" : "")}";
                        using var a = KernelTwin.Of(be, KernelTwin.Normal((sharedA ? 1 : batch) * m * k, m + n));
                        using var b = KernelTwin.Of(be, KernelTwin.Normal(batch * k * n, m * n + 1));
                        // beta 0: C starts as NaN (never read); beta 0.5: C starts as values
                        using var c = beta == 0 ? KernelTwin.Of(be, Enumerable.Repeat(float.NaN, batch * m * n).ToArray()) : KernelTwin.Of(be, KernelTwin.Normal(batch * m * n, 5));
                        if (beta == 0) Ref.Fill(c.Cpu, batch * m * n, 0f);
                        be.Gemm(ta, tb, batch, m, n, k, 1.5f, a.Gpu, sharedA ? 0 : m * k, b.Gpu, k * n, beta, c.Gpu, m * n);
                        Ref.Gemm(ta, tb, batch, m, n, k, 1.5f, a.Cpu, sharedA ? 0 : m * k, b.Cpu, k * n, beta, c.Cpu, m * n);
                        c.AssertClose(1e-5, 1e-4, what);
                    }
                }
            }
        }
        finally
        {
            be.GemmVariant = saved;
        }
        Assert.Contains("naive, tiled, tiled_regblock", Assert.Throws<ArgumentException>(() => be.GemmVariant = "strassen").Message, StringComparison.Ordinal);
    }

    [Fact]
    public void MaxPoolAndBatchNormMatchTheReference()
    {
        var be = Be;
        foreach (var g in new Pool2dGeometry[] { new(2, 3, 7, 9, 3, 3, 2, 2, 1, 1), new(1, 1, 5, 4, 2, 2, 2, 2, 0, 0), new(1, 2, 6, 5, 3, 2, 1, 1, 1, 1) })
        {
            int outN = g.N * g.C * g.OutH * g.OutW;
            using var x = KernelTwin.Of(be, KernelTwin.Normal(g.N * g.C * g.H * g.W, g.H * g.W));
            using var y = KernelTwin.Output(be, outN);
            using var argmax = KernelTwin.Of(be, Enumerable.Repeat(-7, outN + KernelTwin.OutputPadding).ToArray());
            be.MaxPool2dForward(x.Gpu, y.Gpu, argmax.Gpu, g);
            Ref.MaxPool2dForward(x.Cpu, y.Cpu, argmax.Cpu, g);
            y.AssertExact($"maxpool {g}");
            argmax.AssertExact($"argmax {g}");
            using var dy = KernelTwin.Of(be, KernelTwin.Normal(outN, 3));
            using var dx = KernelTwin.Output(be, g.N * g.C * g.H * g.W);
            be.MaxPool2dBackward(dy.Gpu, argmax.Gpu, dx.Gpu, g);
            Ref.MaxPool2dBackward(dy.Cpu, argmax.Cpu, dx.Cpu, g);
            dx.AssertClose(1e-6, 1e-6, $"maxpool backward {g}");
        }

        foreach (var (n, c, hw) in new[] { (1, 3, 1), (2, 5, 13), (3, 2, 67) })
        {
            using var x = KernelTwin.Of(be, KernelTwin.Normal(n * c * hw, hw, offset: 3f));
            using var weight = KernelTwin.Of(be, KernelTwin.Normal(c, 1));
            using var bias = KernelTwin.Of(be, KernelTwin.Normal(c, 2));
            using var dy = KernelTwin.Of(be, KernelTwin.Normal(n * c * hw, 3));
            foreach (bool training in new[] { true, false })
            {
                if (training && n * hw < 2) continue; // the unbiased running variance needs two values
                string what = $"batchnorm n {n} c {c} hw {hw} training {training}";
                using var rm = KernelTwin.Of(be, KernelTwin.Normal(c, 4));
                using var rv = KernelTwin.Of(be, KernelTwin.Normal(c, 5).Select(v => 0.5f + Math.Abs(v)).ToArray());
                using var y = KernelTwin.Output(be, n * c * hw);
                using var mean = KernelTwin.Output(be, c);
                using var invStd = KernelTwin.Output(be, c);
                using var dx = KernelTwin.Output(be, n * c * hw);
                using var dWeight = KernelTwin.Output(be, c);
                using var dBias = KernelTwin.Output(be, c);
                be.BatchNorm2dForward(x.Gpu, weight.Gpu, bias.Gpu, y.Gpu, mean.Gpu, invStd.Gpu, rm.Gpu, rv.Gpu, n, c, hw, 1e-5f, 0.1f, training);
                Ref.BatchNorm2dForward(x.Cpu, weight.Cpu, bias.Cpu, y.Cpu, mean.Cpu, invStd.Cpu, rm.Cpu, rv.Cpu, n, c, hw, 1e-5f, 0.1f, training);
                be.BatchNorm2dBackward(dy.Gpu, x.Gpu, weight.Gpu, mean.Gpu, invStd.Gpu, dx.Gpu, dWeight.Gpu, dBias.Gpu, n, c, hw, training);
                Ref.BatchNorm2dBackward(dy.Cpu, x.Cpu, weight.Cpu, mean.Cpu, invStd.Cpu, dx.Cpu, dWeight.Cpu, dBias.Cpu, n, c, hw, training);
                y.AssertClose(1e-4, 1e-4, what + " y");
                rm.AssertClose(1e-5, 1e-5, what + " running mean");
                rv.AssertClose(1e-5, 1e-4, what + " running var");
                dx.AssertClose(1e-4, 1e-4, what + " dx");
                dWeight.AssertClose(1e-4, 1e-4, what + " dWeight");
                dBias.AssertClose(1e-4, 1e-4, what + " dBias");
            }
        }
    }

    [Fact]
    public void SpectrogramVariantsAndAmplitudeToDbMatchTheReference()
    {
        var be = Be;
        string saved = be.SpectrogramVariant;
        try
        {
            // (nFft, window inside it, hop, frames, nFreq, power): one frame; odd; a bin past a 32-bin tile and frames past a 64-frame tile
            foreach (var variant in IlgpuBackend.SpectrogramVariants)
            {
                be.SpectrogramVariant = variant;
                foreach (var (nFft, win, hop, frames, nFreq, power) in new[] { (64, 64, 16, 1, 33, 2f), (100, 81, 37, 7, 51, 1f), (64, 48, 10, 70, 33, 0.5f) })
                {
                    string what = $"{variant} nFft {nFft} hop {hop} frames {frames} nFreq {nFreq} power {power}";
                    var window = new float[nFft];
                    var hann = Windows.Hann(win);
                    for (int i = 0; i < win; i++) window[(nFft - win) / 2 + i] = (float)hann[i];
                    using var signal = KernelTwin.Of(be, KernelTwin.Normal((frames - 1) * hop + nFft + 3, nFft + frames));
                    using var w = KernelTwin.Of(be, window);
                    using var y = KernelTwin.Output(be, nFreq * frames);
                    be.SpectrogramForward(signal.Gpu, w.Gpu, y.Gpu, nFft, hop, frames, nFreq, power);
                    Ref.SpectrogramForward(signal.Cpu, w.Cpu, y.Cpu, nFft, hop, frames, nFreq, power);
                    y.AssertClose(2e-4, 2e-3, what);
                }
            }
        }
        finally
        {
            be.SpectrogramVariant = saved;
        }

        foreach (var (n, topDb) in new[] { (1, 80f), (1000, 80f), (3001, -1f), (777, 5f) })
        {
            var values = KernelTwin.Normal(n, n).Select(v => v * v * 100f).ToArray();
            values[0] = 0f; // clamped to amin
            using var x = KernelTwin.Of(be, values);
            using var y = KernelTwin.Output(be, n);
            be.AmplitudeToDb(x.Gpu, y.Gpu, n, 10f, 1e-10f, 0f, topDb);
            Ref.AmplitudeToDb(x.Cpu, y.Cpu, n, 10f, 1e-10f, 0f, topDb);
            y.AssertClose(1e-5, 1e-4, $"dB n {n} topDb {topDb}");
        }
    }

    [Fact]
    public void CopiesFillsAndForeignBuffersBehaveLikeTheOtherBackends()
    {
        var be = Be;
        using var src = KernelTwin.Of(be, KernelTwin.Normal(97, 1));
        foreach (var (srcOff, srcStride, dstOff, dstStride, len, count) in new[] { (0, 97, 0, 97, 97, 1), (1, 10, 2, 12, 7, 9), (3, 11, 0, 5, 5, 3) })
        {
            using var dst = KernelTwin.Output(be, dstOff + (count - 1) * dstStride + len);
            be.CopyBlocks(src.Gpu, srcOff, srcStride, dst.Gpu, dstOff, dstStride, len, count);
            Ref.CopyBlocks(src.Cpu, srcOff, srcStride, dst.Cpu, dstOff, dstStride, len, count);
            dst.AssertExact($"copy blocks {srcOff} {srcStride} {dstOff} {dstStride} {len} {count}");
        }
        // overlapping ranges of one buffer: every block reads the values from before the call (staged, as the GPU backends do)
        var before = KernelTwin.Normal(40, 2);
        using var overlap = KernelTwin.Of(be, before);
        be.CopyBlocks(overlap.Gpu, 0, 6, overlap.Gpu, 3, 6, 5, 6);
        var expected = (float[])before.Clone();
        for (int b = 0; b < 6; b++)
            for (int e = 0; e < 5; e++) expected[3 + b * 6 + e] = before[b * 6 + e];
        Assert.Equal(expected, overlap.GpuFloats());
        using var filled = KernelTwin.Output(be, 301);
        be.Fill(filled.Gpu, 301, -2.5f);
        Ref.Fill(filled.Cpu, 301, -2.5f);
        filled.AssertExact("fill");

        using var foreign = Ref.Allocate(4, DType.Float32);
        var ex = Assert.Throws<ArgumentException>(() => be.Unary(UnaryOp.Neg, foreign, foreign, 4, 0f));
        Assert.Contains("belongs to backend 'cpu-reference'", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void DisposeReleasesTheAcceleratorAndLaterCallsSayItIsGone()
    {
        var be = IlgpuBackend.CreateCpu();
        Assert.Equal("ilgpu-cpu", be.Name);
        Assert.Contains("CPU accelerator", be.DeviceName, StringComparison.Ordinal);
        var s = be.Allocate(10, DType.Float32);
        be.Fill(s, 10, 1f);
        var host = new float[10];
        be.Read(s, host);
        Assert.All(host, v => Assert.Equal(1f, v));
        s.Dispose();
        Assert.Equal(0, be.LiveBytes);
        be.Dispose();
        be.Dispose(); // twice is fine
        Assert.Throws<ObjectDisposedException>(() => be.Allocate(10, DType.Float32));
    }
}
