using SerEngine.Backends;
using SerEngine.Backends.Cpu;
using static SerEngine.Tests.Engine.FastAgreement;

namespace SerEngine.Tests.Engine;

/// <summary>
/// The Winograd backward-weight (Conv2dWinograd.BackwardWeight.cs) against the <c>cpu-reference</c>
/// loops, norm-wise to 1e-4 relative, at F(2×2, 5×5) and F(2×2, 3×3) shapes with odd output sizes,
/// asymmetric padding, input channels off the 16 lanes, output channels off the 6-row micro-tile and
/// the 8-channel task unit, one image, on 1–3 threads; its 512- and 256-bit micro-tiles and its thread
/// counts give the same bits, as do the forward's products with paired channel blocks; bands of several rows,
/// chunks of channel blocks and bands of several images agree and give the same bits; the routing takes
/// it for AttentionFcn's 5×5 layer; the 16-tile (512-bit) input transforms give the bits of the 8-tile ones.
/// </summary>
public class CpuFastConv2dWinogradWeightTests
{
    // N, C, H, W, K, R, S, stride, padding (top, bottom, left, right), dilation
    private static readonly Conv2dGeometry[] Shapes =
    [
        new(1, 20, 9, 13, 30, 5, 5, 1, 1, 2, 2, 2, 2, 1, 1),    // one image, idle lanes, odd output
        new(3, 16, 7, 11, 7, 5, 5, 1, 1, 2, 1, 0, 2, 1, 1),     // asymmetric padding, fewer channels than a micro-tile
        new(2, 64, 12, 18, 50, 5, 5, 1, 1, 2, 2, 2, 2, 1, 1),   // a 64-column micro-tile, 50 output channels
        new(2, 5, 6, 5, 9, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1),       // F(2×2, 3×3), 5 channels
        new(1, 33, 10, 17, 25, 3, 3, 1, 1, 0, 1, 1, 0, 1, 1),   // F(2×2, 3×3), odd everything
        new(2, 32, 7, 9, 32, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1),    // 32 output channels: tasks of 16 on 2 threads (rows padded to 18)
        new(3, 48, 5, 7, 20, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1),    // 20 output channels: tasks of 8 and 16 (2 threads), 8, 8 and 4 live (3)
    ];

    [Fact]
    public void BackwardWeightAgreesWithTheReference()
    {
        var rng = new Generator(2212);
        foreach (var g in Shapes)
        {
            var path = g.R == 3 ? Conv2dPath.WinogradF23 : Conv2dPath.WinogradF25;
            var x = Random(rng, g.N * g.C * g.H * g.W);
            var dy = Random(rng, g.N * g.K * g.OutH * g.OutW);
            var expected = Output(g.K * g.C * g.R * g.S);
            Ref.Conv2dBackwardWeight(x, dy, expected, g);
            foreach (int threads in new[] { 1, 2, 3 })
            {
                var fast = new CpuBackend(threads) { Conv2dPaths = Conv2dPathSettings.Default.Force(path) };
                Assert.Equal(path, fast.ChooseConv2dPath(Conv2dPass.BackwardWeight, g));
                var actual = Output(expected.Length);
                fast.Conv2dBackwardWeight(x, dy, actual, g);
                Agree(expected, actual, $"winograd backward-weight {g} on {threads} threads");
            }
        }
    }

    [Fact]
    public void WideAndNarrowMicroTilesAndThreadCountsGiveTheSameBits()
    {
        var rng = new Generator(2213);
        foreach (var g in Shapes)
        {
            var x = RandomArray(rng, g.N * g.C * g.H * g.W);
            var dy = RandomArray(rng, g.N * g.K * g.OutH * g.OutW);
            float[] Run(int threads, bool wide)
            {
                var dw = new float[g.K * g.C * g.R * g.S];
                Conv2dWinograd.BackwardWeight(x, dy, dw, g, threads, wide);
                return dw;
            }
            var narrow = Run(2, wide: false);
            Assert.Equal(narrow, Run(2, wide: true));
            Assert.Equal(narrow, Run(1, wide: true));
            Assert.Equal(narrow, Run(3, wide: false));
        }
    }

