using SerEngine.Backends;
using SerEngine.Backends.Cpu;
using static SerEngine.Tests.Engine.FastAgreement;

namespace SerEngine.Tests.Engine;

/// <summary>
/// The channel-vector conv2d kernels (16 output channels × 6 pixels or taps per register tile,
/// Conv2dChannelVector.cs and Conv2dChannelVector.BackwardWeight.cs) against the <c>cpu-reference</c>
/// loops, norm-wise to 1e-4 relative: called directly at shapes the routing would not give them
/// (channel counts that leave lanes idle, one image, one channel, pixel tiles that cross row ends
/// or run past the image, dilation, asymmetric padding) on 1–3 threads, and through the public
/// primitives with the channel-vector path allowed and disabled (<see cref="Conv2dPathSettings"/>),
/// with the routes that must fall back to the other paths.
/// </summary>
public class CpuFastConv2dChannelTests
{
    private static readonly Backend Ref = BackendRegistry.Get("cpu-reference");

    // N, C, H, W, K, R, S, stride, padding (top, bottom, left, right), dilation
    private static readonly Conv2dGeometry[] Direct =
    [
        new(2, 5, 7, 9, 20, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1),      // 20 output channels: a panel with 4 live lanes
        new(1, 3, 11, 17, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1),    // one image, 187 pixels: the last tile repeats one
        new(3, 16, 13, 21, 33, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1),   // 33 channels: one live lane in the last panel
        new(2, 7, 6, 5, 18, 5, 5, 1, 1, 2, 2, 2, 2, 1, 1),      // 5-wide rows: every tile crosses a row end
        new(2, 4, 10, 9, 17, 3, 4, 1, 1, 2, 0, 1, 3, 2, 3),     // dilation and asymmetric padding
        new(1, 1, 5, 5, 3, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1),       // one channel, 1×1 kernel, 25 pixels
        new(4, 64, 12, 18, 48, 5, 5, 1, 1, 2, 2, 2, 2, 1, 1),   // several channel chunks (64 · 25 taps)
        new(2, 40, 3, 4, 70, 3, 3, 1, 1, 0, 0, 1, 1, 1, 1),     // a single output row, 70 channels
    ];

    [Fact]
    public void KernelsAgreeWithTheReferenceAtAnyShape()
    {
        var rng = new Generator(41);
        foreach (var g in Direct)
        {
            var (x, w, bias, dy) = Operands(rng, g);
            var (yr, dxr, dwr) = ReferencePasses(x, w, bias, dy, g);
            foreach (int threads in new[] { 1, 2, 3 })
            {
                string what = $"t{threads} {g}";
                var y = new float[yr.Length];
                Conv2dChannelVector.Forward(x, w, bias, y, g, relu: false, threads);
                Agree(yr, y, $"forward {what}");
                var dw = new float[dwr.Length];
                Conv2dChannelVector.BackwardWeight(x, dy, dw, g, threads);
                Agree(dwr, dw, $"backward-weight {what}");
                if (Conv2dAdjoint.Exists(g))
                {
                    var dx = new float[dxr.Length];
                    Conv2dChannelVector.BackwardInput(dy, w, dx, g, threads);
                    Agree(dxr, dx, $"backward-input {what}");
                }
            }
        }
    }

    // forward and backward-weight with strides (backward-input takes stride 1 only)
    private static readonly Conv2dGeometry[] Strided =
    [
        new(1, 1, 40, 53, 16, 11, 11, 4, 4, 2, 2, 2, 2, 1, 1),   // features.0: 11×11 stride 4, one channel
        new(2, 3, 17, 15, 20, 3, 3, 2, 2, 1, 1, 2, 2, 2, 2),     // stride and dilation, idle lanes
        new(2, 5, 10, 9, 33, 3, 4, 2, 3, 0, 2, 1, 3, 1, 2),      // asymmetric everything
        new(3, 4, 9, 12, 16, 1, 1, 3, 2, 0, 0, 0, 0, 1, 1),      // 1×1 kernel, strides 3 and 2
        new(3, 1, 37, 61, 20, 11, 11, 4, 4, 2, 2, 2, 2, 1, 1),   // features.0 at odd sizes, 20 filters: idle lanes
    ];

    [Fact]
    public void StridedForwardAndBackwardWeightAgreeWithTheReference()
    {
        var rng = new Generator(44);
        foreach (var g in Strided)
        {
            var (x, w, bias, dy) = Operands(rng, g);
            var (yr, _, dwr) = ReferencePasses(x, w, bias, dy, g);
            foreach (int threads in new[] { 1, 2, 3 })
            {
                var y = new float[yr.Length];
                Conv2dChannelVector.Forward(x, w, bias, y, g, relu: false, threads);
                Agree(yr, y, $"forward t{threads} {g}");
                var dw = new float[dwr.Length];
                Conv2dChannelVector.BackwardWeight(x, dy, dw, g, threads);
                Agree(dwr, dw, $"backward-weight t{threads} {g}");
            }
        }
    }

