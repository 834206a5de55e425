using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace SerEngine.Backends.Cpu;

// GEMM with A read in place: the 6×32 micro-kernel broadcasts A[i0 + r, p] straight from six rows of a plain,
// untransposed A (row stride lda) instead of from a packed [kc][MR] micro-panel. The tile's FMA chains, k slabs
// and stores are the packed kernel's, so C is the same bit for bit; what goes is the packing pass over A.
// With 512-bit vectors a step's 12 FMAs take so little time that packing A (one read and one write of all of A
// per call, plus the wait for the pass to finish on both threads) is a large share of the attention block's
// products (480 rows, k = 256 or 480: the fca training step's dX products and linear layers).
// B stays packed: its 32-column strips read down k rows would stride n floats.
public partial class CpuBackend
{
    /// <summary>
    /// Whether the tasks read A's rows in place (path "a-rows") rather than pack them: the 512-bit kernel (the
    /// 256-bit kernel keeps its packed path), one item (items that share A pack it once for all), an A that lies as
    /// plain rows and fits in L2 (each column block reads it again; a larger one, or rows 4 KiB apart, is packed),
    /// and no packed A given or wanted by the caller.
    /// </summary>
    internal static bool GemmReadsARows(GemmKernelKind kind, int batch, int m, int k, bool aHasRows, bool prepacked)
    {
        if (kind != GemmKernelKind.Vector512 || batch != 1 || !aHasRows || prepacked) return false; // packed: the other paths
        if ((long)m * k > GemmWideA) return false;  // every column block streams A again: packed panels stay compact
        if (k % 1024 == 0) return false;             // rows 4 KiB apart share L1 sets: packed
        return true;
    }

    /// <summary>
    /// <see cref="GemmMacroKernel"/> with A read in place: an mc×nc block of C from A's rows (<paramref name="lda"/>
    /// floats apart, starting at the block's first row and depth) and a packed B block. Row tiles shorter than MR
    /// (the last one) are packed into <paramref name="scratch"/> ([kc][MR] floats) and run the packed kernel.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void GemmMacroKernelRows(int mc, int nc, int kc, float* aRows, long lda, float* scratch,
        float* packedB, float* c, int ldc, float alpha, float beta)
    {
        const int nr = 32;
        float* tile = stackalloc float[GemmMR * nr + 16];
        tile = (float*)(((nint)tile + 63) & ~(nint)63); // [MR, NR], 64-byte aligned
        bool direct = alpha == 1f && (beta == 0f || beta == 1f);
        for (int jr = 0; jr < nc; jr += nr)
        {
            int cols = Math.Min(nr, nc - jr);
            float* bp = packedB + (long)jr * kc; // [kc][NR]
            for (int ir = 0; ir < mc; ir += GemmMR)
            {
                int rows = Math.Min(GemmMR, mc - ir);
                float* ar = aRows + ir * lda;      // [rows][lda]
                float* ct = c + (long)ir * ldc + jr;
                if (Sse.IsSupported)
                    for (int r = 0; r < rows; r++)
                    {
                        Sse.Prefetch0(ct + (long)r * ldc);
                        Sse.Prefetch0(ct + (long)r * ldc + nr - 1);
                    }
                if (rows == GemmMR)
                {
                    if (cols == nr && direct)
                    {
                        if (beta == 0f) Kernel6x32StoreRows(kc, ar, (nint)lda, bp, ct, ldc);
                        else Kernel6x32AddRows(kc, ar, (nint)lda, bp, ct, ldc);
                        continue;
                    }
                    Kernel6x32StoreRows(kc, ar, (nint)lda, bp, tile, nr);
                }
                else
                {
                    // the last rows: a zero-padded micro-panel, as packing makes it
                    for (int p = 0; p < kc; p++)
                        for (int r = 0; r < GemmMR; r++) scratch[p * GemmMR + r] = r < rows ? ar[r * lda + p] : 0f;
                    Kernel6x32Store(kc, scratch, bp, tile, nr);
                }
                if (rows == GemmMR && cols == nr) StoreTile(tile, nr, ct, ldc, alpha, beta);
                else StoreEdge(tile, nr, ct, ldc, rows, cols, alpha, beta);
            }
        }
    }

    /// <summary><see cref="Kernel6x32Store"/> with A's six rows read in place, <paramref name="lda"/> floats apart.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void Kernel6x32StoreRows(int kc, float* a, nint lda, float* b, float* c, nint ldc)
    {
        Vector512<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default;
        Vector512<float> c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
        float* a1 = a + lda, a2 = a1 + lda, a3 = a2 + lda, a4 = a3 + lda, a5 = a4 + lda;
        for (nint p = 0; p < kc; p++)
        {
            var b0 = Vector512.Load(b);
            var b1 = Vector512.Load(b + 16);
            var av = Vector512.Create(a[p]);
            c00 = Fmadd(av, b0, c00); c01 = Fmadd(av, b1, c01);
            av = Vector512.Create(a1[p]);
            c10 = Fmadd(av, b0, c10); c11 = Fmadd(av, b1, c11);
            av = Vector512.Create(a2[p]);
            c20 = Fmadd(av, b0, c20); c21 = Fmadd(av, b1, c21);
            av = Vector512.Create(a3[p]);
            c30 = Fmadd(av, b0, c30); c31 = Fmadd(av, b1, c31);
            av = Vector512.Create(a4[p]);
            c40 = Fmadd(av, b0, c40); c41 = Fmadd(av, b1, c41);
            av = Vector512.Create(a5[p]);
            c50 = Fmadd(av, b0, c50); c51 = Fmadd(av, b1, c51);
            b += 32;
        }
        MicroTile.Store(c, ldc, c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51);
    }

    /// <summary><see cref="Kernel6x32StoreRows"/> for alpha 1, beta 1: C = C + acc (one rounding, as <see cref="Kernel6x32Add"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void Kernel6x32AddRows(int kc, float* a, nint lda, float* b, float* c, nint ldc)
    {
        Vector512<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default;
        Vector512<float> c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
        float* a1 = a + lda, a2 = a1 + lda, a3 = a2 + lda, a4 = a3 + lda, a5 = a4 + lda;
        for (nint p = 0; p < kc; p++)
        {
            var b0 = Vector512.Load(b);
            var b1 = Vector512.Load(b + 16);
            var av = Vector512.Create(a[p]);
            c00 = Fmadd(av, b0, c00); c01 = Fmadd(av, b1, c01);
            av = Vector512.Create(a1[p]);
            c10 = Fmadd(av, b0, c10); c11 = Fmadd(av, b1, c11);
            av = Vector512.Create(a2[p]);
            c20 = Fmadd(av, b0, c20); c21 = Fmadd(av, b1, c21);
            av = Vector512.Create(a3[p]);
            c30 = Fmadd(av, b0, c30); c31 = Fmadd(av, b1, c31);
            av = Vector512.Create(a4[p]);
            c40 = Fmadd(av, b0, c40); c41 = Fmadd(av, b1, c41);
            av = Vector512.Create(a5[p]);
            c50 = Fmadd(av, b0, c50); c51 = Fmadd(av, b1, c51);
            b += 32;
        }
        MicroTile.Add(c, ldc, c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51);
    }
}
