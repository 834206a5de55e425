using SerEngine.Backends;
using SerEngine.Backends.Cpu;
using static SerEngine.Tests.Engine.FastAgreement;

namespace SerEngine.Tests.Engine;

/// <summary>
/// The F(4×4, 3×3) tiles of the per-call Winograd forward passes (Conv2dWinograd.F43.cs, Conv2dWinograd.Batched.cs:
/// 3×3 filters over at least <see cref="Conv2dWinograd.LargeTileMinChannels"/> input channels and several images):
/// forwards and backward-inputs against the <c>cpu-reference</c> loops, the same bits with 512-bit and 256-bit
/// products and any thread count, the error of the last image against a double sum, and which convolutions keep
/// F(2×2, 3×3) (packed filters among them).
/// </summary>
public class CpuFastConv2dWinogradF43Tests
{
    // N, C, H, W, K, R, S, stride, padding (top, bottom, left, right), dilation
    private static readonly Conv2dGeometry[] Large =
    [
        new(2, 192, 11, 17, 32, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1),   // AttentionFcn's 11×17 maps: edge tiles on the right and bottom
        new(1, 256, 9, 13, 48, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1),   // one image: F(2×2, 3×3)
        new(2, 256, 9, 13, 48, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1),   // odd sizes
        new(3, 200, 6, 5, 60, 3, 3, 1, 1, 0, 1, 2, 0, 1, 1),    // asymmetric padding, a block with 12 live lanes
        new(2, 192, 10, 70, 32, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1),  // 18 tiles a row: three groups of 8
        new(2, 224, 4, 4, 16, 3, 3, 1, 1, 0, 0, 0, 0, 1, 1),    // one 2×2 edge tile per image
    ];

    [Fact]
    public void LargeTilesAreTakenFromOneHundredNinetyTwoChannelsOfThreeByThreeOverSeveralImages()
    {
        Assert.Equal(4, Conv2dWinograd.TileSize(Large[0]));
        Assert.Equal(2, Conv2dWinograd.TileSize(Large[1]));                                                            // one image
        Assert.Equal(2, Conv2dWinograd.TileSize(new Conv2dGeometry(2, 80, 11, 17, 32, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1))); // FocusCalibrationNet's widest
        Assert.Equal(2, Conv2dWinograd.TileSize(new Conv2dGeometry(16, 128, 11, 17, 128, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1))); // AttentionFcn's scratch recipe
        Assert.Equal(2, Conv2dWinograd.TileSize(new Conv2dGeometry(1, 192, 24, 36, 64, 5, 5, 1, 1, 2, 2, 2, 2, 1, 1))); // 5×5, one image
    }

    [Fact]
    public void PackedFiltersKeepSmallTilesAndAgreeWithTheReference()
    {
        var rng = new Generator(4301);
        foreach (var g in Large)
        {
            var x = Random(rng, g.N * g.C * g.H * g.W);
            var w = Random(rng, g.K * g.C * 9);
            var bias = Random(rng, g.K);
            var expected = Output(g.N * g.K * g.OutH * g.OutW);
            Ref.Conv2dForwardRelu(x, w, bias, expected, g);
            var fast = new CpuBackend(2);
            Assert.Equal(Conv2dPath.WinogradF23, fast.ChooseConv2dPath(Conv2dPass.ForwardPacked, g));
            var y = Output(expected.Length);
            fast.Conv2dForwardPacked(x, fast.PackConv2dWeight(w, g), bias, y, g, relu: true);
            Agree(expected, y, $"packed {g}");
        }
    }

