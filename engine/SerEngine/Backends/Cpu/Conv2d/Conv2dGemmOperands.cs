using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace SerEngine.Backends.Cpu;

// Packing routines that read conv2d operands as GEMM matrices without forming them (implicit im2col).
// Legend: x [N, C, H, W], dy [N, K, OutH, OutW]; col(x[n]) [(c, r, s), (oh, ow)] with
//   col[(c, r, s), (oh, ow)] = x[n, c, ih, iw], ih = oh·sh − pt + r·dh, iw = ow·sw − pl + s·dw (0 outside).
// Both column packers walk runs of consecutive ow inside one output row ("segments"): along such a
// run the input row is fixed and iw moves by sw, so each run is a zero head, a strided (or, for
// sw = 1, contiguous) copy, and a zero tail, with the bounds worked out once per run. The
// transposed packer (rows are pixels, columns are taps) moves 8 taps × 8 pixels at a time through
// an in-register transpose wherever all eight taps read inside the image.

/// <summary>Helpers shared by the conv2d packers.</summary>
internal static unsafe class Conv2dPack
{
    /// <summary>
    /// For every kernel column s: the output columns [lo[s], hi[s]) whose input column
    /// ow·sw − padLeft + s·dw lies inside 0..W−1 (lo = hi when none).
    /// </summary>
    public static void ValidColumns(in Conv2dGeometry g, int* lo, int* hi)
    {
        int outW = g.OutW;
        for (int s = 0; s < g.S; s++)
        {
            int shift = s * g.DilationW - g.PadLeft;
            int l = shift >= 0 ? 0 : (-shift + g.StrideW - 1) / g.StrideW;
            int h = g.W - 1 - shift < 0 ? 0 : Math.Min(outW, (g.W - 1 - shift) / g.StrideW + 1);
            lo[s] = Math.Min(l, h);
            hi[s] = h;
        }
    }

    /// <summary>dst[t·step] = row[(ow + t)·sw + shift] for t in [0, len), zero where the column is outside [lo, hi).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void CopyRun(float* dst, long step, float* row, int ow, int len, int lo, int hi, int sw, int shift)
    {
        int a = Math.Clamp(lo - ow, 0, len), b = Math.Clamp(hi - ow, a, len);
        int t = 0;
        for (; t < a; t++) dst[t * step] = 0f;
        float* src = row + (long)ow * sw + shift;
        if (step == 1 && sw == 1)
        {
            CpuBackend.CopyFloats(dst + a, src + a, b - a);
            t = b;
        }
        else
        {
            for (; t < b; t++) dst[t * step] = src[(long)t * sw];
        }
        for (; t < len; t++) dst[t * step] = 0f;
    }

    /// <summary>
    /// dst[t·step + i] = rows[i][at + t] for i, t in 0..7: eight runs of eight floats, transposed in
    /// registers (unpack, shuffle, lane permute) so the packed panel is written a row at a time.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Transpose8x8(float** rows, int at, float* dst, long step)
    {
        var r0 = Vector256.Load(rows[0] + at); var r1 = Vector256.Load(rows[1] + at);
        var r2 = Vector256.Load(rows[2] + at); var r3 = Vector256.Load(rows[3] + at);
        var r4 = Vector256.Load(rows[4] + at); var r5 = Vector256.Load(rows[5] + at);
        var r6 = Vector256.Load(rows[6] + at); var r7 = Vector256.Load(rows[7] + at);
        Vector256<float> t0 = Avx.UnpackLow(r0, r1), t1 = Avx.UnpackHigh(r0, r1), t2 = Avx.UnpackLow(r2, r3), t3 = Avx.UnpackHigh(r2, r3);
        Vector256<float> t4 = Avx.UnpackLow(r4, r5), t5 = Avx.UnpackHigh(r4, r5), t6 = Avx.UnpackLow(r6, r7), t7 = Avx.UnpackHigh(r6, r7);
        Vector256<float> u0 = Avx.Shuffle(t0, t2, 0x44), u1 = Avx.Shuffle(t0, t2, 0xEE), u2 = Avx.Shuffle(t1, t3, 0x44), u3 = Avx.Shuffle(t1, t3, 0xEE);
        Vector256<float> u4 = Avx.Shuffle(t4, t6, 0x44), u5 = Avx.Shuffle(t4, t6, 0xEE), u6 = Avx.Shuffle(t5, t7, 0x44), u7 = Avx.Shuffle(t5, t7, 0xEE);
        Avx.Permute2x128(u0, u4, 0x20).Store(dst);
        Avx.Permute2x128(u1, u5, 0x20).Store(dst + step);
        Avx.Permute2x128(u2, u6, 0x20).Store(dst + 2 * step);
        Avx.Permute2x128(u3, u7, 0x20).Store(dst + 3 * step);
        Avx.Permute2x128(u0, u4, 0x31).Store(dst + 4 * step);
        Avx.Permute2x128(u1, u5, 0x31).Store(dst + 5 * step);
        Avx.Permute2x128(u2, u6, 0x31).Store(dst + 6 * step);
        Avx.Permute2x128(u3, u7, 0x31).Store(dst + 7 * step);
    }

