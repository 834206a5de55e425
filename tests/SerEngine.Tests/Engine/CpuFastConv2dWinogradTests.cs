using SerEngine.Autograd;
using SerEngine.Backends;
using SerEngine.Backends.Cpu;
using static SerEngine.Tests.Engine.FastAgreement;

namespace SerEngine.Tests.Engine;

/// <summary>
/// Packed conv2d weights (<see cref="Backend.PackConv2dWeight"/>, <see cref="Backend.Conv2dForwardPacked"/>):
/// the fast CPU backend's Winograd F(2×2, 3×3) forward (Conv2dWinograd.cs) against the
/// <c>cpu-reference</c> loops, norm-wise to 1e-4 relative, at FocusCalibrationNet's batch-1 layers and
/// at shapes with odd output sizes, asymmetric or no padding, channel blocks with idle lanes, several
/// images, on 1–3 threads, with and without bias and ReLU; the shapes it does not take fall back to
/// the plain kernels; the base form on the reference backend; and the errors.
/// </summary>
public class CpuFastConv2dWinogradTests
{
    // both Winograd paths disabled: the kernels they replaced
    private static readonly Conv2dPathSettings NoWinograd = Conv2dPathSettings.Default.Disable(Conv2dPath.WinogradF23, Conv2dPath.WinogradF25);

    private static bool PacksWinograd(CpuBackend fast, in Conv2dGeometry g) =>
        fast.ChooseConv2dPath(Conv2dPass.ForwardPacked, g) is Conv2dPath.WinogradF23 or Conv2dPath.WinogradF25;

    // N, C, H, W, K, R, S, stride, padding (top, bottom, left, right), dilation
    private static readonly Conv2dGeometry[] Winograd =
    [
        new(1, 16, 25, 62, 32, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1),   // FocusCalibrationNet conv2: 13 × 31 tiles, odd output height
        new(1, 32, 12, 31, 48, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1),   // conv3: odd output width
        new(1, 48, 6, 15, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1),    // conv4
        new(1, 64, 6, 15, 80, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1),    // conv5
        new(2, 5, 9, 20, 16, 3, 3, 1, 1, 0, 2, 1, 0, 1, 1),     // asymmetric padding, two images
        new(3, 7, 5, 4, 60, 3, 3, 1, 1, 0, 0, 0, 0, 1, 1),      // no padding, 3 × 2 outputs; 60 channels: a block with 12 live lanes
        new(5, 4, 3, 3, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1),      // one tile row of two tiles, five images
        new(1, 9, 40, 3, 32, 3, 3, 1, 1, 2, 1, 0, 2, 1, 1),     // tall and narrow: several bands
        new(1, 16, 11, 17, 32, 5, 5, 1, 1, 2, 2, 2, 2, 1, 1),   // F(2×2, 5×5): odd output sizes
        new(2, 6, 9, 10, 48, 5, 5, 1, 1, 0, 1, 2, 0, 1, 1),     // 5×5, asymmetric padding
        new(3, 8, 6, 5, 16, 5, 5, 1, 1, 2, 2, 2, 2, 1, 1),      // 5×5 on a 6×5 image: one tile row
    ];

    [Fact]
    public void WinogradForwardAgreesWithTheReference()
    {
        var rng = new Generator(71);
        foreach (var g in Winograd)
        {
            foreach (bool relu in new[] { false, true })
                foreach (bool withBias in new[] { true, false })
                {
                    var x = Random(rng, g.N * g.C * g.H * g.W);
                    var w = Random(rng, g.K * g.C * g.R * g.S);
                    var bias = withBias ? Random(rng, g.K) : null;
                    var expected = Output(g.N * g.K * g.OutH * g.OutW);
                    if (relu) Ref.Conv2dForwardRelu(x, w, bias, expected, g);
                    else Ref.Conv2dForward(x, w, bias, expected, g);
                    foreach (int threads in new[] { 1, 2, 3 })
                    {
                        var fast = new CpuBackend(threads);
                        Assert.True(PacksWinograd(fast, g), $"{g} should take the Winograd forward");
                        var packed = fast.PackConv2dWeight(w, g);
                        Assert.NotEqual(typeof(PackedConv2dWeight), packed.GetType()); // the backend's own (Winograd) form
                        var y = Output(expected.Length);
                        fast.Conv2dForwardPacked(x, packed, bias, y, g, relu);
                        Agree(expected, y, $"winograd t{threads} relu {relu} bias {withBias} {g}");
                    }
                }
        }
    }