    [Fact]
    public void TheForwardsProductsGiveTheSameBitsWithPairedBlocks()
    {
        // the forward and backward-input (its adjoint's forward) with two 16-channel blocks per 512-bit
        // micro-tile or one per 256-bit one: 40 output channels make a pair and a single block
        var rng = new Generator(2214);
        Conv2dGeometry[] shapes = [new(2, 24, 9, 14, 40, 5, 5, 1, 1, 2, 2, 2, 2, 1, 1), new(1, 17, 7, 10, 48, 3, 3, 1, 1, 1, 0, 1, 1, 1, 1)];
        foreach (var g in shapes)
        {
            var x = RandomArray(rng, g.N * g.C * g.H * g.W);
            var w = RandomArray(rng, g.K * g.C * g.R * g.S);
            var bias = RandomArray(rng, g.K);
            var dy = RandomArray(rng, g.N * g.K * g.OutH * g.OutW);
            float[] Forward(bool wide)
            {
                var y = new float[dy.Length];
                Conv2dWinograd.ForwardPerCall(x, w, bias, y, g, relu: true, threads: 2, wide);
                return y;
            }
            float[] BackwardInput(bool wide)
            {
                var dx = new float[x.Length];
                Conv2dWinograd.BackwardInput(dy, w, dx, g, threads: 2, wide);
                return dx;
            }
            Assert.Equal(Forward(false), Forward(true));
            Assert.Equal(BackwardInput(false), BackwardInput(true));
            var expected = Output(dy.Length);
            Ref.Conv2dForwardRelu(ToRef(x), ToRef(w), ToRef(bias), expected, g);
            Agree(Read(expected), Forward(true), $"paired forward {g}");
        }
    }

    [Fact]
    public void SixteenTileInputTransformsGiveTheBitsOfEightTileOnes()
    {
        // rows of 18 and 17 tiles (24 with the padding to 8: a 16-tile transform, then an 8-tile one) and of 9 (16:
        // one 16-tile transform), at F(2×2, 5×5) and F(2×2, 3×3), forward and backward-input (adjoint filters
        // gathered from w): the 512-bit transforms against the 256-bit ones, and the reference
        var rng = new Generator(2218);
        Conv2dGeometry[] shapes =
        [
            new(2, 12, 6, 36, 20, 5, 5, 1, 1, 2, 2, 2, 2, 1, 1),
            new(1, 9, 5, 33, 17, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1),
            new(2, 7, 4, 17, 24, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1),
        ];
        foreach (var g in shapes)
        {
            var x = RandomArray(rng, g.N * g.C * g.H * g.W);
            var w = RandomArray(rng, g.K * g.C * g.R * g.S);
            var bias = RandomArray(rng, g.K);
            var dy = RandomArray(rng, g.N * g.K * g.OutH * g.OutW);
            float[] Forward(bool wide)
            {
                var y = new float[dy.Length];
                Conv2dWinograd.ForwardPerCall(x, w, bias, y, g, relu: false, threads: 2, wide);
                return y;
            }
            float[] BackwardInput(bool wide)
            {
                var dx = new float[x.Length];
                Conv2dWinograd.BackwardInput(dy, w, dx, g, threads: 2, wide);
                return dx;
            }
            var (y, dx) = (Forward(true), BackwardInput(true));
            Assert.Equal(Forward(false), y);
            Assert.Equal(BackwardInput(false), dx);
            var (expectedY, expectedDx) = (Output(dy.Length), Output(x.Length));
            Ref.Conv2dForward(ToRef(x), ToRef(w), ToRef(bias), expectedY, g);
            Ref.Conv2dBackwardInput(ToRef(dy), ToRef(w), expectedDx, g);
            Agree(Read(expectedY), y, $"16-tile forward {g}");
            Agree(Read(expectedDx), dx, $"16-tile backward-input {g}");
        }
    }

    [Fact]
    public void DeepThreeByThreeLayersRunTheirPassesAsRoutedWinogradF23()
    {
        // AttentionFcn's 3×3 layers in small: 128 channels in, 11×17 maps, 136 out (idle lanes), two images
        var g = new Conv2dGeometry(2, 128, 11, 17, 136, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1);
        var fast = new CpuBackend(2);
        if (Conv2dIsa.Host != Conv2dIsa.Avx2Fma) return;
        var rng = new Generator(2215);
        var x = Random(rng, g.N * g.C * g.H * g.W);
        var w = Random(rng, g.K * g.C * g.R * g.S);
        var bias = Random(rng, g.K);
        var dy = Random(rng, g.N * g.K * g.OutH * g.OutW);
        void Check(Conv2dPass pass, int length, Action<Backend, Storage> run)
        {
            Assert.Equal(Conv2dPath.WinogradF23, fast.ChooseConv2dPath(pass, g));
            var (expected, actual) = (Output(length), Output(length));
            run(Ref, expected);
            run(fast, actual);
            Agree(expected, actual, $"{pass} {g}");
        }
        Check(Conv2dPass.Forward, dy.Length, (b, y) => b.Conv2dForwardRelu(x, w, bias, y, g));
        Check(Conv2dPass.BackwardInput, x.Length, (b, dx) => b.Conv2dBackwardInput(dy, w, dx, g));
        Check(Conv2dPass.BackwardWeight, w.Length, (b, dw) => b.Conv2dBackwardWeight(x, dy, dw, g));
    }

