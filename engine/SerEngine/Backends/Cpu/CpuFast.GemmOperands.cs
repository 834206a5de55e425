using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace SerEngine.Backends.Cpu;

// The GEMM driver's operand sources (CpuFast.Gemm.cs): how a plain row-major A or B, either transposed, is packed
// into the micro-panels the kernel reads. Conv2d's implicit im2col sources implement the same two interfaces.

/// <summary>Packs rows i0..i0+mc, columns p0..p0+kc of a GEMM A operand into MR-row micro-panels.</summary>
internal unsafe interface IGemmPackA
{
    /// <summary>dst gets ⌈mc/MR⌉ micro-panels of [kc][MR] floats (rows past mc are zeros).</summary>
    void Pack(float* dst, int item, int i0, int mc, int p0, int kc);

    /// <summary>
    /// Item <paramref name="item"/>'s A as it lies in memory, A[i, p] at [i·rowStep + p·depthStep] (one of the steps 1),
    /// that a micro-kernel may read in place (CpuFast.GemmRows.cs); null when the operand is formed on the fly.
    /// </summary>
    float* InPlace(int item, out long rowStep, out long depthStep);
}

/// <summary>Packs rows p0..p0+kc, columns j0..j0+nc of a GEMM B operand into NR-column micro-panels.</summary>
internal unsafe interface IGemmPackB
{
    /// <summary>dst gets ⌈nc/nr⌉ micro-panels of [kc][nr] floats (columns past nc are zeros).</summary>
    void Pack(float* dst, int item, int p0, int kc, int j0, int nc, int nr);
}