    [Theory]
    [InlineData(3, 2e-6)]
    [InlineData(5, 4e-6)]
    public void WinogradIsNearlyAsAccurateAsTheDirectKernels(int r, double bound)
    {
        // each output's error against a double-precision sum, relative to Σ|w·x| (the scale of its rounding)
        var rng = new Generator(72);
        var g = new Conv2dGeometry(1, 64, 6, 15, 80, r, r, 1, 1, r / 2, r / 2, r / 2, r / 2, 1, 1);
        var xs = RandomArray(rng, g.C * g.H * g.W);
        var ws = RandomArray(rng, g.K * g.C * r * r);
        var fast = new CpuBackend(2);
        var x = Store(xs);
        var y = Output(g.K * g.OutH * g.OutW);
        fast.Conv2dForwardPacked(x, fast.PackConv2dWeight(Store(ws), g), null, y, g, relu: false);
        var actual = Read(y);
        double worst = 0;
        for (int k = 0; k < g.K; k++)
            for (int oh = 0; oh < g.OutH; oh++)
                for (int ow = 0; ow < g.OutW; ow++)
                {
                    double sum = 0, scale = 0;
                    for (int c = 0; c < g.C; c++)
                        for (int i = 0; i < r; i++)
                            for (int j = 0; j < r; j++)
                            {
                                int ih = oh + i - r / 2, iw = ow + j - r / 2;
                                if ((uint)ih >= (uint)g.H || (uint)iw >= (uint)g.W) continue;
                                double p = (double)ws[((k * g.C + c) * r + i) * r + j] * xs[(c * g.H + ih) * g.W + iw];
                                sum += p;
                                scale += Math.Abs(p);
                            }
                    worst = Math.Max(worst, Math.Abs(actual[(k * g.OutH + oh) * g.OutW + ow] - sum) / scale);
                }
        Assert.True(worst < bound, $"worst error {worst:G3} of Σ|w·x| (float32 rounding of the direct sum is ~1e-7)");
    }

    // 5×5 with plain weights: forward and backward-input transform the filters per call
    private static readonly Conv2dGeometry[] PerCall =
    [
        new(2, 32, 20, 24, 64, 5, 5, 1, 1, 2, 2, 2, 2, 1, 1),   // the bench case's shape class
        new(3, 16, 17, 21, 48, 5, 5, 1, 1, 1, 2, 0, 3, 1, 1),   // asymmetric padding, odd sizes
    ];

    [Fact]
    public void PlainFiveByFiveForwardAndBackwardInputRunWinograd()
    {
        var rng = new Generator(77);
        foreach (var g in PerCall)
        {
            var x = Random(rng, g.N * g.C * g.H * g.W);
            var w = Random(rng, g.K * g.C * 25);
            var bias = Random(rng, g.K);
            var dy = Random(rng, g.N * g.K * g.OutH * g.OutW);
            var y = Output(dy.Length);
            var dx = Output(x.Length);
            Ref.Conv2dForward(x, w, bias, y, g);
            Ref.Conv2dBackwardInput(dy, w, dx, g);
            foreach (bool on in new[] { true, false })
            {
                var fast = new CpuBackend(2) { Conv2dPaths = on ? Conv2dPathSettings.Default : NoWinograd };
                Assert.Equal(on, fast.ChooseConv2dPath(Conv2dPass.Forward, g) == Conv2dPath.WinogradF25);
                Assert.Equal(on, fast.ChooseConv2dPath(Conv2dPass.BackwardInput, g) == Conv2dPath.WinogradF25);
                Assert.Equal(on, fast.ChooseConv2dPath(Conv2dPass.BackwardInput, new Conv2dGeometry(16, 64, 24, 36, 192, 5, 5, 1, 1, 2, 2, 2, 2, 1, 1)) == Conv2dPath.WinogradF25); // 192 channels in: 660 KB rows, within L2
                Assert.NotEqual(Conv2dPath.WinogradF25, fast.ChooseConv2dPath(Conv2dPass.BackwardInput, new Conv2dGeometry(16, 64, 24, 60, 256, 5, 5, 1, 1, 2, 2, 2, 2, 1, 1))); // 256 channels in, 30 tiles a row: V too wide
                var yf = Output(y.Length);
                fast.Conv2dForward(x, w, bias, yf, g);
                Agree(y, yf, $"forward winograd {on} {g}");
                var dxf = Output(dx.Length);
                fast.Conv2dBackwardInput(dy, w, dxf, g);
                Agree(dx, dxf, $"backward-input winograd {on} {g}");
            }
        }
        Assert.NotEqual(Conv2dPath.WinogradF25, new CpuBackend(2).ChooseConv2dPath(Conv2dPass.Forward, new Conv2dGeometry(1, 16, 8, 8, 32, 5, 5, 1, 1, 2, 2, 2, 2, 1, 1))); // 3.3 M: direct
    }

    // shapes the Winograd forward does not take: the packed weight is the plain one
    private static readonly Conv2dGeometry[] Plain =
    [
        new(1, 16, 12, 13, 32, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1),   // stride 2
        new(1, 16, 12, 13, 32, 3, 3, 1, 1, 2, 2, 2, 2, 2, 2),   // dilation 2
        new(2, 8, 10, 11, 32, 7, 7, 1, 1, 3, 3, 3, 3, 1, 1),    // 7×7
        new(1, 8, 10, 11, 20, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1),    // 20 output channels: 12 idle lanes of 32
        new(1, 2, 10, 11, 32, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1),    // two input channels
    ];

