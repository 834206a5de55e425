using System.Numerics.Tensors;
using System.Runtime.CompilerServices;

namespace SerEngine.Backends.Cpu;

// Fast conv2d on the GEMM driver of CpuFast.Gemm.cs, as implicit GEMMs: the im2col matrix
// col [C·R·S, OutH·OutW] of an image (col[(c, r, s), (oh, ow)] = x[c, oh·sh − pt + r·dh, ow·sw − pl + s·dw],
// zero outside the image) is never formed; the packing routines below read x through it.
// Legend: x [N, C, H, W], w [K, C, R, S] = [K, CRS], y and dy [N, K, OutH, OutW] = [N, K, OHW].
//   forward          y[n]  [K, OHW]   = w [K, CRS] · col(x[n]) [CRS, OHW]        (+ bias; items = images)
//   backward-weight  dw    [K, CRS]   = Σ_n dy[n] [K, OHW] · col(x[n])ᵀ [OHW, CRS] (one GEMM, k = N·OHW)
//   backward-input   dcol  [CRS, OHW] = wᵀ [CRS, K] · dy[n] [K, OHW], then col2im: dx[n] = Σ dcol
//                    scattered back to the input pixels (a few images at a time, col2im per channel).
// One-channel convolutions with stride 1 along W (conv1a 10×2, conv1b 2×8 of FocusCalibrationNet)
// have CRS of 16–20, too shallow for the GEMM's packing to pay; they run as direct row-by-row
// multiply-adds (vectorised along W) instead.
public partial class CpuBackend
{
    /// <summary>The direct one-channel path is used when C·R·S is at most this.</summary>
    internal const int Conv2dDirectMaxTaps = 32;

    /// <inheritdoc/>
    public override unsafe void Conv2dForward(Storage x, Storage w, Storage? bias, Storage y, in Conv2dGeometry g)
    {
        float[] xv = F(x), wv = F(w), yv = F(y);        // [N, C, H, W], [K, CRS], [N, K, OHW]
        float[]? bv = bias is null ? null : F(bias);    // [K]
        int ohw = g.OutH * g.OutW, crs = g.C * g.R * g.S;
        if (g.C == 1 && g.StrideW == 1 && crs <= Conv2dDirectMaxTaps)
        {
            Conv2dForwardDirect(xv, wv, bv, yv, g);
            return;
        }
        if (bv is not null)
            for (int n = 0; n < g.N; n++)
                for (int k = 0; k < g.K; k++) yv.AsSpan((n * g.K + k) * ohw, ohw).Fill(bv[k]);
        fixed (float* px = xv, pw = wv, py = yv)
        {
            var a = new PlainA(pw, 0, false, g.K, crs);
            var b = new Conv2dColumns(px, g);
            GemmRun(a, b, g.N, g.K, ohw, crs, 1f, bv is null ? 0f : 1f, py, (long)g.K * ohw, Threads);
        }
    }