    [Fact]
    public void PerCallForwardAndBackwardInputAgreeWithTheReferenceAndAcrossWidths()
    {
        var rng = new Generator(4302);
        foreach (var g in Large)
        {
            var x = RandomArray(rng, g.N * g.C * g.H * g.W);
            var w = RandomArray(rng, g.K * g.C * 9);
            var bias = RandomArray(rng, g.K);
            var dy = RandomArray(rng, g.N * g.K * g.OutH * g.OutW);
            float[] Forward(bool wide, int threads)
            {
                var y = new float[dy.Length];
                Conv2dWinograd.ForwardPerCall(x, w, bias, y, g, relu: false, threads, wide);
                return y;
            }
            var y1 = Forward(false, 2);
            Assert.Equal(y1, Forward(true, 2));
            Assert.Equal(y1, Forward(true, 1));
            var expected = Output(dy.Length);
            Ref.Conv2dForward(ToRef(x), ToRef(w), ToRef(bias), expected, g);
            Agree(Read(expected), y1, $"F(4×4, 3×3) per-call forward {g}");
            // the adjoint of a convolution with K ≥ 192 output channels reads K input channels: large tiles as well
            var wide = new Conv2dGeometry(g.N, 16, g.H, g.W, g.C, 3, 3, 1, 1, g.PadTop, g.PadBottom, g.PadLeft, g.PadRight, 1, 1);
            var xa = RandomArray(rng, wide.N * wide.C * wide.H * wide.W);
            var wa = RandomArray(rng, wide.K * wide.C * 9);
            var dya = RandomArray(rng, wide.N * wide.K * wide.OutH * wide.OutW);
            float[] BackwardInput(bool w512, int threads)
            {
                var dx = new float[xa.Length];
                Conv2dWinograd.BackwardInput(dya, wa, dx, wide, threads, w512);
                return dx;
            }
            var dx1 = BackwardInput(false, 2);
            Assert.Equal(dx1, BackwardInput(true, 2));
            Assert.Equal(dx1, BackwardInput(true, 3));
            var dxExpected = Output(xa.Length);
            Ref.Conv2dBackwardInput(ToRef(dya), ToRef(wa), dxExpected, wide);
            Agree(Read(dxExpected), dx1, $"F(4×4, 3×3) backward-input {wide}");
        }
    }

    [Fact]
    public void TrainingPassesOfADeepLayerRunLargeTiles()
    {
        // AttentionFcn's conv5 at batch 2 (192 output channels: its adjoint reads 192): the forward and backward-input on the F(2×2, 3×3) path with 4×4 tiles, against the reference
        var rng = new Generator(4303);
        var g = new Conv2dGeometry(2, 256, 11, 17, 192, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1);
        var fast = new CpuBackend(2);
        Assert.Equal(Conv2dPath.WinogradF23, fast.ChooseConv2dPath(Conv2dPass.Forward, g));
        Assert.Equal(Conv2dPath.WinogradF23, fast.ChooseConv2dPath(Conv2dPass.BackwardInput, g));
        var x = Random(rng, g.N * g.C * g.H * g.W);
        var w = Random(rng, g.K * g.C * 9);
        var bias = Random(rng, g.K);
        var dy = Random(rng, g.N * g.K * g.OutH * g.OutW);
        var y = Output(dy.Length);
        var yf = Output(dy.Length);
        Ref.Conv2dForwardRelu(x, w, bias, y, g);
        fast.Conv2dForwardRelu(x, w, bias, yf, g);
        Agree(y, yf, "forward relu");
        var dx = Output(g.N * g.C * g.H * g.W);
        var dxf = Output(dx.Length);
        Ref.Conv2dBackwardInput(dy, w, dx, g);
        fast.Conv2dBackwardInput(dy, w, dxf, g);
        Agree(dx, dxf, "backward-input");
    }

    [Fact]
    public void LargeTilesStayCloseToADoubleSum()
    {
        // each output's error against a double-precision sum, relative to Σ|w·x| (F(2×2, 5×5), with the same points, is held to 4e-6)
        var rng = new Generator(4304);
        var g = new Conv2dGeometry(2, 192, 11, 17, 32, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1);
        var xs = RandomArray(rng, g.N * g.C * g.H * g.W);
        var ws = RandomArray(rng, g.K * g.C * 9);
        var actual = new float[g.N * g.K * g.OutH * g.OutW];
        Conv2dWinograd.ForwardPerCall(xs, ws, null, actual, g, relu: false, threads: 2);
        double worst = 0;
        for (int k = 0; k < g.K; k++)
            for (int oh = 0; oh < g.OutH; oh++)
                for (int ow = 0; ow < g.OutW; ow++)
                {
                    double sum = 0, scale = 0;
                    for (int c = 0; c < g.C; c++)
                        for (int i = 0; i < 3; i++)
                            for (int j = 0; j < 3; j++)
                            {
                                int ih = oh + i - 1, iw = ow + j - 1;
                                if ((uint)ih >= (uint)g.H || (uint)iw >= (uint)g.W) continue;
                                double p = (double)ws[((k * g.C + c) * 3 + i) * 3 + j] * xs[((g.N - 1) * g.C + c) * g.H * g.W + ih * g.W + iw];
                                sum += p;
                                scale += Math.Abs(p);
                            }
                    worst = Math.Max(worst, Math.Abs(actual[(((g.N - 1) * g.K + k) * g.OutH + oh) * g.OutW + ow] - sum) / scale);
                }
        Assert.True(worst < 4e-6, $"worst error {worst:G3} of Σ|w·x|");
    }
}
