using static SerEngine.Backends.Cpu.Conv2dPath;

namespace SerEngine.Backends.Cpu;

// Which conv2d path runs a pass: every rule and threshold of the fast CPU backend's routing, in
// order. A forced path (Conv2dPathSettings) is taken wherever it supports the pass and geometry;
// otherwise the first rule whose path is supported, not disabled and whose condition holds wins.
// Thread count enters no rule (only how a path splits its work); the ISA enters through Supports.
internal static class Conv2dRouting
{
    /// <summary>Most taps (R·S) of a one-channel filter for the direct loops (C·R·S of 16–32 is too shallow for the GEMM's packing to pay).</summary>
    internal const int DirectMaxTaps = 32;

    /// <summary>Fewest input channels for Winograd with packed filters (below, its transforms cost more than the multiplies saved).</summary>
    internal const int WinogradPackedMinChannels = 4;

    /// <summary>Fewest input channels for the per-call Winograd forward (its filter transform is ~330 multiply-adds per filter).</summary>
    internal const int WinogradPerCallMinChannels = 16;

    /// <summary>
    /// Fewest input channels for the per-call F(2×2, 3×3) passes with several images: the filter transform is
    /// shared by the batch, so from 16 channels the 20 of 36 multiplies saved carry the transforms
    /// (AttentionFcn's 3×3 layers, 192–384 channels on 11×17 maps, attention_fcn.train_step.b16.200x300;
    /// FocusCalibrationNet's, 16–80 channels, focus_calibration_net.train_step.b32.26x63: FCA-STEP-2026-12-06-evening.md).
    /// </summary>
    internal const int WinogradF23PerCallMinChannels = 16;

    /// <summary>
    /// Fewest images for the per-call F(2×2, 3×3) passes: one image of 11×17 pixels does not pay for transforming
    /// up to 3.5 MB of filters per call (attention_fcn.infer.b1.200x300 keeps the shifted-window path, which reads them in place).
    /// </summary>
    internal const int WinogradF23PerCallMinImages = 2;

    /// <summary>
    /// Fewest input channels for the F(2×2, 3×3) backward-weight: with fewer the products per tile are too few to carry
    /// the transforms and transposes of x and dy (FocusCalibrationNet's conv2 and conv3, 16 and 32 channels, keep the channel-vector path).
    /// </summary>
    internal const int WinogradF23WeightMinChannels = 48;

    /// <summary>Fewest multiply-adds for the per-call Winograd forward (the conv2d.*.k5x192 bench case and AttentionFcn's features.3).</summary>
    internal const long WinogradPerCallMacs = 1L << 24;

    /// <summary>
    /// One image runs the channel-vector forward from this many multiply-adds and output pixels: the
    /// weights are packed per call, a pass over them that pays when each weight serves many pixels
    /// (AttentionFcn's 11×11 stride-4 first layer, 3626 pixels, beats the im2col GEMM:
    /// attention_fcn.infer.b1.200x300; its 5×5 layer takes the per-call Winograd rule before this one).
    /// Its 3×3 layers on 11×17 maps (187 pixels) take the per-call F(2×2, 3×3) rule before this one when
    /// deep enough (16 input channels, several images), and FocusCalibrationNet's small layers at batch 1 (2–7 M, when their weights are not packed) stay
    /// on the shifted-window path, which reads the weights in place.
    /// </summary>
    internal const long ChannelBatchOneMacs = 1L << 24;

    /// <summary>Output pixels from which one image runs the channel-vector forward (see <see cref="ChannelBatchOneMacs"/>).</summary>
    internal const int ChannelBatchOnePixels = 512;

    /// <summary>
    /// Most output channels for the shifted-window backward-weight. With more, the GEMM with packed
    /// operands wins (on one thread: attention_fcn.train_step.b16.200x300's 3×3 layers, K = 256, and
    /// not focus_calibration_net.train_step.b32.26x63's conv2, K = 32), since its packing is then shared
    /// by many output channels while the dot products pay horizontal sums per tile.
    /// </summary>
    internal const int ShiftedWeightMaxChannels = 64;

    /// <summary>
    /// True when <paramref name="channels"/> fill 16-lane panels well enough for the channel-vector and
    /// Winograd kernels: a multiple of 16, or at least 48 with under 10 % of lanes idle.
    /// </summary>
    internal static bool LanesFit(int channels) =>
        channels % Conv2dChannelVector.Lanes == 0 || (channels >= 48 && CpuBackend.RoundUp(channels, Conv2dChannelVector.Lanes) * 10 <= channels * 11);