/// <summary>A plain row-major A: [m, k], or [k, m] when transposed; batch items <c>Stride</c> floats apart.</summary>
internal readonly unsafe struct PlainA(float* data, long stride, bool trans, int m, int k) : IGemmPackA
{
    /// <inheritdoc/>
    public float* InPlace(int item, out long rowStep, out long depthStep)
    {
        (rowStep, depthStep) = trans ? (1L, (long)m) : (k, 1L);
        return data == null ? null : data + item * stride;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Pack(float* dst, int item, int i0, int mc, int p0, int kc)
    {
        float* a = data + item * stride;
        const int mr = CpuBackend.GemmMR;
        float** src8 = stackalloc float*[8];
        for (int ir = 0; ir < mc; ir += mr, dst += kc * mr)
        {
            int rows = Math.Min(mr, mc - ir);
            if (trans)
            {
                // A[i, p] = a[p·m + i]: each step p reads `rows` consecutive floats
                int p = 0;
                if (rows == mr && Vector256.IsHardwareAccelerated)
                {
                    // a full panel moves eight floats per step: the two extra land where step p + 1 writes next, and
                    // reading them stays inside row p or p + 1 of a; the panel's last step is copied one by one
                    float* src = a + (long)p0 * m + i0 + ir;
                    for (; p + 1 < kc; p++, src += m) Vector256.Store(Vector256.Load(src), dst + p * mr);
                }
                for (; p < kc; p++)
                {
                    float* src = a + (long)(p0 + p) * m + i0 + ir;
                    float* d = dst + p * mr;
                    int r = 0;
                    for (; r < rows; r++) d[r] = src[r];
                    for (; r < mr; r++) d[r] = 0f;
                }
            }
            else
            {
                // A[i, p] = a[i·k + p]: six rows read side by side, each step p writing MR contiguous floats
                float* s0 = a + (long)(i0 + ir) * k + p0;
                if (rows == mr)
                {
                    float* s1 = s0 + k, s2 = s1 + k, s3 = s2 + k, s4 = s3 + k, s5 = s4 + k;
                    int p = 0;
                    if (Avx.IsSupported)
                    {
                        // eight steps at a time through an 8 × 8 transpose (rows 6 and 7 repeat 4 and 5): step t's
                        // eight floats land at t·MR, their two extra ones are overwritten by step t + 1, so the
                        // group stops while a step follows it inside the panel
                        src8[0] = s0; src8[1] = s1; src8[2] = s2; src8[3] = s3; src8[4] = s4; src8[5] = s5; src8[6] = s4; src8[7] = s5;
                        for (; p + 8 < kc; p += 8)
                        {
                            if ((p & 15) == 0)
                                for (int r = 0; r < mr; r++) Sse.Prefetch0(src8[r] + p + 64); // six streams: ahead of the hardware prefetcher
                            Conv2dPack.Transpose8x8(src8, p, dst + p * mr, mr);
                        }
                    }
                    for (; p < kc; p++)
                    {
                        float* d = dst + p * mr;
                        d[0] = s0[p]; d[1] = s1[p]; d[2] = s2[p];
                        d[3] = s3[p]; d[4] = s4[p]; d[5] = s5[p];
                    }
                }
                else
                {
                    for (int p = 0; p < kc; p++)
                    {
                        float* d = dst + p * mr;
                        int r = 0;
                        for (; r < rows; r++) d[r] = s0[(long)r * k + p];
                        for (; r < mr; r++) d[r] = 0f;
                    }
                }
            }
        }
    }
}

/// <summary>A plain row-major B: [k, n], or [n, k] when transposed; batch items <c>Stride</c> floats apart.</summary>
internal readonly unsafe struct PlainB(float* data, long stride, bool trans, int k, int n) : IGemmPackB
{
    /// <summary>How many rows ahead packing a plain B prefetches.</summary>
    private const int PrefetchRows = 8;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Pack(float* dst, int item, int p0, int kc, int j0, int nc, int nr)
    {
        float* b = data + item * stride;
        if (!trans)
        {
            // B[p, j] = b[p·n + j]: row p is read in one run across four micro-panels at a time (reading
            // each panel's narrow strip down all kc rows strides n floats, a new stream per row)
            for (int jg = 0; jg < nc; jg += 4 * nr, dst += 4 * kc * nr)
            {
                int groupEnd = Math.Min(nc, jg + 4 * nr);
                if (Avx.IsSupported && nr % 8 == 0 && groupEnd - jg <= nr)
                {
                    // one short panel (a few tokens, n ≤ NR): each row is a whole vector run plus a masked tail (zeros
                    // past the row), no element-by-element copies
                    PackOnePanel(dst, b + (long)p0 * n + j0 + jg, n, kc, groupEnd - jg, nr);
                    continue;
                }
                for (int p = 0; p < kc; p++)
                {
                    float* src = b + (long)(p0 + p) * n + j0;
                    if (Sse.IsSupported && p + PrefetchRows < kc)
                    {
                        // each row's run starts a new stream the hardware prefetcher has not seen: fetch it ahead
                        float* ahead = src + PrefetchRows * (long)n;
                        for (int j = jg; j < groupEnd; j += 16) Sse.Prefetch0(ahead + j);
                    }
                    for (int jr = jg; jr < groupEnd; jr += nr)
                    {
                        int cols = Math.Min(nr, nc - jr);
                        float* d = dst + (long)(jr - jg) * kc + p * nr;
                        CpuBackend.CopyFloats(d, src + jr, cols);
                        for (int j = cols; j < nr; j++) d[j] = 0f;
                    }
                }
            }
            return;
        }
        // B[p, j] = b[j·k + p]: each column j is a contiguous run of b; eight full columns
        // go 8 × 8 at a time through an in-register transpose
        float** rows = stackalloc float*[8];
        for (int jr = 0; jr < nc; jr += nr, dst += kc * nr)
        {
            int cols = Math.Min(nr, nc - jr);
            for (int jg = 0; jg < nr; jg += 8)
            {
                int p = 0;
                if (jg + 8 <= cols && Avx.IsSupported)
                {
                    for (int i = 0; i < 8; i++) rows[i] = b + (long)(j0 + jr + jg + i) * k + p0;
                    for (; p + 8 <= kc; p += 8) Conv2dPack.Transpose8x8(rows, p, dst + p * nr + jg, nr);
                }
                for (int jj = jg; jj < jg + 8; jj++)
                {
                    float* d = dst + jj;
                    if (jj < cols)
                    {
                        float* src = b + (long)(j0 + jr + jj) * k + p0;
                        for (int q = p; q < kc; q++) d[q * nr] = src[q];
                    }
                    else
                    {
                        for (int q = p; q < kc; q++) d[q * nr] = 0f;
                    }
                }
            }
        }
    }

    /// <summary>
    /// dst [kc][nr] = rows of <paramref name="cols"/> floats (<paramref name="cols"/> ≤ nr, nr a multiple of 8) from
    /// <paramref name="src"/>, <paramref name="stride"/> floats apart, zeros past <paramref name="cols"/>: eight lanes at a time,
    /// the lanes past the row masked off (a masked load reads nothing there).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void PackOnePanel(float* dst, float* src, long stride, int kc, int cols, int nr)
    {
        var lanes = Vector256.Create(0, 1, 2, 3, 4, 5, 6, 7);
        int full = cols / 8, tail = cols % 8;
        var mask = Vector256.LessThan(lanes, Vector256.Create(tail)).AsSingle();
        for (int p = 0; p < kc; p++, src += stride, dst += nr)
        {
            int v = 0;
            for (; v < full; v++) Vector256.Store(Vector256.Load(src + 8 * v), dst + 8 * v);
            if (tail != 0)
            {
                Vector256.Store(Avx.MaskLoad(src + 8 * v, mask), dst + 8 * v);
                v++;
            }
            for (; v < nr / 8; v++) Vector256.Store(Vector256<float>.Zero, dst + 8 * v);
        }
    }
}