    /// <inheritdoc/>
    public override unsafe void Conv2dBackwardWeight(Storage x, Storage dy, Storage dw, in Conv2dGeometry g)
    {
        float[] xv = F(x), dyv = F(dy), dwv = F(dw); // [N, C, H, W], [N, K, OHW], [K, CRS]
        int ohw = g.OutH * g.OutW, crs = g.C * g.R * g.S;
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
                GemmRun(a, b, count, crs, ohw, g.K, 1f, 0f, pcol, perImage, Threads);
                int first = n0;
                Parallel.For(0, count * g.C, new ParallelOptions { MaxDegreeOfParallelism = Threads },
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

    /// <summary>
    /// One-channel conv with stride 1 along W: every output row is Σ over (r, s) of w[k, r, s] times
    /// a shifted input row, one vectorised multiply-add per tap (parallel over images and channels).
    /// </summary>
    private void Conv2dForwardDirect(float[] x, float[] w, float[]? bias, float[] y, Conv2dGeometry g)
    {
        int outH = g.OutH, outW = g.OutW;
        Parallel.For(0, g.N * g.K, new ParallelOptions { MaxDegreeOfParallelism = g.N * g.K * outH * outW >= 1 << 14 ? Threads : 1 }, nk =>
        {
            int n = nk / g.K, k = nk % g.K;
            var img = x.AsSpan(n * g.H * g.W, g.H * g.W);                 // [H, W] (C = 1)
            var taps = w.AsSpan(k * g.R * g.S, g.R * g.S);                 // [R, S]
            var outPlane = y.AsSpan((n * g.K + k) * outH * outW, outH * outW); // [OutH, OutW]
            outPlane.Fill(bias is null ? 0f : bias[k]);
            for (int s = 0; s < g.S; s++)
            {
                int dw = s * g.DilationW - g.PadLeft; // iw = ow + dw
                int owStart = Math.Max(0, -dw), owEnd = Math.Min(outW, g.W - dw);
                if (owStart >= owEnd) continue;
                for (int oh = 0; oh < outH; oh++)
                {
                    var dst = outPlane.Slice(oh * outW + owStart, owEnd - owStart);
                    for (int r = 0; r < g.R; r++)
                    {
                        int ih = oh * g.StrideH - g.PadTop + r * g.DilationH;
                        if ((uint)ih >= (uint)g.H) continue;
                        TensorPrimitives.MultiplyAdd(img.Slice(ih * g.W + owStart + dw, dst.Length), taps[r * g.S + s], dst, dst);
                    }
                }
            }
        });
    }
}

/// <summary>
/// The implicit im2col matrix of image <c>item</c> as a GEMM B operand: rows (c, r, s), columns (oh, ow).
/// </summary>
internal readonly unsafe struct Conv2dColumns(float* x, Conv2dGeometry g) : IGemmPackB
{
    public void Pack(float* dst, int item, int p0, int kc, int j0, int nc, int nr)
    {
        float* img = x + (long)item * g.C * g.H * g.W; // [C, H, W]
        int outW = g.OutW, rs = g.R * g.S;
        int* hBase = stackalloc int[nr], wBase = stackalloc int[nr];
        for (int jr = 0; jr < nc; jr += nr, dst += kc * nr)
        {
            int cols = Math.Min(nr, nc - jr);
            int oh0 = (j0 + jr) / outW, ow0 = (j0 + jr) % outW;
            for (int jj = 0, oh = oh0, ow = ow0; jj < nr; jj++)
            {
                // top-left input pixel of the window of output (oh, ow); far outside for padding columns
                hBase[jj] = jj < cols ? oh * g.StrideH - g.PadTop : int.MinValue / 2;
                wBase[jj] = jj < cols ? ow * g.StrideW - g.PadLeft : int.MinValue / 2;
                if (++ow == outW) { ow = 0; oh++; }
            }
            // a full panel inside one output row with stride 1 reads nr consecutive input floats
            bool run = g.StrideW == 1 && cols == nr && ow0 + nr <= outW;
            int c = p0 / rs, r = p0 % rs / g.S, s = p0 % g.S;
            for (int p = 0; p < kc; p++)
            {
                float* d = dst + p * nr;
                float* plane = img + (long)c * g.H * g.W;
                int dh = r * g.DilationH, dwv = s * g.DilationW;
                int ih = hBase[0] + dh, iw = wBase[0] + dwv;
                if (run && (uint)ih < (uint)g.H && iw >= 0 && iw + nr <= g.W)
                {
                    Unsafe.CopyBlockUnaligned(d, plane + (long)ih * g.W + iw, (uint)(nr * sizeof(float)));
                }
                else
                {
                    for (int jj = 0; jj < nr; jj++)
                    {
                        int h = hBase[jj] + dh, wc = wBase[jj] + dwv;
                        d[jj] = (uint)h < (uint)g.H && (uint)wc < (uint)g.W ? plane[(long)h * g.W + wc] : 0f;
                    }
                }
                if (++s == g.S) { s = 0; if (++r == g.R) { r = 0; c++; } }
            }
        }
    }
}

/// <summary>
/// The im2col matrices of all images, transposed and stacked, as a GEMM B operand:
/// rows (n, oh, ow), columns (c, r, s).
/// </summary>
internal readonly unsafe struct Conv2dColumnsTransposed(float* x, Conv2dGeometry g) : IGemmPackB
{
    public void Pack(float* dst, int item, int p0, int kc, int j0, int nc, int nr)
    {
        int outH = g.OutH, outW = g.OutW, ohw = outH * outW, rs = g.R * g.S;
        long plane = (long)g.H * g.W, image = g.C * plane;
        long* offset = stackalloc long[nr];
        int* dh = stackalloc int[nr], dwv = stackalloc int[nr];
        for (int jr = 0; jr < nc; jr += nr, dst += kc * nr)
        {
            int cols = Math.Min(nr, nc - jr);
            for (int jj = 0; jj < nr; jj++)
            {
                int j = j0 + jr + jj;
                int c = j / rs, r = j % rs / g.S, s = j % g.S;
                offset[jj] = c * plane;
                dh[jj] = jj < cols ? r * g.DilationH : int.MinValue / 2; // padding columns read nothing
                dwv[jj] = s * g.DilationW;
            }
            int n = p0 / ohw, oh = p0 % ohw / outW, ow = p0 % outW;
            for (int p = 0; p < kc; p++)
            {
                float* d = dst + p * nr;
                float* img = x + n * image;
                int hb = oh * g.StrideH - g.PadTop, wb = ow * g.StrideW - g.PadLeft;
                for (int jj = 0; jj < nr; jj++)
                {
                    int h = hb + dh[jj], wc = wb + dwv[jj];
                    d[jj] = (uint)h < (uint)g.H && (uint)wc < (uint)g.W ? img[offset[jj] + (long)h * g.W + wc] : 0f;
                }
                if (++ow == outW) { ow = 0; if (++oh == outH) { oh = 0; n++; } }
            }
        }
    }
}

/// <summary>dy of all images as a GEMM A operand: rows k, columns (n, oh, ow), i.e. [K, N·OHW] read from [N, K, OHW].</summary>
internal readonly unsafe struct Conv2dOutputRows(float* dy, int k, int ohw) : IGemmPackA
{
    public void Pack(float* dst, int item, int i0, int mc, int p0, int kc)
    {
        const int mr = CpuBackend.GemmMR;
        for (int ir = 0; ir < mc; ir += mr, dst += kc * mr)
        {
            int rows = Math.Min(mr, mc - ir);
            for (int r = 0; r < mr; r++)
            {
                float* d = dst + r;
                if (r >= rows)
                {
                    for (int q = 0; q < kc; q++) d[q * mr] = 0f;
                    continue;
                }
                int row = i0 + ir + r;
                // walk the columns image by image: each image contributes a contiguous run of dy[n, row, :]
                int p = 0, n = p0 / ohw, at = p0 % ohw;
                while (p < kc)
                {
                    int len = Math.Min(kc - p, ohw - at);
                    float* src = dy + ((long)n * k + row) * ohw + at;
                    for (int q = 0; q < len; q++) d[(p + q) * mr] = src[q];
                    p += len;
                    n++;
                    at = 0;
                }
            }
        }
    }
}
