using SerEngine.Backends;
using SerEngine.Backends.Cpu;
using static SerEngine.Tests.Engine.FastAgreement;

namespace SerEngine.Tests.Engine;

/// <summary>
/// The Winograd backward-weight on 4×4 tiles (Conv2dWinograd.BackwardWeight4.cs: F(4×4, 3×3) and F(4×4, 5×5)) against
/// the <c>cpu-reference</c> loops at shapes with edge tiles, asymmetric padding, channels off the lanes and the micro-tile,
/// bands of several images and one image, on 1–3 threads; its 512- and 256-bit micro-tiles and its thread counts give the
/// same bits; each dw's error against a double sum stays within a bound relative to Σ|x·dy| (larger than 2×2 tiles'); and
/// which layers <see cref="Conv2dWinograd.WeightTileSize"/> gives 4×4 tiles.
/// </summary>
public class CpuFastConv2dWinogradWeight4Tests
{
    // N, C, H, W, K, R, S, stride, padding (top, bottom, left, right), dilation
    private static readonly Conv2dGeometry[] Shapes =
    [
        new(2, 48, 11, 17, 30, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1),    // AttentionFcn's 11×17 maps: edge tiles right and bottom, 30 out
        new(1, 33, 10, 13, 25, 3, 3, 1, 1, 0, 1, 1, 0, 1, 1),    // one image, odd everything, asymmetric padding
        new(5, 20, 6, 7, 13, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1),      // small maps: bands of several images
        new(2, 40, 9, 70, 20, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1),     // 18 tiles a row: three groups of 8
        new(2, 64, 12, 18, 50, 5, 5, 1, 1, 2, 2, 2, 2, 1, 1),    // F(4×4, 5×5): a 64-column micro-tile, 50 out
        new(3, 17, 13, 11, 9, 5, 5, 1, 1, 2, 1, 0, 2, 1, 1),     // F(4×4, 5×5): asymmetric padding, off the lanes
        new(7, 16, 6, 7, 13, 5, 5, 1, 1, 2, 2, 2, 2, 1, 1),      // F(4×4, 5×5): bands of several images
    ];

    [Fact]
    public void LargeTileBackwardWeightAgreesWithTheReference()
    {
        var rng = new Generator(4401);
        foreach (var g in Shapes)
        {
            var x = RandomArray(rng, g.N * g.C * g.H * g.W);
            var dy = RandomArray(rng, g.N * g.K * g.OutH * g.OutW);
            var expected = Output(g.K * g.C * g.R * g.S);
            Ref.Conv2dBackwardWeight(ToRef(x), ToRef(dy), expected, g);
            foreach (bool batched in new[] { false, true })
                foreach (int threads in new[] { 1, 2, 3 })
                {
                    var dw = new float[g.K * g.C * g.R * g.S];
                    Conv2dWinograd.BackwardWeight(x, dy, dw, g, threads, wide: threads != 2, m: 4, batched);
                    Agree(Read(expected), dw, $"4×4-tile backward-weight {g} on {threads} threads (batched: {batched})");
                }
        }
    }

    [Fact]
    public void WideAndNarrowMicroTilesThreadCountsAndBothDriversGiveTheSameBits()
    {
        // the 512-bit micro-tiles against the 256-bit ones, 1–3 threads, the banded driver against the batch-wide one
        var rng = new Generator(4402);
        foreach (var g in Shapes)
        {
            var x = RandomArray(rng, g.N * g.C * g.H * g.W);
            var dy = RandomArray(rng, g.N * g.K * g.OutH * g.OutW);
            float[] Run(int threads, bool wide, bool batched)
            {
                var dw = new float[g.K * g.C * g.R * g.S];
                Conv2dWinograd.BackwardWeight(x, dy, dw, g, threads, wide, m: 4, batched);
                return dw;
            }
            var narrow = Run(2, wide: false, batched: false);
            Assert.Equal(narrow, Run(2, wide: true, batched: false));
            Assert.Equal(narrow, Run(1, wide: true, batched: false));
            Assert.Equal(narrow, Run(3, wide: false, batched: false));
            Assert.Equal(narrow, Run(2, wide: false, batched: true));
            Assert.Equal(narrow, Run(2, wide: true, batched: true));
            Assert.Equal(narrow, Run(1, wide: true, batched: true));
            Assert.Equal(narrow, Run(3, wide: false, batched: true));
        }
    }

