using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace SerEngine.Backends.Cpu;

// GEMM with A read in place by the 256-bit 6×16 micro-kernel (CpuFast.GemmRows.cs has the 512-bit 6×32 form and the rule,
// GemmReadsAInPlace): A[i0 + r, p] broadcast straight from six rows of an untransposed A, or from six neighbours in each
// row of a transposed one, instead of from a packed [kc][MR] micro-panel. Each element is still Kernel6x16Store's FMA
// chain over the KC slab, stored or added as Kernel6x16Store / Kernel6x16Add and the tile path do: C is the packed
// kernel's bit for bit. What goes is the packing pass over A (and the wait for it), the same share of the attention block's
// products (fca training step: 480 rows, k = 256 or 480) as at 512 bits, on the AVX2-only machines.
public partial class CpuBackend
{
    /// <summary>
    /// <see cref="GemmMacroKernelInPlace"/> for the 256-bit kernel (NR = 16): an mc×nc block of C from A read in place
    /// (A[i, p] at <paramref name="a"/>[i·rowStep + p·depthStep]) and a packed B block. A last row tile of 4 or 2 rows runs
    /// <see cref="Kernel4x16"/> or <see cref="Kernel2x16"/> in place; one of 1, 3 or 5 rows is packed into
    /// <paramref name="scratch"/> ([kc][MR] floats) and runs the packed kernel.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void GemmMacroKernelInPlace256(int mc, int nc, int kc, float* a, long rowStep, long depthStep, float* scratch,
        float* packedB, float* c, int ldc, float alpha, float beta)
    {
        const int nr = 16;
        float* tile = stackalloc float[GemmMR * nr + 16];
        tile = (float*)(((nint)tile + 63) & ~(nint)63); // [MR, NR], 64-byte aligned
        bool direct = alpha == 1f && (beta == 0f || beta == 1f);
        bool rows = depthStep == 1; // six rows side by side, else six neighbours per depth step
        for (int jr = 0; jr < nc; jr += nr)
        {
            int cols = Math.Min(nr, nc - jr);
            float* bp = packedB + (long)jr * kc; // [kc][NR]
            for (int ir = 0; ir < mc; ir += GemmMR)
            {
                int tileRows = Math.Min(GemmMR, mc - ir);
                float* ar = a + ir * rowStep;
                float* ct = c + (long)ir * ldc + jr;
                if (Sse.IsSupported)
                    for (int r = 0; r < tileRows; r++)
                    {
                        Sse.Prefetch0(ct + (long)r * ldc);
                        Sse.Prefetch0(ct + (long)r * ldc + nr - 1);
                    }
                float* dst = cols == nr && direct ? ct : tile;
                nint ld = cols == nr && direct ? ldc : nr;
                bool add = direct && beta == 1f && dst == ct;
                if (tileRows == GemmMR)
                {
                    if (rows) Kernel6x16Rows(kc, ar, (nint)rowStep, bp, dst, ld, add);
                    else Kernel6x16Steps(kc, ar, (nint)depthStep, bp, dst, ld, add);
                    if (dst == ct) continue;
                }
                else if (tileRows == 4 || tileRows == 2)
                {
                    if (tileRows == 4) Kernel4x16(kc, ar, (nint)rowStep, (nint)depthStep, bp, dst, ld, add);
                    else Kernel2x16(kc, ar, (nint)rowStep, (nint)depthStep, bp, dst, ld, add);
                    if (dst == ct) continue;
                }
                else
                {
                    // the last rows: a zero-padded micro-panel, as packing makes it
                    for (int p = 0; p < kc; p++)
                        for (int r = 0; r < GemmMR; r++) scratch[p * GemmMR + r] = r < tileRows ? ar[r * rowStep + p * depthStep] : 0f;
                    Kernel6x16Store(kc, scratch, bp, tile, nr);
                }
                if (tileRows == GemmMR && cols == nr) StoreTile(tile, nr, ct, ldc, alpha, beta);
                else StoreEdge(tile, nr, ct, ldc, tileRows, cols, alpha, beta);
            }
        }
    }

    /// <summary><see cref="Kernel6x16Store"/>'s chains with A's six rows read in place, <paramref name="lda"/> floats apart; C = acc or C + acc.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void Kernel6x16Rows(int kc, float* a, nint lda, float* b, float* c, nint ldc, bool add)
    {
        Vector256<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default;
        Vector256<float> c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
        float* a1 = a + lda, a2 = a1 + lda, a3 = a2 + lda, a4 = a3 + lda, a5 = a4 + lda;
        for (nint p = 0; p < kc; p++)
        {
            var b0 = Vector256.Load(b);
            var b1 = Vector256.Load(b + 8);
            var av = Vector256.Create(a[p]);
            c00 = Fmadd(av, b0, c00); c01 = Fmadd(av, b1, c01);
            av = Vector256.Create(a1[p]);
            c10 = Fmadd(av, b0, c10); c11 = Fmadd(av, b1, c11);
            av = Vector256.Create(a2[p]);
            c20 = Fmadd(av, b0, c20); c21 = Fmadd(av, b1, c21);
            av = Vector256.Create(a3[p]);
            c30 = Fmadd(av, b0, c30); c31 = Fmadd(av, b1, c31);
            av = Vector256.Create(a4[p]);
            c40 = Fmadd(av, b0, c40); c41 = Fmadd(av, b1, c41);
            av = Vector256.Create(a5[p]);
            c50 = Fmadd(av, b0, c50); c51 = Fmadd(av, b1, c51);
            b += 16;
        }
        if (add) MicroTile.Add(c, ldc, c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51);
        else MicroTile.Store(c, ldc, c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51);
    }

    /// <summary><see cref="Kernel6x16Store"/>'s chains with A's six values of step p at a + p·<paramref name="step"/> (a transposed A read in place); C = acc or C + acc.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void Kernel6x16Steps(int kc, float* a, nint step, float* b, float* c, nint ldc, bool add)
    {
        Vector256<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default;
        Vector256<float> c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
        for (int p = 0; p < kc; p++)
        {
            var b0 = Vector256.Load(b);
            var b1 = Vector256.Load(b + 8);
            var av = Vector256.Create(a[0]);
            c00 = Fmadd(av, b0, c00); c01 = Fmadd(av, b1, c01);
            av = Vector256.Create(a[1]);
            c10 = Fmadd(av, b0, c10); c11 = Fmadd(av, b1, c11);
            av = Vector256.Create(a[2]);
            c20 = Fmadd(av, b0, c20); c21 = Fmadd(av, b1, c21);
            av = Vector256.Create(a[3]);
            c30 = Fmadd(av, b0, c30); c31 = Fmadd(av, b1, c31);
            av = Vector256.Create(a[4]);
            c40 = Fmadd(av, b0, c40); c41 = Fmadd(av, b1, c41);
            av = Vector256.Create(a[5]);
            c50 = Fmadd(av, b0, c50); c51 = Fmadd(av, b1, c51);
            a += step;
            b += 16;
        }
        if (add) MicroTile.Add(c, ldc, c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51);
        else MicroTile.Store(c, ldc, c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51);
    }

    /// <summary>
    /// The first four rows of a 6×16 tile (<see cref="Kernel6x16Store"/>'s chains for rows 0–3) with A read in place:
    /// A[r, p] at a[r·<paramref name="rowStep"/> + p·<paramref name="depthStep"/>]; C = acc, or C = C + acc.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void Kernel4x16(int kc, float* a, nint rowStep, nint depthStep, float* b, float* c, nint ldc, bool add)
    {
        Vector256<float> c00 = default, c01 = default, c10 = default, c11 = default;
        Vector256<float> c20 = default, c21 = default, c30 = default, c31 = default;
        float* a1 = a + rowStep, a2 = a1 + rowStep, a3 = a2 + rowStep;
        nint end = kc * depthStep;
        for (nint p = 0; p < end; p += depthStep)
        {
            var b0 = Vector256.Load(b);
            var b1 = Vector256.Load(b + 8);
            var av = Vector256.Create(a[p]);
            c00 = Fmadd(av, b0, c00); c01 = Fmadd(av, b1, c01);
            av = Vector256.Create(a1[p]);
            c10 = Fmadd(av, b0, c10); c11 = Fmadd(av, b1, c11);
            av = Vector256.Create(a2[p]);
            c20 = Fmadd(av, b0, c20); c21 = Fmadd(av, b1, c21);
            av = Vector256.Create(a3[p]);
            c30 = Fmadd(av, b0, c30); c31 = Fmadd(av, b1, c31);
            b += 16;
        }
        Row16(c, c00, c01, add);
        Row16(c + ldc, c10, c11, add);
        Row16(c + 2 * ldc, c20, c21, add);
        Row16(c + 3 * ldc, c30, c31, add);
    }

    /// <summary><see cref="Kernel4x16"/> for the first two rows.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void Kernel2x16(int kc, float* a, nint rowStep, nint depthStep, float* b, float* c, nint ldc, bool add)
    {
        Vector256<float> c00 = default, c01 = default, c10 = default, c11 = default;
        float* a1 = a + rowStep;
        nint end = kc * depthStep;
        for (nint p = 0; p < end; p += depthStep)
        {
            var b0 = Vector256.Load(b);
            var b1 = Vector256.Load(b + 8);
            var av = Vector256.Create(a[p]);
            c00 = Fmadd(av, b0, c00); c01 = Fmadd(av, b1, c01);
            av = Vector256.Create(a1[p]);
            c10 = Fmadd(av, b0, c10); c11 = Fmadd(av, b1, c11);
            b += 16;
        }
        Row16(c, c00, c01, add);
        Row16(c + ldc, c10, c11, add);
    }

    /// <summary>One 16-float row of a 6×16 tile (the 4- and 2-row tails): row[..+16] = (lo, hi), or += with one rounding per element (MicroTile.Add's).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void Row16(float* row, Vector256<float> lo, Vector256<float> hi, bool add)
    {
        if (add)
        {
            lo = Vector256.Load(row) + lo;
            hi = Vector256.Load(row + 8) + hi;
        }
        lo.Store(row);
        hi.Store(row + 8);
    }
}