    /// <summary>The forward's 512-bit tiles (two panels per pass) give the 256-bit tiles' bits, with odd panel counts, several chunks, relu and 1–3 threads.</summary>
    [Fact]
    public void WideForwardTilesGiveTheNarrowOnesBits()
    {
        var rng = new Generator(45);
        foreach (var g in Direct.Concat(Strided))
        {
            var (x, w, bias, _) = Operands(rng, g);
            foreach (int threads in new[] { 1, 2, 3 })
                foreach (bool relu in new[] { false, true })
                {
                    var narrow = new float[g.N * g.K * g.OutH * g.OutW];
                    var wide = new float[narrow.Length];
                    Conv2dChannelVector.Forward(x, w, bias, narrow, g, relu, threads, wide: false);
                    Conv2dChannelVector.Forward(x, w, bias, wide, g, relu, threads, wide: true);
                    Assert.True(narrow.AsSpan().SequenceEqual(wide), $"t{threads} relu {relu} {g}: 512-bit tiles differ from 256-bit ones");
                }
        }
    }

    /// <summary>
    /// The backward-weight's 512-bit tiles (two panels per task) give the 256-bit tiles' bits: FocusCalibrationNet's
    /// conv2 and AttentionFcn's 11×11 stride-4 conv1 at full size, and the odd shapes above, on 1–3 threads.
    /// </summary>
    [Fact]
    public void WideBackwardWeightTilesGiveTheNarrowOnesBits()
    {
        var rng = new Generator(46);
        Conv2dGeometry[] models =
        [
            new(32, 16, 26, 63, 32, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1),      // FocusCalibrationNet conv2
            new(2, 1, 200, 300, 64, 11, 11, 4, 4, 2, 2, 2, 2, 1, 1),    // AttentionFcn conv1 (two images)
        ];
        foreach (var g in models.Concat(Direct).Concat(Strided))
        {
            var (x, _, _, dy) = Operands(rng, g);
            foreach (int threads in new[] { 1, 2, 3 })
            {
                var narrow = new float[g.K * g.C * g.R * g.S];
                var wide = new float[narrow.Length];
                Conv2dChannelVector.BackwardWeight(x, dy, narrow, g, threads, wide: false);
                Conv2dChannelVector.BackwardWeight(x, dy, wide, g, threads, wide: true);
                Assert.True(narrow.AsSpan().SequenceEqual(wide), $"t{threads} {g}: 512-bit backward-weight tiles differ from 256-bit ones");
            }
        }
    }

    // shapes the routing gives to the channel kernels (stride 1, several images, full lanes) and
    // shapes it must not: one image, idle lanes, stride 2, one channel
    private static readonly Conv2dGeometry[] Routed =
    [
        new(2, 16, 9, 14, 32, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1),
        new(3, 32, 8, 12, 64, 5, 5, 1, 1, 2, 2, 2, 2, 1, 1),
        new(2, 48, 5, 7, 96, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1),
    ];

    private static readonly Conv2dGeometry[] Fallback =
    [
        new(1, 16, 9, 14, 32, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1),    // one small image: shifted-window
        new(2, 20, 9, 14, 20, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1),    // 20 channels in and out: idle lanes
        new(2, 1, 9, 14, 32, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1),     // one channel: direct
    ];

    // stride 2: forward on channels, both backward passes on the GEMM
    private static readonly Conv2dGeometry StrideTwo = new(2, 16, 9, 14, 32, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1);

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void PublicPassesAgreeWithTheChannelPathAllowedAndDisabled(bool channels)
    {
        var rng = new Generator(42);
        foreach (var g in Routed.Concat(Fallback).Append(StrideTwo))
        {
            var fast = new CpuBackend(2) { Conv2dPaths = channels ? Conv2dPathSettings.Default : Conv2dPathSettings.Default.Disable(Conv2dPath.ChannelVector) };
            bool routed = Routed.Contains(g);
            Assert.Equal(channels && (routed || g == StrideTwo), Takes(fast, Conv2dPass.Forward, g));
            Assert.Equal(channels && routed, Takes(fast, Conv2dPass.BackwardWeight, g));
            Assert.Equal(channels && routed, Takes(fast, Conv2dPass.BackwardInput, g));
            var (x, w, bias, dy) = Operands(rng, g);
            var (yr, dxr, dwr) = ReferencePasses(x, w, bias, dy, g);
            string what = $"channels {channels} {g}";
            var y = Output(fast, yr.Length);
            fast.Conv2dForward(Store(fast, x), Store(fast, w), Store(fast, bias), y, g);
            Agree(yr, Read(fast, y), $"forward {what}");
            var dx = Output(fast, dxr.Length);
            fast.Conv2dBackwardInput(Store(fast, dy), Store(fast, w), dx, g);
            Agree(dxr, Read(fast, dx), $"backward-input {what}");
            var dw = Output(fast, dwr.Length);
            fast.Conv2dBackwardWeight(Store(fast, x), Store(fast, dy), dw, g);
            Agree(dwr, Read(fast, dw), $"backward-weight {what}");
        }
    }

