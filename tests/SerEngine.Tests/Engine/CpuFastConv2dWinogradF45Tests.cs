using SerEngine.Backends;
using SerEngine.Backends.Cpu;
using static SerEngine.Tests.Engine.FastAgreement;

namespace SerEngine.Tests.Engine;

/// <summary>
/// The per-call 5×5 forward over several images as Winograd F(4×4, 5×5) (Conv2dWinograd.F45.cs, Conv2dWinograd.F45Driver.cs):
/// forward (bias, ReLU), and backward-input (still F(2×2, 5×5)) beside it, against the <c>cpu-reference</c> loops at the shared norm-wise tolerance, at rows
/// of fewer than 8 tiles, of 9 and 10 (a last run overlapping the one before), odd and asymmetric padding, output channel
/// blocks with idle lanes, on 1–3 threads; the same bits with 256-bit and 512-bit products.
/// </summary>
public class CpuFastConv2dWinogradF45Tests
{
    // N, C, H, W, K, R, S, stride, padding (top, bottom, left, right), dilation
    private static readonly Conv2dGeometry[] Shapes =
    [
        new(2, 32, 20, 24, 64, 5, 5, 1, 1, 2, 2, 2, 2, 1, 1),   // 6 tiles a row
        new(3, 16, 17, 21, 48, 5, 5, 1, 1, 1, 2, 0, 3, 1, 1),   // asymmetric padding, odd sizes
        new(2, 64, 24, 36, 60, 5, 5, 1, 1, 2, 2, 2, 2, 1, 1),   // AttentionFcn's maps (9 tiles a row); 60 channels: idle lanes
        new(4, 7, 9, 40, 20, 5, 5, 1, 1, 2, 2, 2, 2, 1, 1),     // 10 tiles a row, 20 channels
        new(2, 5, 5, 6, 16, 5, 5, 1, 1, 0, 0, 0, 0, 1, 1),      // no padding: one output row of two
        new(2, 24, 13, 11, 8, 5, 5, 1, 1, 2, 2, 2, 2, 1, 1),    // 8 output channels: half a block
        new(3, 12, 24, 17, 64, 5, 5, 1, 1, 2, 2, 2, 2, 1, 1),   // AttentionFcn's training maps (5 tiles a row), 12 channels in
        new(2, 40, 11, 23, 96, 5, 5, 1, 1, 1, 3, 2, 1, 1, 1),   // 6 tiles a row, asymmetric padding
    ];

    [Fact]
    public void FourByFourTilesAgreeWithTheReferenceAndGiveTheSameBitsAtBothWidths()
    {
        var rng = new Generator(4545);
        foreach (var g in Shapes)
        {
            Assert.Equal(4, Conv2dWinograd.TileSize(g));
            Assert.Equal(2, Conv2dWinograd.TileSize(Conv2dAdjoint.Geometry(g), adjoint: true));
            var x = RandomArray(rng, g.N * g.C * g.H * g.W);
            var w = RandomArray(rng, g.K * g.C * g.R * g.S);
            var bias = RandomArray(rng, g.K);
            var dy = RandomArray(rng, g.N * g.K * g.OutH * g.OutW);
            var (expectedY, expectedRelu, expectedDx) = (Output(dy.Length), Output(dy.Length), Output(x.Length));
            Ref.Conv2dForward(ToRef(x), ToRef(w), ToRef(bias), expectedY, g);
            Ref.Conv2dForwardRelu(ToRef(x), ToRef(w), ToRef(bias), expectedRelu, g);
            Ref.Conv2dBackwardInput(ToRef(dy), ToRef(w), expectedDx, g);
            float[] Forward(int threads, bool wide, bool relu)
            {
                var y = new float[dy.Length];
                Array.Fill(y, float.NaN);
                Conv2dWinograd.ForwardPerCall(x, w, bias, y, g, relu, threads, wide);
                return y;
            }
            float[] BackwardInput(int threads, bool wide)
            {
                var dx = new float[x.Length];
                Array.Fill(dx, float.NaN);
                Conv2dWinograd.BackwardInput(dy, w, dx, g, threads, wide);
                return dx;
            }
            var y2 = Forward(2, wide: true, relu: false);
            Assert.Equal(y2, Forward(2, wide: false, relu: false));
            Assert.Equal(y2, Forward(3, wide: false, relu: false));
            var dx2 = BackwardInput(2, wide: true);
            Assert.Equal(dx2, BackwardInput(2, wide: false));
            Assert.Equal(dx2, BackwardInput(1, wide: true));
            Agree(Read(expectedY), y2, $"F(4×4, 5×5) forward {g}");
            Agree(Read(expectedDx), dx2, $"F(4×4, 5×5) backward-input {g}");
            foreach (int threads in new[] { 1, 3 })
                Agree(Read(expectedRelu), Forward(threads, wide: threads == 1, relu: true), $"F(4×4, 5×5) forward + ReLU {g} on {threads} threads");
        }
    }

    [Fact]
    public void FourByFourTilesStayWithinTheSharedToleranceAtTheBenchShape()
    {
        // the norm-wise error against a double-precision sum at conv2d.fwd.16x64x24x36.k5x192's geometry (two images of it)
        var rng = new Generator(4546);
        var g = new Conv2dGeometry(2, 64, 24, 36, 192, 5, 5, 1, 1, 2, 2, 2, 2, 1, 1);
        var x = RandomArray(rng, g.N * g.C * g.H * g.W);
        var w = RandomArray(rng, g.K * g.C * 25);
        var y = new float[g.N * g.K * g.OutH * g.OutW];
        Conv2dWinograd.ForwardPerCall(x, w, null, y, g, relu: false, 2);
        double diff = 0, norm = 0, worst = 0;
        for (int n = 0; n < g.N; n++)
            for (int k = 0; k < g.K; k++)
                for (int oh = 0; oh < g.OutH; oh++)
                    for (int ow = 0; ow < g.OutW; ow++)
                    {
                        double sum = 0, scale = 0;
                        for (int c = 0; c < g.C; c++)
                            for (int i = 0; i < 5; i++)
                                for (int j = 0; j < 5; j++)
                                {
                                    int ih = oh + i - 2, iw = ow + j - 2;
                                    if ((uint)ih >= (uint)g.H || (uint)iw >= (uint)g.W) continue;
                                    double p = (double)w[((k * g.C + c) * 5 + i) * 5 + j] * x[((n * g.C + c) * g.H + ih) * g.W + iw];
                                    sum += p;
                                    scale += Math.Abs(p);
                                }
                        double d = y[((n * g.K + k) * g.OutH + oh) * g.OutW + ow] - sum;
                        diff += d * d;
                        norm += sum * sum;
                        worst = Math.Max(worst, Math.Abs(d) / scale);
                    }
        double relative = Math.Sqrt(diff / norm);
        Assert.True(relative < 1e-4, $"norm-wise error {relative:G3}, worst {worst:G3} of Σ|w·x|");
    }
}
