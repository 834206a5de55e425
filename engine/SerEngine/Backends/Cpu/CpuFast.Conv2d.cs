using System.Numerics.Tensors;

namespace SerEngine.Backends.Cpu;

// Fast conv2d on the GEMM driver of CpuFast.Gemm.cs, as implicit GEMMs: the im2col matrix
// col [C·R·S, OutH·OutW] of an image (col[(c, r, s), (oh, ow)] = x[c, oh·sh − pt + r·dh, ow·sw − pl + s·dw],
// zero outside the image) is never formed; the packing routines below read x through it.
// Legend: x [N, C, H, W], w [K, C, R, S] = [K, CRS], y and dy [N, K, OutH, OutW] = [N, K, OHW].
//   forward          y[n]  [K, OHW]   = w [K, CRS] · col(x[n]) [CRS, OHW]        (+ bias; items = images)
//   backward-weight  dw    [K, CRS]   = Σ_n dy[n] [K, OHW] · col(x[n])ᵀ [OHW, CRS] (one GEMM, k = N·OHW)
//   backward-input   dcol  [CRS, OHW] = wᵀ [CRS, K] · dy[n] [K, OHW], then col2im: dx[n] = Σ dcol
//                    scattered back to the input pixels (a few images at a time, col2im per channel).
//                    (Measured: for stride 1 this beats the implicit GEMM of dy with the flipped
//                    weights, whose packing of K·R·S rows per pixel is shared by only C rows.)
// 5×5 convolutions with stride 1 and enough channels run forward and backward-input as Winograd
// F(2×2, 5×5) (CpuFast.Conv2dWinograd.cs, filters transformed per call; packed 3×3 weights too).
// Convolutions whose channel counts fill 16-lane panels run as channel-vector tiles (16 output
// channels × 6 pixels or taps; CpuFast.Conv2dChannels.cs, CpuFast.Conv2dBackwardWeight.cs): forward
// at any stride with several images (or one with ≥ 16 M multiply-adds), both backward passes at
// stride 1 with several images. The rest of stride 1 runs as shifted-window tiles (CpuFast.Conv2dShifted.cs).
// One-channel convolutions with stride 1 along W (conv1a 10×2, conv1b 2×8 of FocusCalibrationNet)
// have CRS of 16–20, too shallow for the GEMM's packing to pay: their forward and backward-weight
// passes run as register-blocked direct loops instead (CpuFast.Conv2dDirect.cs).
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

    /// <inheritdoc/>
    public override void Conv2dForward(Storage x, Storage w, Storage? bias, Storage y, in Conv2dGeometry g) =>
        Conv2dForwardCore(x, w, bias, y, g, relu: false);

    /// <inheritdoc/>
    /// <remarks>The direct, Winograd, channel-vector and shifted kernels apply bias and ReLU in their store; the GEMM path runs ReLU after.</remarks>
    public override void Conv2dForwardRelu(Storage x, Storage w, Storage? bias, Storage y, in Conv2dGeometry g) =>
        Conv2dForwardCore(x, w, bias, y, g, relu: true);

    private unsafe void Conv2dForwardCore(Storage x, Storage w, Storage? bias, Storage y, in Conv2dGeometry g, bool relu)
    {
        float[] xv = F(x), wv = F(w), yv = F(y);        // [N, C, H, W], [K, CRS], [N, K, OHW]
        float[]? bv = bias is null ? null : F(bias);    // [K]
        int ohw = g.OutH * g.OutW, crs = g.C * g.R * g.S;
        switch (ChooseConv2dPath(Conv2dPass.Forward, g))
        {
            case Conv2dPath.OneChannelDirect:
                Conv2dForwardDirect(xv, wv, bv, yv, g, relu);
                return;
            case Conv2dPath.WinogradF23 or Conv2dPath.WinogradF25:
                Conv2dForwardWinograd(xv, wv, bv, yv, g, relu);
                return;
            case Conv2dPath.ChannelVector:
                Conv2dForwardChannels(xv, wv, bv, yv, g, relu);
                return;
            case Conv2dPath.ShiftedWindow:
                Conv2dForwardShifted(xv, wv, bv, yv, g, relu);
                return;
        }
        if (bv is not null)
            for (int n = 0; n < g.N; n++)
                for (int k = 0; k < g.K; k++) yv.AsSpan((n * g.K + k) * ohw, ohw).Fill(bv[k]);
        fixed (float* px = xv, pw = wv, py = yv)
        {
            var a = new PlainA(pw, 0, false, g.K, crs);
            var b = new Conv2dColumns(px, g);
            GemmRun(a, b, g.N, g.K, ohw, crs, 1f, bv is null ? 0f : 1f, py, (long)g.K * ohw, Threads, aShared: true);
        }
        if (relu) Unary(UnaryOp.Relu, y, y, g.N * g.K * ohw, 0f);
    }

    /// <inheritdoc/>
    public override unsafe void Conv2dBackwardWeight(Storage x, Storage dy, Storage dw, in Conv2dGeometry g)
    {
        float[] xv = F(x), dyv = F(dy), dwv = F(dw); // [N, C, H, W], [N, K, OHW], [K, CRS]
        int ohw = g.OutH * g.OutW, crs = g.C * g.R * g.S;
        switch (ChooseConv2dPath(Conv2dPass.BackwardWeight, g))
        {
            case Conv2dPath.OneChannelDirect:
                Conv2dBackwardWeightDirect(xv, dyv, dwv, g);
                return;
            case Conv2dPath.ChannelVector:
                Conv2dBackwardWeightChannels(xv, dyv, dwv, g);
                return;
            case Conv2dPath.ShiftedWindow:
                Conv2dBackwardWeightShifted(xv, dyv, dwv, g);
                return;
        }
        fixed (float* px = xv, pdy = dyv, pdw = dwv)
        {
            var a = new Conv2dOutputRows(pdy, g.K, ohw);
            var b = new Conv2dColumnsTransposed(px, g);
            GemmRun(a, b, 1, g.K, crs, g.N * ohw, 1f, 0f, pdw, 0, Threads);
        }
    }

    /// <inheritdoc/>
    public override unsafe void Conv2dBackwardInput(Storage dy, Storage w, Storage dx, in Conv2dGeometry g)
    {
        float[] dyv = F(dy), wv = F(w), dxv = F(dx); // [N, K, OHW], [K, CRS], [N, C, H, W]
        switch (ChooseConv2dPath(Conv2dPass.BackwardInput, g))
        {
            case Conv2dPath.WinogradF23 or Conv2dPath.WinogradF25:
                Conv2dBackwardInputWinograd(dyv, wv, dxv, g);
                return;
            case Conv2dPath.ChannelVector:
                Conv2dBackwardInputChannels(dyv, wv, dxv, g);
                return;
            case Conv2dPath.ShiftedWindow:
                Conv2dBackwardInputShifted(dyv, wv, dxv, g);
                return;
        }
        int ohw = g.OutH * g.OutW, crs = g.C * g.R * g.S;
        // images per group: enough to share among the threads, with dcol capped at ~16 M floats
        long perImage = (long)crs * ohw;
        int group = (int)Math.Clamp((1L << 24) / Math.Max(perImage, 1), 1, Math.Max(1, Math.Min(g.N, 2 * Threads)));
        var dcol = GC.AllocateUninitializedArray<float>((int)(group * perImage)); // [group, CRS, OHW]
        var geo = g;
        fixed (float* pdy = dyv, pw = wv, pcol = dcol)
        {
            var a = new PlainA(pw, 0, true, crs, g.K);
            for (int n0 = 0; n0 < g.N; n0 += group)
            {
                int count = Math.Min(group, g.N - n0);
                var b = new PlainB(pdy + (long)n0 * g.K * ohw, (long)g.K * ohw, false, g.K, ohw);
                GemmRun(a, b, count, crs, ohw, g.K, 1f, 0f, pcol, perImage, Threads, aShared: true);
                int first = n0;
                ParallelFor(count * g.C, count * perImage >= 1 << 16 ? Threads : 1,
                    plane => Col2Im(dcol, (plane / geo.C) * perImage, dxv, first + plane / geo.C, plane % geo.C, geo));
            }
        }
    }

    /// <summary>dx[n, c] = the dcol rows (c, r, s) of one image added back onto the pixels they were read from.</summary>
    private static void Col2Im(float[] dcol, long colOffset, float[] dx, int n, int c, in Conv2dGeometry g)
    {
        int outH = g.OutH, outW = g.OutW, hw = g.H * g.W;
        var plane = dx.AsSpan((n * g.C + c) * hw, hw); // [H, W]
        plane.Clear();
        for (int r = 0; r < g.R; r++)
            for (int s = 0; s < g.S; s++)
            {
                long row = colOffset + ((long)(c * g.R + r) * g.S + s) * outH * outW; // dcol[(c, r, s), :]
                int shift = s * g.DilationW - g.PadLeft;
                // output columns whose input column iw = ow·sw + shift lies inside 0..W−1
                int owStart = shift >= 0 ? 0 : (-shift + g.StrideW - 1) / g.StrideW;
                int owEnd = Math.Min(outW, g.W - 1 - shift < 0 ? 0 : (g.W - 1 - shift) / g.StrideW + 1);
                if (owStart >= owEnd) continue;
                for (int oh = 0; oh < outH; oh++)
                {
                    int ih = oh * g.StrideH - g.PadTop + r * g.DilationH;
                    if ((uint)ih >= (uint)g.H) continue;
                    var src = dcol.AsSpan((int)(row + oh * outW + owStart), owEnd - owStart);
                    int iw0 = owStart * g.StrideW + shift;
                    if (g.StrideW == 1)
                    {
                        var dst = plane.Slice(ih * g.W + iw0, src.Length);
                        TensorPrimitives.Add(dst, src, dst);
                    }
                    else
                    {
                        for (int i = 0; i < src.Length; i++) plane[ih * g.W + iw0 + i * g.StrideW] += src[i];
                    }
                }
            }
    }
}
