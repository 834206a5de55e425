using SerEngine.Backends;
using SerEngine.Backends.Cpu;
using static SerEngine.Tests.Engine.FastAgreement;

namespace SerEngine.Tests.Engine;

/// <summary>
/// Packed (inference) Winograd filters on the tiles <see cref="Conv2dWinograd.PackedTileSize"/> chooses: 5×5 filters over
/// at least 64 channels as F(4×4, 5×5) (Conv2dWinograd.F45Packed.cs) against the <c>cpu-reference</c> loops and a double
/// sum, the same bits at both vector widths and any thread count; deep 3×3 filters of one image through the whole-image
/// driver (Conv2dWinograd.Batched.cs on 2×2 tiles) with the bits of the banded F(2×2, 3×3) forward.
/// </summary>
public class CpuFastConv2dWinogradPackedTests
{
    // N, C, H, W, K, R, S, stride, padding (top, bottom, left, right), dilation
    private static readonly Conv2dGeometry[] FiveByFive =
    [
        new(1, 64, 24, 36, 192, 5, 5, 1, 1, 2, 2, 2, 2, 1, 1),  // AttentionFcn's conv2 at batch 1: one band, blocks cut among threads
        new(2, 64, 24, 36, 60, 5, 5, 1, 1, 2, 2, 2, 2, 1, 1),   // two images; 60 channels: idle lanes
        new(1, 80, 17, 21, 48, 5, 5, 1, 1, 1, 2, 0, 3, 1, 1),   // asymmetric padding, odd sizes
        new(1, 64, 9, 40, 20, 5, 5, 1, 1, 2, 2, 2, 2, 1, 1),    // 10 tiles a row, a block with 4 live lanes
        new(3, 96, 5, 6, 16, 5, 5, 1, 1, 0, 0, 0, 0, 1, 1),     // no padding: one output row of two
    ];

    [Fact]
    public void ThePackedTileSizeDependsOnTheFiltersOnly()
    {
        Assert.Equal(4, Conv2dWinograd.PackedTileSize(FiveByFive[0]));
        Assert.Equal(4, Conv2dWinograd.PackedTileSize(FiveByFive[0] with { N = 7, H = 50, W = 80 }));
        Assert.Equal(2, Conv2dWinograd.PackedTileSize(new Conv2dGeometry(1, 32, 24, 36, 64, 5, 5, 1, 1, 2, 2, 2, 2, 1, 1)));   // the hard12 recipe's conv2
        Assert.Equal(2, Conv2dWinograd.PackedTileSize(new Conv2dGeometry(1, 16, 24, 36, 32, 5, 5, 1, 1, 2, 2, 2, 2, 1, 1)));   // README's fcn
        Assert.Equal(2, Conv2dWinograd.PackedTileSize(new Conv2dGeometry(1, 384, 11, 17, 256, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1))); // conv4: 3×3 keep 2×2
        var cpu = new CpuBackend(2);
        Assert.Equal(4, cpu.Conv2dWinogradTile(Conv2dPass.ForwardPacked, FiveByFive[0]));
        Assert.Equal(2, cpu.Conv2dWinogradTile(Conv2dPass.ForwardPacked, new Conv2dGeometry(1, 384, 11, 17, 256, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1)));
    }

    [Fact]
    public void OneImageCutIntoGroupsOfTilesGivesTheBitsOfOneThread()
    {
        // one image whose channel blocks do not split evenly among the threads: each thread takes a share of the groups of six
        // tiles (Conv2dWinograd.Forward); every output is still one FMA chain, so any thread count gives one thread's bits
        var rng = new Generator(57);
        Conv2dGeometry[] shapes =
        [
            new(1, 64, 6, 15, 80, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1),   // FocusCalibrationNet conv5: five blocks
            new(1, 32, 12, 31, 48, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1),  // conv3 unpooled: three blocks, 2×2 tiles
            new(1, 8, 13, 38, 16, 3, 3, 1, 1, 0, 1, 2, 0, 1, 1),   // one block, a share ending inside a tile row
        ];
        foreach (var g in shapes)
        {
            var x = Random(rng, g.N * g.C * g.H * g.W);
            var w = Random(rng, g.K * g.C * 9);
            var bias = Random(rng, g.K);
            var expected = Output(g.N * g.K * g.OutH * g.OutW);
            Ref.Conv2dForwardRelu(x, w, bias, expected, g);
            float[]? one = null;
            foreach (int threads in new[] { 1, 2, 3 })
            {
                var fast = new CpuBackend(threads);
                var y = Output(g.N * g.K * g.OutH * g.OutW);
                fast.Conv2dForwardPacked(x, fast.PackConv2dWeight(w, g), bias, y, g, relu: true);
                Agree(expected, y, $"{g} threads={threads}");
                one ??= Read(y);
                Assert.Equal(one, Read(y));
            }
        }
    }

