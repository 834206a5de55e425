using ILGPU;

namespace SerEngine.Ilgpu.Kernels;

/// <summary>The geometry every conv2d kernel takes (kernels/conv2d.cl's CONV_GEOMETRY, as one struct).</summary>
internal readonly record struct ConvGeometry(int N, int C, int H, int W, int K, int R, int S, int OH, int OW,
    int StrideH, int StrideW, int PadTop, int PadLeft, int DilH, int DilW);

/// <summary>
/// 2-D convolution (cross-correlation, as PyTorch), the twin of kernels/conv2d.cl with the same
/// variants and kernel names (IlgpuBackend.Conv2dVariant):
///   direct          one thread per output element (grid-stride): fwd_direct (per y), bwd_input_direct
///                   (per dx, gathers every (k, r, s) that reaches it), bwd_weight_direct (per dw).
///   im2col_gemm     im2col writes col [images, C·R·S, P], then GemmKernels multiplies; col2im gathers
///                   dx from dcol; add_bias; sum_partials adds per-image dw partials in order.
///   implicit_gemm   DEFAULT. The three GEMMs with gemm_tiled_regblock's tiling (TSM×TSN tiles, TSK
///                   slabs, WPTM×WPTN per thread, 16×8 threads), operand slabs gathered from x / dy / w
///                   on the fly (no column buffer):
///                     forward          C[k, (n,oh,ow)] = Σ_(c,r,s) w · x-patch (+ bias)
///                     backward-input   C[c, (n,h,w)]   = Σ_(k,r,s) w · dy (0 where the stride skips)
///                     backward-weight  C[k, (c,r,s)]   = Σ_(n,oh,ow) dy · x-patch, split-K along grid z,
///                                      partials summed by sum_partials.
/// Dimensions: x [N, C, H, W], w [K, C, R, S], y [N, K, OH, OW], P = OH·OW. Input row of output row
/// oh and kernel row r: h = oh·strideH − padTop + r·dilH (likewise w); outside the input reads 0.
/// </summary>
internal static class Conv2dKernels
{
    public const int TSM = GemmKernels.TSM, TSN = GemmKernels.TSN, TSK = GemmKernels.TSK;
    public const int WPTM = GemmKernels.WPTM, WPTN = GemmKernels.WPTN, RTSM = GemmKernels.RTSM, RTSN = GemmKernels.RTSN;
    public const int NT = RTSM * RTSN; // threads per implicit-GEMM group (a multiple of TSN covering TSK rows evenly)

    // ---- direct ----------------------------------------------------------------------------------

    /// <summary>fwd_direct: one thread per y element (n, k, p), grid-stride.</summary>
    public static void FwdDirect(ArrayView<float> x, ArrayView<float> wt, ArrayView<float> bias, int hasBias, ArrayView<float> y, ConvGeometry g)
    {
        int p0 = g.OH * g.OW, total = g.N * g.K * p0;
        for (int idx = Grid.GlobalIndex.X; idx < total; idx += Grid.DimX * Group.DimX)
        {
            int p = idx % p0, nk = idx / p0, k = nk % g.K, n = nk / g.K;
            int oh = p / g.OW, ow = p - oh * g.OW;
            int h0 = oh * g.StrideH - g.PadTop, w0 = ow * g.StrideW - g.PadLeft;
            float acc = 0f;
            for (int c = 0; c < g.C; c++)
            {
                int xc = (n * g.C + c) * g.H * g.W, wc = (k * g.C + c) * g.R * g.S;
                for (int r = 0; r < g.R; r++)
                {
                    int h = h0 + r * g.DilH;
                    if (h < 0 || h >= g.H) continue;
                    for (int s = 0; s < g.S; s++)
                    {
                        int w = w0 + s * g.DilW;
                        if (w >= 0 && w < g.W) acc += x[xc + h * g.W + w] * wt[wc + r * g.S + s];
                    }
                }
            }
            if (hasBias != 0) acc += bias[k];
            y[idx] = acc;
        }
    }

    /// <summary>bwd_input_direct: one thread per dx element (n, c, h, w), gathering the (k, r, s) that reach it.</summary>
    public static void BwdInputDirect(ArrayView<float> dy, ArrayView<float> wt, ArrayView<float> dx, ConvGeometry g)
    {
        int hw0 = g.H * g.W, total = g.N * g.C * hw0;
        for (int idx = Grid.GlobalIndex.X; idx < total; idx += Grid.DimX * Group.DimX)
        {
            int hw = idx % hw0, nc = idx / hw0, c = nc % g.C, n = nc / g.C;
            int h = hw / g.W, w = hw - h * g.W;
            float acc = 0f;
            for (int r = 0; r < g.R; r++)
            {
                int th = h + g.PadTop - r * g.DilH; // = oh·strideH when output row oh reads this row
                if (th < 0 || th % g.StrideH != 0 || th / g.StrideH >= g.OH) continue;
                int oh = th / g.StrideH;
                for (int s = 0; s < g.S; s++)
                {
                    int tw = w + g.PadLeft - s * g.DilW;
                    if (tw < 0 || tw % g.StrideW != 0 || tw / g.StrideW >= g.OW) continue;
                    int ow = tw / g.StrideW;
                    for (int k = 0; k < g.K; k++)
                        acc += dy[((n * g.K + k) * g.OH + oh) * g.OW + ow] * wt[((k * g.C + c) * g.R + r) * g.S + s];
                }
            }
            dx[idx] = acc;
        }
    }

