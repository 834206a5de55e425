using SerEngine.Backends;
using SerEngine.Backends.Cpu;
using static SerEngine.Tests.Engine.FastAgreement;

namespace SerEngine.Tests.Engine;

/// <summary>
/// Backend.LinearBackwardInputAdd (a linear layer's dx added by its GEMM into the gradient x already has): on the fast
/// CPU backend, bit for bit the product then a Binary add, for FocusCalibrationNet's shapes, ragged and tail sizes, the
/// 256-column edge of one k slab (above it the backend declines), on one to three threads and every kernel width;
/// and through the graph (x feeding three layers and a residual, as the attention block's input does), every gradient
/// bit for bit that of the same graph on a backend without the fused add.
/// </summary>
public class LinearBackwardInputAddTests
{
    /// <summary>The fast backend with the fused add switched off: the graph's product-then-add path.</summary>
    private sealed class NoFusedAdd(int threads) : CpuBackend(threads)
    {
        public override bool LinearBackwardInputAdd(Storage dy, Storage w, Storage dx, int m, int outF, int inF) => false;
    }

    /// <summary>The fast backend, counting the fused adds it made.</summary>
    private sealed class Counting(int threads) : CpuBackend(threads)
    {
        public int Fused { get; private set; }

        public override bool LinearBackwardInputAdd(Storage dy, Storage w, Storage dx, int m, int outF, int inF)
        {
            bool done = base.LinearBackwardInputAdd(dy, w, dx, m, outF, inF);
            if (done) Fused++;
            return done;
        }
    }

    [Theory]
    [InlineData(480, 256, 480)]
    [InlineData(480, 256, 256)]
    [InlineData(97, 255, 131)]
    [InlineData(13, 17, 70)]
    [InlineData(200, 64, 33)]
    [InlineData(480, 257, 480)]
    [InlineData(1, 64, 80)]
    public void AddsTheProductToDxBitForBitOrDeclines(int m, int outF, int inF)
    {
        var rng = new Generator((ulong)(m * 7 + outF * 5 + inF));
        var dy = Random(rng, m * outF);
        var w = Random(rng, outF * inF);
        var dx0 = RandomArray(rng, m * inF);
        foreach (var kind in new[] { GemmKernelKind.Scalar, GemmKernelKind.Vector256, GemmKernelKind.Vector512 })
            foreach (int threads in new[] { 1, 2, 3 })
            {
                var fast = new CpuBackend { Threads = threads, GemmKernel = kind };
                var product = Ref.Allocate(m * inF, DType.Float32);
                fast.Gemm(false, false, 1, m, inF, outF, 1f, dy, 0, w, 0, 0f, product, 0);
                var expected = ToRef(dx0);
                fast.Binary(BinaryOp.Add, expected, new Shape(m, inF), product, new Shape(m, inF), expected, new Shape(m, inF));
                var dx = ToRef(dx0);
                bool done = fast.LinearBackwardInputAdd(dy, w, dx, m, outF, inF);
                string what = $"{kind} t{threads} {m}x{inF}x{outF}";
                if (!done)
                {
                    Assert.True(outF > CpuBackend.GemmKC || m == 1, $"declined: {what}");
                    Assert.True(Read(dx).AsSpan().SequenceEqual(dx0), $"declined but changed dx: {what}");
                    continue;
                }
                Assert.True(outF <= CpuBackend.GemmKC, $"fused over more than one k slab: {what}");
                FastAgreement.SameBits(Read(expected), Read(dx), $"{what}: dx (against the product then the add)");
            }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void GraphGradientsAreTheProductThenAddOnesBitForBit(int threads)
    {
        (float[] Dx, float[][] Dw) Run(Backend be)
        {
            var rng = new Generator(17);
            var x = Tensor.RandomNormal(new Shape(4, 15, 96), rng, backend: be);
            x.RequiresGrad = true;
            var ws = Enumerable.Range(0, 4).Select(_ => { var w = Tensor.RandomNormal(new Shape(64, 96), rng, backend: be); w.RequiresGrad = true; return w; }).ToArray();
            var up = Enumerable.Range(0, 4).Select(_ => Tensor.RandomNormal(new Shape(4, 15, 64), rng, backend: be)).ToArray();
            var r = Tensor.RandomNormal(new Shape(4, 15, 96), rng, backend: be);
            // x feeds three layers at once (LinearMany), a fourth layer and a residual: four contributions to its gradient
            var ys = Ops.LinearMany(x, [ws[0], ws[1], ws[2]], [null, null, null]);
            var y3 = Ops.Linear(x, ws[3]);
            var loss = (ys[0] * up[0]).Sum() + (ys[1] * up[1]).Sum() + (ys[2] * up[2]).Sum() + (y3 * up[3]).Sum() + ((x * 1f) * r).Sum();
            loss.Backward();
            return (x.Grad!.ToArray(), [.. ws.Select(w => w.Grad!.ToArray())]);
        }
        var plain = Run(new NoFusedAdd(threads));
        var counting = new Counting(threads);
        var fused = Run(counting);
        Assert.True(counting.Fused >= 2, $"{counting.Fused} fused adds: the graph did not offer its pending sums");
        Assert.True(plain.Dx.AsSpan().SequenceEqual(fused.Dx), "dx differs");
        for (int l = 0; l < 4; l++) Assert.True(plain.Dw[l].AsSpan().SequenceEqual(fused.Dw[l]), $"dw {l} differs");
    }
}