    [Fact]
    public void DeepAndFiveByFiveForwardsCutIntoBandsAndChunksAgreeAndGiveTheSameBits()
    {
        // the forwards whose bands weigh U's traffic (Conv2dWinograd.Bands): 130 channels in (off the lanes) on
        // 13×19 maps with 200 out (13 blocks: pairs and a single per chunk), a 5×5 on a tall map (several bands of
        // several rows) with 100 out, and the backward-inputs (adjoints of 200 and 100 input channels); one image
        // (cut into rows and blocks between threads) and three
        var rng = new Generator(2216);
        Conv2dGeometry[] shapes =
        [
            new(1, 130, 13, 19, 200, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1),
            new(3, 130, 13, 19, 200, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1),
            new(1, 20, 61, 23, 100, 5, 5, 1, 1, 2, 2, 2, 2, 1, 1),
            new(2, 33, 41, 9, 100, 5, 5, 1, 1, 2, 1, 1, 2, 1, 1),
        ];
        foreach (var g in shapes)
        {
            var x = RandomArray(rng, g.N * g.C * g.H * g.W);
            var w = RandomArray(rng, g.K * g.C * g.R * g.S);
            var bias = RandomArray(rng, g.K);
            var dy = RandomArray(rng, g.N * g.K * g.OutH * g.OutW);
            float[] Forward(int threads, bool wide)
            {
                var y = new float[dy.Length];
                Conv2dWinograd.ForwardPerCall(x, w, bias, y, g, relu: false, threads, wide);
                return y;
            }
            float[] BackwardInput(int threads, bool wide)
            {
                var dx = new float[x.Length];
                Conv2dWinograd.BackwardInput(dy, w, dx, g, threads, wide);
                return dx;
            }
            var y2 = Forward(2, wide: true);
            Assert.Equal(y2, Forward(2, wide: false));
            var dx2 = BackwardInput(2, wide: true);
            Assert.Equal(dx2, BackwardInput(2, wide: false));
            var (expectedY, expectedDx) = (Output(dy.Length), Output(x.Length));
            Ref.Conv2dForward(ToRef(x), ToRef(w), ToRef(bias), expectedY, g);
            Ref.Conv2dBackwardInput(ToRef(dy), ToRef(w), expectedDx, g);
            Agree(Read(expectedY), y2, $"banded forward {g}");
            Agree(Read(expectedDx), dx2, $"banded backward-input {g}");
            foreach (int threads in new[] { 1, 3 })
            {
                Agree(Read(expectedY), Forward(threads, wide: true), $"banded forward {g} on {threads} threads");
                Agree(Read(expectedDx), BackwardInput(threads, wide: false), $"banded backward-input {g} on {threads} threads");
            }
        }
    }

    [Fact]
    public void BackwardWeightBandsOfSeveralImagesAgreeAndGiveTheSameBitsAtBothWidths()
    {
        // small maps take several whole images per band (AttentionFcn's 3×3 layers: 54 tiles, two images); five
        // images make bands of two, two and one, seven 5×5 images on 6×7 maps one of seven
        var rng = new Generator(2217);
        Conv2dGeometry[] shapes = [new(5, 40, 11, 17, 30, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1), new(7, 17, 6, 7, 13, 5, 5, 1, 1, 2, 2, 2, 2, 1, 1)];
        foreach (var g in shapes)
        {
            var x = RandomArray(rng, g.N * g.C * g.H * g.W);
            var dy = RandomArray(rng, g.N * g.K * g.OutH * g.OutW);
            float[] Run(int threads, bool wide)
            {
                var dw = new float[g.K * g.C * g.R * g.S];
                Conv2dWinograd.BackwardWeight(x, dy, dw, g, threads, wide);
                return dw;
            }
            var narrow = Run(2, wide: false);
            Assert.Equal(narrow, Run(2, wide: true));
            Assert.Equal(narrow, Run(1, wide: true));
            Assert.Equal(narrow, Run(3, wide: false));
            var expected = Output(g.K * g.C * g.R * g.S);
            Ref.Conv2dBackwardWeight(ToRef(x), ToRef(dy), expected, g);
            Agree(Read(expected), narrow, $"multi-image bands {g}");
        }
    }

    [Fact]
    public void TheRoutingTakesItForAttentionFcnsFiveByFiveLayer()
    {
        foreach (int n in new[] { 1, 16 })
        {
            var g = Conv2dRoutingTests.Layer("alexnet.features.3", n);
            Assert.Equal(Conv2dPath.WinogradF25, Conv2dRouting.Choose(Conv2dPass.BackwardWeight, g, Conv2dPathSettings.Default, Conv2dIsa.Avx2Fma));
        }
    }
}