    [Fact]
    public void OtherShapesAndDisabledWinogradFallBackToThePlainKernels()
    {
        var rng = new Generator(73);
        foreach (var (g, off) in Plain.Select(g => (g, false)).Append((Winograd[0], true)))
        {
            var x = Random(rng, g.N * g.C * g.H * g.W);
            var w = Random(rng, g.K * g.C * g.R * g.S);
            var bias = Random(rng, g.K);
            var expected = Output(g.N * g.K * g.OutH * g.OutW);
            Ref.Conv2dForwardRelu(x, w, bias, expected, g);
            var fast = new CpuBackend(2) { Conv2dPaths = off ? NoWinograd : Conv2dPathSettings.Default };
            Assert.False(PacksWinograd(fast, g));
            var packed = fast.PackConv2dWeight(w, g);
            Assert.Equal(typeof(PackedConv2dWeight), packed.GetType());
            Assert.Same(w, packed.Source);
            var y = Output(expected.Length);
            fast.Conv2dForwardPacked(x, packed, bias, y, g, relu: true);
            Agree(expected, y, $"plain packed {g}");
        }
    }

    [Fact]
    public void ReferenceBackendConvolvesWithTheSource()
    {
        var rng = new Generator(74);
        var g = Winograd[4];
        var x = Random(rng, g.N * g.C * g.H * g.W);
        var w = Random(rng, g.K * g.C * 9);
        var bias = Random(rng, g.K);
        foreach (bool relu in new[] { false, true })
        {
            var expected = Output(g.N * g.K * g.OutH * g.OutW);
            if (relu) Ref.Conv2dForwardRelu(x, w, bias, expected, g);
            else Ref.Conv2dForward(x, w, bias, expected, g);
            var y = Output(expected.Length);
            Ref.Conv2dForwardPacked(x, Ref.PackConv2dWeight(w, g), bias, y, g, relu);
            Assert.Equal(Read(expected), Read(y));
        }
    }

    [Fact]
    public void MismatchedGeometryAndForeignWeightsAreRefused()
    {
        var rng = new Generator(75);
        var g = Winograd[2];
        var fast = new CpuBackend(2);
        var w = Random(rng, g.K * g.C * 9);
        var packed = fast.PackConv2dWeight(w, g);
        var x = Random(rng, g.N * g.C * g.H * g.W);
        var y = Output(g.N * g.K * g.OutH * g.OutW);
        var wider = g with { K = 80 };
        var e = Assert.Throws<ArgumentException>(() => fast.Conv2dForwardPacked(x, packed, null, y, wider, relu: true));
        Assert.Contains("packed weight is [64, 48, 3, 3]", e.Message);
        Assert.Throws<ArgumentException>(() => fast.Conv2dForwardPacked(x, packed, null, y, g with { StrideH = 2, StrideW = 2 }, relu: true));
        e = Assert.Throws<ArgumentException>(() => new CpuBackend(1).Conv2dForwardPacked(x, packed, null, y, g, relu: true));
        Assert.Contains("another backend", e.Message);
    }

    [Fact]
    public void PackedOpMatchesThePlainOpAndRecordsNoGradient()
    {
        var fast = new CpuBackend(2);
        var rng = new Generator(76);
        var x = Tensor.FromArray(RandomArray(rng, 2 * 16 * 11 * 14), new Shape(2, 16, 11, 14), fast);
        var w = Tensor.FromArray(RandomArray(rng, 32 * 16 * 9), new Shape(32, 16, 3, 3), fast);
        var b = Tensor.FromArray(RandomArray(rng, 32), new Shape(32), fast);
        var g = new Conv2dGeometry(2, 16, 11, 14, 32, 3, 3, 1, 1, 1, 0, 1, 2, 1, 1);
        var packed = fast.PackConv2dWeight(w.Storage, g);
        var plain = Ops.Conv2dRelu(x, w, b, (1, 1), (1, 0, 1, 2), (1, 1));
        var viaPacked = Ops.Conv2dRelu(x, packed, b, (1, 0, 1, 2));
        Assert.Equal(plain.Shape, viaPacked.Shape);
        Agree(plain.ToArray(), viaPacked.ToArray(), "Ops.Conv2dRelu packed vs plain");
        var tracked = Tensor.FromArray(x.ToArray(), x.Shape, fast);
        tracked.RequiresGrad = true;
        var e = Assert.Throws<InvalidOperationException>(() => Ops.Conv2dRelu(tracked, packed, b, (1, 0, 1, 2)));
        Assert.Contains("records no gradient", e.Message);
        using (Graph.NoGrad()) Agree(plain.ToArray(), Ops.Conv2dRelu(tracked.Detach(), packed, b, (1, 0, 1, 2)).ToArray(), "no-grad call");
        var narrow = Tensor.FromArray(RandomArray(rng, 8 * 11 * 14), new Shape(1, 8, 11, 14), fast);
        var shape = Assert.Throws<ArgumentException>(() => Ops.Conv2dRelu(narrow, packed, b, (1, 1, 1, 1)));
        Assert.Contains("has 8 channels but weight [32, 16, 3, 3] expects 16", shape.Message);
    }

    private static Storage Store(float[] v)
    {
        var s = Ref.Allocate(v.Length, DType.Float32);
        Ref.Write(s, v);
        return s;
    }
}
