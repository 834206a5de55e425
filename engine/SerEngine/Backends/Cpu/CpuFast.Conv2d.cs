namespace SerEngine.Backends.Cpu;

// Fast conv2d: the CpuBackend primitives choose a path (CpuBackend.ChooseConv2dPath, whose rules,
// in order and each with its reason, are Conv2dRouting.cs) and run it. The paths, one type each in
// Conv2d/, simplest to most specialised:
//   implicit-gemm        Conv2dImplicitGemm      the GEMM driver reading im2col without forming it; any geometry
//   shifted-window       Conv2dShiftedWindow     6 channels × 16 outputs read straight from the padded image; stride 1
//   channel-vector       Conv2dChannelVector     16 channels × 6 pixels or taps per register tile; forward at any stride
//   one-channel-direct   Conv2dOneChannelDirect  register-blocked loops for one input channel (FocusCalibrationNet's conv1a, conv1b)
//   winograd-f23, -f25   Conv2dWinograd          F(2×2, 3×3) and F(2×2, 5×5): fewer multiplies, filters packed once or per call
// What they share: the padded image and tap offsets (Conv2dPaddedImage.cs), the adjoint geometry
// backward-input runs as a forward (Conv2dAdjoint.cs), bias + ReLU in the store (Conv2dEpilogue.cs).
// SERENGINE_CPU_CONV2D_PATH (Conv2dPathSettings) forces or disables paths by name.
public partial class CpuBackend
{
    private Conv2dPathSettings? _conv2dPaths;

    /// <summary>
    /// The conv2d paths this backend may take: one forced, some disabled, or neither (the default).
    /// Starts as <c>$SERENGINE_CPU_CONV2D_PATH</c> (<see cref="Conv2dPathSettings"/>), read on first use.
    /// </summary>
    /// <exception cref="ArgumentException">the environment variable does not parse.</exception>
    public Conv2dPathSettings Conv2dPaths
    {
        get => _conv2dPaths ??= Conv2dPathSettings.FromEnvironment();
        set => _conv2dPaths = value;
    }

    /// <summary>
    /// The path that runs <paramref name="pass"/> of <paramref name="g"/> on this machine with
    /// <see cref="Conv2dPaths"/>: the forced path where it supports them, else the first routing
    /// rule that holds (Conv2dRouting.cs lists them in order, each with its reason).
    /// </summary>
    public Conv2dPath ChooseConv2dPath(Conv2dPass pass, in Conv2dGeometry g) => Conv2dRouting.Choose(pass, g, Conv2dPaths, Conv2dIsa.Host);

    /// <summary>
    /// Outputs per tile side when <paramref name="pass"/> of <paramref name="g"/> runs on a Winograd path: 4 where the
    /// per-call forward or backward-input takes F(4×4, r×r) (Conv2dWinograd.TileSize), the backward-weight does
    /// (Conv2dWinograd.WeightTileSize) or packed filters do (Conv2dWinograd.PackedTileSize), else 2;
    /// 0 when the pass runs on another path.
    /// </summary>
    public int Conv2dWinogradTile(Conv2dPass pass, in Conv2dGeometry g)
    {
        if (!IsWinograd(ChooseConv2dPath(pass, g))) return 0;
        return pass switch
        {
            Conv2dPass.Forward => Conv2dWinograd.TileSize(g),
            Conv2dPass.BackwardInput => Conv2dWinograd.TileSize(Conv2dAdjoint.Geometry(g), adjoint: true),
            Conv2dPass.BackwardWeight => Conv2dWinograd.WeightTileSize(g),
            Conv2dPass.ForwardPacked => Conv2dWinograd.PackedTileSize(g),
            _ => 2,
        };
    }

    /// <inheritdoc/>
    public override void Conv2dForward(Storage x, Storage w, Storage? bias, Storage y, in Conv2dGeometry g) =>
        Conv2dForwardCore(x, w, bias, y, g, relu: false);

    /// <inheritdoc/>
    /// <remarks>The direct, Winograd, channel-vector and shifted kernels apply bias and ReLU in their store; the GEMM path runs ReLU after.</remarks>
    public override void Conv2dForwardRelu(Storage x, Storage w, Storage? bias, Storage y, in Conv2dGeometry g) =>
        Conv2dForwardCore(x, w, bias, y, g, relu: true);

    private void Conv2dForwardCore(Storage x, Storage w, Storage? bias, Storage y, in Conv2dGeometry g, bool relu)
    {
        float[] xv = F(x), wv = F(w), yv = F(y);        // [N, C, H, W], [K, CRS], [N, K, OHW]
        float[]? bv = bias is null ? null : F(bias);    // [K]
        switch (ChooseConv2dPath(Conv2dPass.Forward, g))
        {
            case Conv2dPath.OneChannelDirect:
                Conv2dOneChannelDirect.Forward(xv, wv, bv, yv, g, relu, Threads);
                return;
            case Conv2dPath.WinogradF23 or Conv2dPath.WinogradF25:
                Conv2dWinograd.ForwardPerCall(xv, wv, bv, yv, g, relu, Threads);
                return;
            case Conv2dPath.ChannelVector:
                Conv2dChannelVector.Forward(xv, wv, bv, yv, g, relu, Threads);
                return;
            case Conv2dPath.ShiftedWindow:
                Conv2dShiftedWindow.Forward(xv, wv, bv, yv, g, relu, Threads);
                return;
            default:
                Conv2dImplicitGemm.Forward(this, xv, wv, bv, yv, g);
                if (relu) Unary(UnaryOp.Relu, y, y, g.N * g.K * g.OutH * g.OutW, 0f);
                return;
        }
    }