    [Fact]
    public unsafe void PackedFourByFourTilesAgreeWithTheReferenceAndGiveTheSameBitsAtBothWidths()
    {
        var rng = new Generator(4547);
        foreach (var g in FiveByFive)
        {
            Assert.Equal(4, Conv2dWinograd.PackedTileSize(g));
            var x = RandomArray(rng, g.N * g.C * g.H * g.W);
            var w = RandomArray(rng, g.K * g.C * 25);
            var bias = RandomArray(rng, g.K);
            var panels = Conv2dWinograd.Panels(w, g, 2);
            float[] Forward(int threads, bool wide, bool relu)
            {
                var y = new float[g.N * g.K * g.OutH * g.OutW];
                Array.Fill(y, float.NaN);
                Conv2dWinograd.ForwardPacked(x, (float*)CpuBackend.Align64(panels), bias, y, g, relu, threads, wide); // pinned
                return y;
            }
            var y2 = Forward(2, wide: true, relu: false);
            Assert.Equal(y2, Forward(2, wide: false, relu: false));
            Assert.Equal(y2, Forward(1, wide: true, relu: false));
            Assert.Equal(y2, Forward(3, wide: false, relu: false));
            var expected = Output(y2.Length);
            var expectedRelu = Output(y2.Length);
            Ref.Conv2dForward(ToRef(x), ToRef(w), ToRef(bias), expected, g);
            Ref.Conv2dForwardRelu(ToRef(x), ToRef(w), ToRef(bias), expectedRelu, g);
            Agree(Read(expected), y2, $"packed F(4×4, 5×5) forward {g}");
            Agree(Read(expectedRelu), Forward(2, wide: true, relu: true), $"packed F(4×4, 5×5) forward + ReLU {g}");
            // through the backend, as the fused inference of AttentionFcn calls it
            var fast = new CpuBackend(2);
            var yb = Output(y2.Length);
            fast.Conv2dForwardPacked(ToRef(x), fast.PackConv2dWeight(ToRef(w), g), ToRef(bias), yb, g, relu: true);
            Agree(Read(expectedRelu), Read(yb), $"packed F(4×4, 5×5) through the backend {g}");
        }
    }

    [Fact]
    public unsafe void PackedFourByFourTilesStayWithinTheSharedToleranceAtAttentionFcnsConv2()
    {
        // the norm-wise error against a double-precision sum at AttentionFcn's conv2 (one image)
        var rng = new Generator(4548);
        var g = FiveByFive[0];
        var x = RandomArray(rng, g.N * g.C * g.H * g.W);
        var w = RandomArray(rng, g.K * g.C * 25);
        var y = new float[g.N * g.K * g.OutH * g.OutW];
        var panels = Conv2dWinograd.Panels(w, g, 2);
        Conv2dWinograd.ForwardPacked(x, (float*)CpuBackend.Align64(panels), null, y, g, relu: false, 2); // pinned
        double diff = 0, norm = 0, worst = 0;
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
                                double p = (double)w[((k * g.C + c) * 5 + i) * 5 + j] * x[(c * g.H + ih) * g.W + iw];
                                sum += p;
                                scale += Math.Abs(p);
                            }
                    double d = y[(k * g.OutH + oh) * g.OutW + ow] - sum;
                    diff += d * d;
                    norm += sum * sum;
                    worst = Math.Max(worst, Math.Abs(d) / scale);
                }
        double relative = Math.Sqrt(diff / norm);
        Assert.True(relative < 1e-4, $"norm-wise error {relative:G3}, worst {worst:G3} of Σ|w·x|");
        Assert.True(worst < 4e-6, $"worst error {worst:G3} of Σ|w·x| (the bound F(2×2, 5×5) is held to)");
    }

    [Fact]
    public unsafe void OneImageOfDeepFiltersTakesTheWholeImageDriverWithTheBitsOfTheBandedOne()
    {
        // AttentionFcn's conv3 and conv4 at batch 1 (11×17: edge tiles right and bottom); 40 tiles a row, a block with
        // 12 live lanes, asymmetric padding; one tile row of 3 tiles
        Conv2dGeometry[] shapes =
        [
            new(1, 192, 11, 17, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1),
            new(1, 384, 11, 17, 48, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1),
            new(1, 130, 9, 80, 60, 3, 3, 1, 1, 0, 1, 2, 0, 1, 1),
            new(1, 128, 3, 6, 16, 3, 3, 1, 1, 0, 0, 1, 1, 1, 1),
        ];
        var rng = new Generator(4549);
        foreach (var g in shapes)
        {
            var x = RandomArray(rng, g.N * g.C * g.H * g.W);
            var w = RandomArray(rng, g.K * g.C * g.R * g.S);
            var bias = RandomArray(rng, g.K);
            var panels = Conv2dWinograd.Panels(w, g, 2);
            float[] Run(bool whole, int threads, bool wide)
            {
                var y = new float[g.N * g.K * g.OutH * g.OutW];
                Array.Fill(y, float.NaN);
                float* u = (float*)CpuBackend.Align64(panels); // pinned
                if (whole) Conv2dWinograd.ForwardPacked(x, u, bias, y, g, relu: true, threads, wide);
                else Conv2dWinograd.Forward(x, u, bias, y, g, relu: true, threads, wide);
                return y;
            }
            var banded = Run(false, 2, wide: false);
            Assert.Equal(banded, Run(true, 2, wide: true));
            Assert.Equal(banded, Run(true, 2, wide: false));
            Assert.Equal(banded, Run(true, 1, wide: true));
            Assert.Equal(banded, Run(true, 3, wide: false));
            var expected = Output(banded.Length);
            Ref.Conv2dForwardRelu(ToRef(x), ToRef(w), ToRef(bias), expected, g);
            Agree(Read(expected), banded, $"packed whole-image forward {g}");
        }
    }
}