    /// <summary>The path that runs <paramref name="pass"/> of <paramref name="g"/> (see the comment above the class).</summary>
    internal static Conv2dPath Choose(Conv2dPass pass, in Conv2dGeometry g, in Conv2dPathSettings settings, in Conv2dIsa isa)
    {
        if (settings.Forced is { } forced && Supports(forced, pass, g, isa)) return forced;
        var (geo, set, cpu) = (g, settings, isa);
        bool Can(Conv2dPath path) => !set.IsDisabled(path) && Supports(path, pass, geo, cpu);
        switch (pass)
        {
            case Conv2dPass.Forward:
            case Conv2dPass.ForwardPacked:
                // packed filters are transformed once, so Winograd pays from a few input channels on full lanes
                if (pass == Conv2dPass.ForwardPacked && g.C >= WinogradPackedMinChannels && LanesFit(g.K))
                {
                    if (Can(WinogradF23)) return WinogradF23;
                    if (Can(WinogradF25)) return WinogradF25;
                }
                // one input channel: C·R·S too shallow for the GEMM's packing (FocusCalibrationNet's conv1a, conv1b)
                if (Can(OneChannelDirect) && g.R * g.S <= DirectMaxTaps) return OneChannelDirect;
                // filters transformed per call: with deep channel sums the transform costs little against the multiplies Winograd saves (CONV-CPU-2026-12-06.md)
                if (Can(WinogradF25) && WinogradPerCallPays(g)) return WinogradF25;
                if (Can(WinogradF23) && WinogradPerCallPays(g)) return WinogradF23;
                // weights packed per call into 16-channel panels: pays with several images, or one big one
                if (Can(ChannelVector) && LanesFit(g.K) && (g.N >= 2 || (g.Macs >= ChannelBatchOneMacs && g.OutH * g.OutW >= ChannelBatchOnePixels)))
                    return ChannelVector;
                // stride 1 with several input channels: weights read in place, no im2col copies
                if (Can(ShiftedWindow) && g.C > 1) return ShiftedWindow;
                break;
            case Conv2dPass.BackwardInput:
                // the per-call F(2×2, 5×5) forward of the adjoint (dy convolved with the flipped filters) pays as a forward would
                if (Can(WinogradF25) && WinogradPerCallPays(Conv2dAdjoint.Geometry(g))) return WinogradF25;
                if (Can(WinogradF23) && WinogradPerCallPays(Conv2dAdjoint.Geometry(g))) return WinogradF23;
                // the adjoint's output channels (the input channels C) fill the lanes, several images share the packing
                if (Can(ChannelVector) && g.N >= 2 && LanesFit(g.C)) return ChannelVector;
                // the adjoint as a stride-1 forward, weights packed into 6-row panels
                if (Can(ShiftedWindow)) return ShiftedWindow;
                break;
            case Conv2dPass.BackwardWeight:
                // one input channel: the same shallow C·R·S as the forward
                if (Can(OneChannelDirect) && g.R * g.S <= DirectMaxTaps) return OneChannelDirect;
                // F(2×2, R×R) of x and dy, the products summed over images and tiles: 36 multiply-adds per (k, c, tile) instead of 100 (16 instead of 36)
                if (Can(WinogradF25) && WinogradWeightPays(g)) return WinogradF25;
                if (Can(WinogradF23) && WinogradWeightPays(g)) return WinogradF23;
                // dy packed once into 16-channel panels shared by every tap, with several images and full lanes
                if (Can(ChannelVector) && g.C > 1 && g.N >= 2 && LanesFit(g.K) && g.StrideH == 1 && g.StrideW == 1) return ChannelVector;
                // one input channel with more taps than the direct loops take (AttentionFcn's 11×11 stride-4 first layer):
                // the taps share dy's packing, and the input is read in place instead of through strided im2col panels
                if (Can(ChannelVector) && g.C == 1 && g.R * g.S > DirectMaxTaps && LanesFit(g.K)) return ChannelVector;
                // dot products along the virtual grid beat the packed GEMM for few output channels
                if (Can(ShiftedWindow) && g.C > 1 && g.K <= ShiftedWeightMaxChannels) return ShiftedWindow;
                break;
        }
        // everything else: the packed GEMM driver
        return ImplicitGemm;
    }

    /// <summary>
    /// True when the per-call F(2×2, R×R) forward pays on <paramref name="g"/>: enough input channels
    /// and multiply-adds, full output lanes, and V of one tile row within L2.
    /// </summary>
    private static bool WinogradPerCallPays(in Conv2dGeometry g) =>
        g.C >= PerCallMinChannels(g) && LanesFit(g.K) && g.Macs >= WinogradPerCallMacs && Conv2dWinograd.RowBytes(g) <= Conv2dWinograd.RowMaxBytes;

    /// <summary>
    /// True when the F(2×2, R×R) backward-weight pays on <paramref name="g"/>: as many input channels and
    /// multiply-adds as the per-call forward needs, the input channels (the micro-tile's columns) on full lanes.
    /// </summary>
    private static bool WinogradWeightPays(in Conv2dGeometry g) =>
        g.C >= PerCallMinChannels(g) && (g.R != 3 || g.C >= WinogradF23WeightMinChannels) && LanesFit(g.C) && g.Macs >= WinogradPerCallMacs;

    /// <summary>Fewest input channels of <paramref name="g"/> for a per-call Winograd pass (by its filter size; 3×3 ones none with one image).</summary>
    private static int PerCallMinChannels(in Conv2dGeometry g) =>
        g.R != 3 ? WinogradPerCallMinChannels : g.N >= WinogradF23PerCallMinImages ? WinogradF23PerCallMinChannels : int.MaxValue;

    /// <summary>True when <paramref name="path"/> can compute <paramref name="pass"/> of <paramref name="g"/> on a CPU with <paramref name="isa"/> (each path's own Supports).</summary>
    internal static bool Supports(Conv2dPath path, Conv2dPass pass, in Conv2dGeometry g, in Conv2dIsa isa) => path switch
    {
        OneChannelDirect => Conv2dOneChannelDirect.Supports(pass, g, isa),
        WinogradF23 => Conv2dWinograd.Supports(3, pass, g, isa),
        WinogradF25 => Conv2dWinograd.Supports(5, pass, g, isa),
        ChannelVector => Conv2dChannelVector.Supports(pass, g, isa),
        ShiftedWindow => Conv2dShiftedWindow.Supports(pass, g, isa),
        ImplicitGemm => true, // Conv2dImplicitGemm runs every geometry
        _ => false,
    };
}