    /// <inheritdoc/>
    /// <remarks>Filters that the routing gives a Winograd path (<see cref="Conv2dPass.ForwardPacked"/>) are transformed into Winograd panels once.</remarks>
    public override PackedConv2dWeight PackConv2dWeight(Storage w, in Conv2dGeometry g) =>
        IsWinograd(ChooseConv2dPath(Conv2dPass.ForwardPacked, g))
            ? new Conv2dWinogradWeight(this, w, g, Conv2dWinograd.Panels(F(w), g, Threads)) : base.PackConv2dWeight(w, g);

    /// <inheritdoc/>
    public override unsafe void Conv2dForwardPacked(Storage x, PackedConv2dWeight w, Storage? bias, Storage y, in Conv2dGeometry g, bool relu)
    {
        if (w is Conv2dWinogradWeight u && ReferenceEquals(w.Backend, this) && IsWinograd(ChooseConv2dPath(Conv2dPass.ForwardPacked, g)))
        {
            w.Check(g);
            Conv2dWinograd.ForwardPacked(F(x), (float*)Align64(u.Panels), bias is null ? null : F(bias), F(y), g, relu, Threads); // pinned
            return;
        }
        base.Conv2dForwardPacked(x, w, bias, y, g, relu);
    }

    /// <inheritdoc/>
    /// <remarks>
    /// On the Winograd path of <see cref="Conv2dForwardPacked"/> the conv runs over the outputs the pool reads (an odd last
    /// row or column cut by taking one padding less at the bottom or right) and pools each 2×2 tile as it stores it.
    /// </remarks>
    public override unsafe void Conv2dForwardPackedReluMaxPool(Storage x, PackedConv2dWeight w, Storage? bias, Storage y, in Conv2dGeometry g)
    {
        var cut = g with { PadBottom = g.PadBottom - g.OutH % 2, PadRight = g.PadRight - g.OutW % 2 }; // output [2·⌊OutH/2⌋, 2·⌊OutW/2⌋]
        // a pool window is one 2×2 tile or a quarter of a 4×4 tile of 3×3 filters (Conv2dWinograd.PooledTileSize; panels
        // for another tile size than the packed one are kept beside them); 5×5 filters packed for 4×4 tiles take the default
        int tile = Conv2dWinograd.PooledTileSize(g);
        if (w is Conv2dWinogradWeight u && ReferenceEquals(w.Backend, this) && cut.PadBottom >= 0 && cut.PadRight >= 0
            && IsWinograd(ChooseConv2dPath(Conv2dPass.ForwardPacked, g)) && (tile == 2 || g.R == 3))
        {
            w.Check(g);
            float[] panels = tile == Conv2dWinograd.PackedTileSize(g) ? u.Panels : u.PooledPanels(Threads);
            Conv2dWinograd.Forward(F(x), (float*)Align64(panels), bias is null ? null : F(bias), F(y), cut, relu: true, Threads, pool: true, m: tile); // pinned
            return;
        }
        base.Conv2dForwardPackedReluMaxPool(x, w, bias, y, g);
    }

    private static bool IsWinograd(Conv2dPath path) => path is Conv2dPath.WinogradF23 or Conv2dPath.WinogradF25;

    /// <inheritdoc/>
    public override void Conv2dBackwardWeight(Storage x, Storage dy, Storage dw, in Conv2dGeometry g)
    {
        float[] xv = F(x), dyv = F(dy), dwv = F(dw); // [N, C, H, W], [N, K, OHW], [K, CRS]
        switch (ChooseConv2dPath(Conv2dPass.BackwardWeight, g))
        {
            case Conv2dPath.OneChannelDirect:
                Conv2dOneChannelDirect.BackwardWeight(xv, dyv, dwv, g, Threads);
                return;
            case Conv2dPath.WinogradF23 or Conv2dPath.WinogradF25:
                Conv2dWinograd.BackwardWeight(xv, dyv, dwv, g, Threads);
                return;
            case Conv2dPath.ChannelVector:
                Conv2dChannelVector.BackwardWeight(xv, dyv, dwv, g, Threads);
                return;
            case Conv2dPath.ShiftedWindow:
                Conv2dShiftedWindow.BackwardWeight(xv, dyv, dwv, g, Threads);
                return;
            default:
                Conv2dImplicitGemm.BackwardWeight(this, xv, dyv, dwv, g);
                return;
        }
    }

    /// <inheritdoc/>
    public override void Conv2dBackwardInput(Storage dy, Storage w, Storage dx, in Conv2dGeometry g)
    {
        float[] dyv = F(dy), wv = F(w), dxv = F(dx); // [N, K, OHW], [K, CRS], [N, C, H, W]
        switch (ChooseConv2dPath(Conv2dPass.BackwardInput, g))
        {
            case Conv2dPath.WinogradF23 or Conv2dPath.WinogradF25:
                Conv2dWinograd.BackwardInput(dyv, wv, dxv, g, Threads);
                return;
            case Conv2dPath.ChannelVector:
                Conv2dChannelVector.BackwardInput(dyv, wv, dxv, g, Threads);
                return;
            case Conv2dPath.ShiftedWindow:
                Conv2dShiftedWindow.BackwardInput(dyv, wv, dxv, g, Threads);
                return;
            default:
                Conv2dImplicitGemm.BackwardInput(this, dyv, wv, dxv, g);
                return;
        }
    }
}