    [Fact]
    public void OneBigImageRunsOnlyItsForwardOnChannels()
    {
        var g = new Conv2dGeometry(1, 32, 24, 36, 64, 5, 5, 1, 1, 2, 2, 2, 2, 1, 1); // 44 M multiply-adds, 864 pixels
        // the rule after Winograd F(2×2, 5×5), which takes this 5×5 forward first
        var fast = new CpuBackend(2) { Conv2dPaths = Conv2dPathSettings.Parse("-winograd-f25") };
        Assert.Equal(Conv2dPath.WinogradF25, new CpuBackend(2).ChooseConv2dPath(Conv2dPass.Forward, g));
        Assert.True(Takes(fast, Conv2dPass.Forward, g));
        // as many multiply-adds on 187 pixels (11 × 17): the shifted-window path, weights read in place
        Assert.False(Takes(fast, Conv2dPass.Forward, new Conv2dGeometry(1, 192, 11, 17, 384, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1)));
        Assert.False(Takes(fast, Conv2dPass.BackwardInput, g));
        Assert.False(Takes(fast, Conv2dPass.BackwardWeight, g));
        var (x, w, bias, dy) = Operands(new Generator(43), g);
        var (yr, _, _) = ReferencePasses(x, w, bias, dy, g);
        var y = Output(fast, yr.Length);
        fast.Conv2dForward(Store(fast, x), Store(fast, w), Store(fast, bias), y, g);
        Agree(yr, Read(fast, y), $"forward {g}");
    }

    [Theory]
    [InlineData(16, true)]
    [InlineData(64, true)]
    [InlineData(192, true)]
    [InlineData(96, true)]
    [InlineData(100, false)]  // 112 lanes for 100 channels: 12 % idle
    [InlineData(200, true)]   // 208 lanes for 200: 4 % idle
    [InlineData(20, false)]
    [InlineData(8, false)]
    [InlineData(50, false)]
    public void LanesFit(int channels, bool fits) => Assert.Equal(fits, Conv2dRouting.LanesFit(channels));

    private static bool Takes(CpuBackend fast, Conv2dPass pass, in Conv2dGeometry g) => fast.ChooseConv2dPath(pass, g) == Conv2dPath.ChannelVector;

    private static (float[] X, float[] W, float[] Bias, float[] Dy) Operands(Generator rng, in Conv2dGeometry g) =>
        (RandomArray(rng, g.N * g.C * g.H * g.W), RandomArray(rng, g.K * g.C * g.R * g.S), RandomArray(rng, g.K),
         RandomArray(rng, g.N * g.K * g.OutH * g.OutW));

    private static (float[] Y, float[] Dx, float[] Dw) ReferencePasses(float[] x, float[] w, float[] bias, float[] dy, in Conv2dGeometry g)
    {
        var y = Output(Ref, dy.Length);
        var dx = Output(Ref, x.Length);
        var dw = Output(Ref, w.Length);
        Ref.Conv2dForward(Store(Ref, x), Store(Ref, w), Store(Ref, bias), y, g);
        Ref.Conv2dBackwardInput(Store(Ref, dy), Store(Ref, w), dx, g);
        Ref.Conv2dBackwardWeight(Store(Ref, x), Store(Ref, dy), dw, g);
        return (Read(Ref, y), Read(Ref, dx), Read(Ref, dw));
    }

    private static Storage Store(Backend b, float[] v)
    {
        var s = b.Allocate(v.Length, DType.Float32);
        b.Write(s, v);
        return s;
    }

    private static Storage Output(Backend b, int n)
    {
        var s = b.Allocate(n, DType.Float32);
        b.Fill(s, n, float.NaN); // outputs must be overwritten, never read
        return s;
    }

    private static float[] Read(Backend b, Storage s)
    {
        var v = new float[s.Length];
        b.Read(s, v);
        return v;
    }
}