    /// <summary>dst[t·step] = 0 for t in [0, len).</summary>
    public static void Zero(float* dst, long step, int len)
    {
        for (int t = 0; t < len; t++) dst[t * step] = 0f;
    }
}

/// <summary>
/// The implicit im2col matrix of image <c>item</c> as a GEMM B operand: rows (c, r, s), columns (oh, ow).
/// </summary>
internal readonly unsafe struct Conv2dColumns(float* x, Conv2dGeometry g) : IGemmPackB
{
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Pack(float* dst, int item, int p0, int kc, int j0, int nc, int nr)
    {
        int h = g.H, w = g.W, S = g.S, outW = g.OutW, rs = g.R * S, sh = g.StrideH, sw = g.StrideW;
        int padTop = g.PadTop, padLeft = g.PadLeft, dilH = g.DilationH, dilW = g.DilationW;
        float* img = x + (long)item * g.C * h * w; // [C, H, W]
        int* lo = stackalloc int[S], hi = stackalloc int[S];
        Conv2dPack.ValidColumns(g, lo, hi);
        // segments of a panel: columns [segAt, segAt + segLen) are output row segOh, columns segOw..
        int* segAt = stackalloc int[nr + 1], segLen = stackalloc int[nr + 1], segOh = stackalloc int[nr + 1], segOw = stackalloc int[nr + 1];
        for (int jr = 0; jr < nc; jr += nr, dst += kc * nr)
        {
            int cols = Math.Min(nr, nc - jr), segs = 0;
            for (int jj = 0; jj < cols;)
            {
                int j = j0 + jr + jj, ow = j % outW;
                int len = Math.Min(cols - jj, outW - ow);
                segAt[segs] = jj; segLen[segs] = len; segOh[segs] = j / outW; segOw[segs] = ow;
                segs++;
                jj += len;
            }
            // the common case: a full panel inside one output row, read with stride 1
            bool single = segs == 1 && cols == nr && sw == 1;
            int ow0 = segOw[0], oh0 = segOh[0];
            int c = p0 / rs, r = p0 % rs / S, s = p0 % S;
            for (int p = 0; p < kc; p++)
            {
                float* d = dst + p * nr;
                float* plane = img + (long)c * h * w;
                int shift = s * dilW - padLeft, rowOffset = r * dilH - padTop;
                if (single && ow0 >= lo[s] && ow0 + nr <= hi[s] && (uint)(oh0 * sh + rowOffset) < (uint)h)
                {
                    CpuBackend.CopyFloats(d, plane + (long)(oh0 * sh + rowOffset) * w + ow0 + shift, nr);
                    if (++s == S) { s = 0; if (++r == g.R) { r = 0; c++; } }
                    continue;
                }
                for (int q = 0; q < segs; q++)
                {
                    int ih = segOh[q] * sh + rowOffset;
                    if ((uint)ih >= (uint)h) Conv2dPack.Zero(d + segAt[q], 1, segLen[q]);
                    else Conv2dPack.CopyRun(d + segAt[q], 1, plane + (long)ih * w, segOw[q], segLen[q], lo[s], hi[s], sw, shift);
                }
                for (int jj = cols; jj < nr; jj++) d[jj] = 0f;
                if (++s == S) { s = 0; if (++r == g.R) { r = 0; c++; } }
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
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Pack(float* dst, int item, int p0, int kc, int j0, int nc, int nr)
    {
        int h = g.H, w = g.W, S = g.S, outW = g.OutW, ohw = g.OutH * outW, rs = g.R * S, sh = g.StrideH, sw = g.StrideW;
        int padTop = g.PadTop, padLeft = g.PadLeft, dilH = g.DilationH, dilW = g.DilationW;
        long plane = (long)h * w, image = g.C * plane;
        int* lo = stackalloc int[S], hi = stackalloc int[S];
        Conv2dPack.ValidColumns(g, lo, hi);
        // segments of the rows p0..p0+kc: rows [segAt, segAt + segLen) are image segN, output row segOh, columns segOw..
        int maxSegs = kc / Math.Max(outW, 1) + 2;
        int* segAt = stackalloc int[maxSegs], segLen = stackalloc int[maxSegs], segRow = stackalloc int[maxSegs], segOw = stackalloc int[maxSegs];
        long* segImage = stackalloc long[maxSegs];
        int segs = 0;
        for (int pp = 0; pp < kc;)
        {
            int p = p0 + pp, ow = p % outW;
            int len = Math.Min(kc - pp, outW - ow);
            segAt[segs] = pp; segLen[segs] = len; segImage[segs] = p / ohw * image; segRow[segs] = p % ohw / outW * sh - padTop; segOw[segs] = ow;
            segs++;
            pp += len;
        }
        // per column of a group of 8: input plane of its channel, row offset r·dh, column shift and valid range
        long* colPlane = stackalloc long[8];
        int* colDh = stackalloc int[8], colShift = stackalloc int[8], colLo = stackalloc int[8], colHi = stackalloc int[8];
        float** rowAt = stackalloc float*[8];
        for (int jr = 0; jr < nc; jr += nr, dst += kc * nr)
        {
            int cols = Math.Min(nr, nc - jr);
            for (int jg = 0; jg < nr; jg += 8)
            {
                int width = Math.Clamp(cols - jg, 0, 8); // real columns in this group
                for (int i = 0; i < 8; i++)
                {
                    int j = j0 + jr + jg + i, s = j % S;
                    colPlane[i] = j / rs * plane;
                    colDh[i] = j % rs / S * dilH;
                    colShift[i] = s * dilW - padLeft;
                    colLo[i] = lo[s];
                    colHi[i] = hi[s];
                }
                for (int q = 0; q < segs; q++)
                {
                    float* dq = dst + (long)segAt[q] * nr + jg; // [segLen][nr] from column jg
                    int len = segLen[q], ow = segOw[q];
                    // the run [tLo, tHi) that every column of the group reads in bounds, 8 at a time
                    bool rowsIn = width == 8 && sw == 1 && Avx.IsSupported;
                    int maxLo = 0, minHi = int.MaxValue;
                    for (int i = 0; i < width; i++)
                    {
                        int ih = segRow[q] + colDh[i];
                        rowsIn &= (uint)ih < (uint)h;
                        rowAt[i] = x + segImage[q] + colPlane[i] + (long)ih * w + colShift[i]; // input row, shifted: [ow] is col[.., (oh, ow)]
                        maxLo = Math.Max(maxLo, colLo[i]);
                        minHi = Math.Min(minHi, colHi[i]);
                    }
                    int tLo = rowsIn ? Math.Clamp(maxLo - ow, 0, len) : len, tHi = tLo;
                    if (rowsIn)
                        while (tHi + 8 <= len && ow + tHi + 8 <= minHi) tHi += 8;
                    for (int i = 0; i < 8; i++)
                    {
                        float* d = dq + i;
                        if (i >= width)
                        {
                            Conv2dPack.Zero(d, nr, len);
                            continue;
                        }
                        int ih = segRow[q] + colDh[i];
                        float* row = rowAt[i] - colShift[i];
                        if ((uint)ih >= (uint)h)
                        {
                            Conv2dPack.Zero(d, nr, len);
                            continue;
                        }
                        Conv2dPack.CopyRun(d, nr, row, ow, tLo, colLo[i], colHi[i], sw, colShift[i]);
                        Conv2dPack.CopyRun(d + (long)tHi * nr, nr, row, ow + tHi, len - tHi, colLo[i], colHi[i], sw, colShift[i]);
                    }
                    for (int t = tLo; t < tHi; t += 8)
                        Conv2dPack.Transpose8x8(rowAt, ow + t, dq + (long)t * nr, nr);
                }
            }
        }
    }
}

/// <summary>dy of all images as a GEMM A operand: rows k, columns (n, oh, ow), i.e. [K, N·OHW] read from [N, K, OHW].</summary>
internal readonly unsafe struct Conv2dOutputRows(float* dy, int k, int ohw) : IGemmPackA
{
    /// <inheritdoc/>
    public float* InPlace(int item, out long rowStep, out long depthStep)
    {
        (rowStep, depthStep) = (0, 0);
        return null; // the columns run across images: packed
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
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
                    Conv2dPack.Zero(d, mr, kc);
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