    /// <summary>bwd_weight_direct: one thread per dw element (k, c, r, s), summing over N·OH·OW.</summary>
    public static void BwdWeightDirect(ArrayView<float> x, ArrayView<float> dy, ArrayView<float> dw, ConvGeometry g)
    {
        int rs0 = g.R * g.S, crs0 = g.C * rs0, total = g.K * crs0;
        for (int idx = Grid.GlobalIndex.X; idx < total; idx += Grid.DimX * Group.DimX)
        {
            int k = idx / crs0, crs = idx - k * crs0, c = crs / rs0, rs = crs - c * rs0, r = rs / g.S, s = rs - r * g.S;
            float acc = 0f;
            for (int n = 0; n < g.N; n++)
            {
                int xc = (n * g.C + c) * g.H * g.W, dyk = (n * g.K + k) * g.OH * g.OW;
                for (int oh = 0; oh < g.OH; oh++)
                {
                    int h = oh * g.StrideH - g.PadTop + r * g.DilH;
                    if (h < 0 || h >= g.H) continue;
                    for (int ow = 0; ow < g.OW; ow++)
                    {
                        int w = ow * g.StrideW - g.PadLeft + s * g.DilW;
                        if (w >= 0 && w < g.W) acc += dy[dyk + oh * g.OW + ow] * x[xc + h * g.W + w];
                    }
                }
            }
            dw[idx] = acc;
        }
    }

    // ---- im2col + GEMM ---------------------------------------------------------------------------

    /// <summary>im2col: col [images, C·R·S, P] for images n0 .. n0 + images − 1 (grid-stride over col).</summary>
    public static void Im2col(ArrayView<float> x, int n0, int images, ArrayView<float> col, ConvGeometry g)
    {
        int p0 = g.OH * g.OW, rs0 = g.R * g.S, crs0 = g.C * rs0, total = images * crs0 * p0;
        for (int idx = Grid.GlobalIndex.X; idx < total; idx += Grid.DimX * Group.DimX)
        {
            int p = idx % p0, mc = idx / p0, crs = mc % crs0, m = mc / crs0;
            int oh = p / g.OW, ow = p - oh * g.OW;
            int c = crs / rs0, rs = crs - c * rs0, r = rs / g.S, s = rs - r * g.S;
            int h = oh * g.StrideH - g.PadTop + r * g.DilH, w = ow * g.StrideW - g.PadLeft + s * g.DilW;
            col[idx] = h >= 0 && h < g.H && w >= 0 && w < g.W ? x[((n0 + m) * g.C + c) * g.H * g.W + h * g.W + w] : 0f;
        }
    }

    /// <summary>col2im: the adjoint of im2col as a gather into dx[n0 + m, c, h, w].</summary>
    public static void Col2im(ArrayView<float> col, int n0, int images, ArrayView<float> dx, ConvGeometry g)
    {
        int hw0 = g.H * g.W, p0 = g.OH * g.OW, total = images * g.C * hw0;
        for (int idx = Grid.GlobalIndex.X; idx < total; idx += Grid.DimX * Group.DimX)
        {
            int hw = idx % hw0, mc = idx / hw0, c = mc % g.C, m = mc / g.C;
            int h = hw / g.W, w = hw - h * g.W;
            int colc = (m * g.C + c) * g.R * g.S * p0; // rows (c, 0, 0) .. (c, R−1, S−1)
            float acc = 0f;
            for (int r = 0; r < g.R; r++)
            {
                int th = h + g.PadTop - r * g.DilH;
                if (th < 0 || th % g.StrideH != 0 || th / g.StrideH >= g.OH) continue;
                int oh = th / g.StrideH;
                for (int s = 0; s < g.S; s++)
                {
                    int tw = w + g.PadLeft - s * g.DilW;
                    if (tw < 0 || tw % g.StrideW != 0 || tw / g.StrideW >= g.OW) continue;
                    acc += col[colc + (r * g.S + s) * p0 + oh * g.OW + tw / g.StrideW];
                }
            }
            dx[(n0 * g.C) * hw0 + idx] = acc;
        }
    }

    /// <summary>add_bias: y[n, k, p] += bias[k] over planes·P elements.</summary>
    public static void AddBias(ArrayView<float> y, ArrayView<float> bias, int k, int p, int planes) // y [planes, P], bias [K]
    {
        int total = planes * p;
        for (int idx = Grid.GlobalIndex.X; idx < total; idx += Grid.DimX * Group.DimX) y[idx] += bias[idx / p % k];
    }

    /// <summary>sum_partials: dw[i] (+)= Σ_z partial[z·length + i], in a fixed order (deterministic).</summary>
    public static void SumPartials(ArrayView<float> partial, ArrayView<float> dw, int parts, int length, int accumulate)
    {
        for (int i = Grid.GlobalIndex.X; i < length; i += Grid.DimX * Group.DimX)
        {
            float acc = accumulate != 0 ? dw[i] : 0f;
            for (int z = 0; z < parts; z++) acc += partial[z * length + i];
            dw[i] = acc;
        }
    }
}