    [Fact]
    public void LargeTilesAreTakenForDeepThreeByThreeAndFiveByFiveFromSixtyFourChannels()
    {
        Conv2dGeometry Layer(int n, int c, int k, int r, int h, int w) => new(n, c, h, w, k, r, r, 1, 1, r / 2, r / 2, r / 2, r / 2, 1, 1);
        Assert.Equal(4, Conv2dWinograd.WeightTileSize(Layer(16, 384, 256, 3, 11, 17)));  // AttentionFcn's default widths
        Assert.Equal(4, Conv2dWinograd.WeightTileSize(Layer(16, 192, 384, 3, 11, 17)));
        Assert.Equal(4, Conv2dWinograd.WeightTileSize(Layer(16, 64, 192, 5, 24, 36)));
        Assert.Equal(2, Conv2dWinograd.WeightTileSize(Layer(16, 32, 64, 5, 24, 36)));    // its scratch recipe's 5×5
        Assert.Equal(2, Conv2dWinograd.WeightTileSize(Layer(16, 128, 128, 3, 11, 17)));  // and its 3×3 layers
        Assert.Equal(2, Conv2dWinograd.WeightTileSize(Layer(16, 64, 128, 3, 11, 17)));
        Assert.Equal(2, Conv2dWinograd.WeightTileSize(Layer(16, 16, 32, 5, 24, 36)));    // the built-in recipe's 5×5
        Assert.Equal(2, Conv2dWinograd.WeightTileSize(Layer(16, 48, 48, 3, 11, 17)));    // and 3×3
        Assert.Equal(2, Conv2dWinograd.WeightTileSize(Layer(1, 384, 256, 3, 11, 17)));   // one image
    }

    [Fact]
    public void TheRoutedBackwardWeightOfADeepLayerTakesLargeTilesAndAgreesWithTheReference()
    {
        // AttentionFcn's conv4 in small (two images, 200 output channels: off the lanes) and its conv2 (two images) through the backend
        if (Conv2dIsa.Host != Conv2dIsa.Avx2Fma) return;
        var rng = new Generator(4404);
        Conv2dGeometry[] shapes = [new(2, 192, 11, 17, 200, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1), new(2, 64, 24, 36, 192, 5, 5, 1, 1, 2, 2, 2, 2, 1, 1)];
        var fast = new CpuBackend(2);
        foreach (var g in shapes)
        {
            Assert.Equal(g.R == 3 ? Conv2dPath.WinogradF23 : Conv2dPath.WinogradF25, fast.ChooseConv2dPath(Conv2dPass.BackwardWeight, g));
            Assert.Equal(4, fast.Conv2dWinogradTile(Conv2dPass.BackwardWeight, g));
            var x = Random(rng, g.N * g.C * g.H * g.W);
            var dy = Random(rng, g.N * g.K * g.OutH * g.OutW);
            var (expected, actual) = (Output(g.K * g.C * g.R * g.S), Output(g.K * g.C * g.R * g.S));
            Ref.Conv2dBackwardWeight(x, dy, expected, g);
            fast.Conv2dBackwardWeight(x, dy, actual, g);
            Agree(expected, actual, $"routed backward-weight {g}");
        }
    }

    [Theory]
    [InlineData(3, 2, 4e-7)]
    [InlineData(3, 4, 2e-6)]
    [InlineData(5, 2, 1.2e-5)]
    [InlineData(5, 4, 5e-6)]
    public void LargeTilesStayCloseToADoubleSum(int r, int m, double bound)
    {
        // each dw[k, c, i, j]'s error against a double-precision Σ_n Σ_pixels x·dy, relative to Σ|x·dy|
        var rng = new Generator(4403);
        int pad = r / 2;
        var g = new Conv2dGeometry(4, 64, 11, 17, 24, r, r, 1, 1, pad, pad, pad, pad, 1, 1);
        var x = RandomArray(rng, g.N * g.C * g.H * g.W);
        var dy = RandomArray(rng, g.N * g.K * g.OutH * g.OutW);
        var dw = new float[g.K * g.C * r * r];
        Conv2dWinograd.BackwardWeight(x, dy, dw, g, threads: 2, wide: true, m);
        double worst = 0;
        for (int k = 0; k < g.K; k++)
            for (int c = 0; c < g.C; c++)
                for (int i = 0; i < r; i++)
                    for (int j = 0; j < r; j++)
                    {
                        double sum = 0, scale = 0;
                        for (int n = 0; n < g.N; n++)
                            for (int oh = 0; oh < g.OutH; oh++)
                                for (int ow = 0; ow < g.OutW; ow++)
                                {
                                    int ih = oh + i - pad, iw = ow + j - pad;
                                    if ((uint)ih >= (uint)g.H || (uint)iw >= (uint)g.W) continue;
                                    double p = (double)x[((n * g.C + c) * g.H + ih) * g.W + iw] * dy[((n * g.K + k) * g.OutH + oh) * g.OutW + ow];
                                    sum += p;
                                    scale += Math.Abs(p);
                                }
                        worst = Math.Max(worst, Math.Abs(dw[((k * g.C + c) * r + i) * r + j] - sum) / scale);
                    }
        Assert.True(worst < bound, $"F({m}×{m}, {r}×{r}): worst error {worst:G3} of Σ|x·dy|");
    }
}
