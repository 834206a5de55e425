using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace SerEngine.Backends.Cpu;

// GEMM with A read in place: the 6×32 micro-kernel broadcasts A[i0 + r, p] straight from A as it lies instead of from
// a packed [kc][MR] micro-panel: from six rows of an untransposed A (A[i, p] at i·lda + p), or from six neighbours
// in each row of a transposed one (A[i, p] at p·ldaT + i, the layout a packed panel has with its step MR widened).
// The tile's FMA chains, k slabs and stores are the packed kernel's, so C is the same bit for bit; what goes is the
// packing pass over A. With 512-bit vectors a step's 12 FMAs take so little time that packing A (one read and one
// write of all of A per call, and the wait for that pass to end on both threads) is a large share of the attention
// block's products (480 rows, k = 256 or 480: the fca training step's dX, dW and linear-layer products).
// B stays packed: its 32-column strips read down k rows would stride n floats.
public partial class CpuBackend
{
    /// <summary>
    /// Whether the tasks read A in place (path "a-in-place") rather than pack it: a vector kernel (the 256-bit one's
    /// in-place form is CpuFast.GemmRows256.cs), one item (items that share A pack it once for all), an A that lies in memory, and
    /// no packed A given or wanted by the caller. An A that fits in L2 is read in place unless its rows or depth steps
    /// lie a multiple of 4 KiB apart (those share L1 sets); a larger A (each column block streams it again) only as
    /// rows (untransposed), whatever their stride: its packing pass costs more than the strided rows do, while
    /// a large transposed A, a new line per depth step, stays packed into compact panels.
    /// </summary>
    internal static bool GemmReadsAInPlace(GemmKernelKind kind, int batch, int m, int k, bool inPlace, long depthStep, bool prepacked)
    {
        if (kind == GemmKernelKind.Scalar || batch != 1 || !inPlace || prepacked) return false; // packed: the other paths
        if ((long)m * k > GemmWideA) return depthStep == 1;        // larger than L2: rows in place, a transposed A packed
        long stride = depthStep == 1 ? k : depthStep;               // floats between the six rows, or between depth steps
        if (stride % 1024 == 0) return false;                       // 4 KiB apart: one L1 set
        return true;
    }

    /// <summary>
    /// <see cref="GemmMacroKernel"/> with A read in place: an mc×nc block of C from A (A[i, p] at
    /// <paramref name="a"/>[i·rowStep + p·depthStep] from the block's first row and depth; one step is 1) and a packed B
    /// block, with the tile kernels of one vector width (<see cref="InPlace512"/>: 6×32, <see cref="InPlace256"/>: 6×16).
    /// A last row tile of 4 or 2 rows runs in place too; one of 1, 3 or 5 rows is packed into <paramref name="scratch"/>
    /// ([kc][MR] floats) and runs the packed kernel.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void GemmMacroKernelInPlace<TTiles>(int mc, int nc, int kc, float* a, long rowStep, long depthStep, float* scratch,
        float* packedB, float* c, int ldc, float alpha, float beta) where TTiles : struct, IInPlaceTiles
    {
        int nr = TTiles.NR;
        float* tile = stackalloc float[GemmMR * 32 + 16]; // room for the widest tile
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
                    if (rows) TTiles.SixRows(kc, ar, (nint)rowStep, bp, dst, ld, add);
                    else TTiles.SixSteps(kc, ar, (nint)depthStep, bp, dst, ld, add);
                    if (dst == ct) continue;
                }
                else if (tileRows == 4 || tileRows == 2)
                {
                    // the last four or two rows (1024 = 170·6 + 4, 512 = 85·6 + 2) read in place too, no rows padded
                    if (tileRows == 4) TTiles.Four(kc, ar, (nint)rowStep, (nint)depthStep, bp, dst, ld, add);
                    else TTiles.Two(kc, ar, (nint)rowStep, (nint)depthStep, bp, dst, ld, add);
                    if (dst == ct) continue;
                }
                else
                {
                    // the last rows: a zero-padded micro-panel, as packing makes it
                    for (int p = 0; p < kc; p++)
                        for (int r = 0; r < GemmMR; r++) scratch[p * GemmMR + r] = r < tileRows ? ar[r * rowStep + p * depthStep] : 0f;
                    TTiles.SixPacked(kc, scratch, bp, tile, nr);
                }
                if (tileRows == GemmMR && cols == nr) StoreTile(tile, nr, ct, ldc, alpha, beta);
                else StoreEdge(tile, nr, ct, ldc, tileRows, cols, alpha, beta);
            }
        }
    }

    /// <summary>
    /// The tile kernels of one vector width that <see cref="GemmMacroKernelInPlace{TTiles}"/> runs (a struct type argument,
    /// so the JIT compiles the macro kernel once per width with direct calls): six rows of A in place as rows or as
    /// depth steps, the first four or two rows, and the packed kernel for a zero-padded micro-panel; C = acc or C + acc.
    /// </summary>
    private interface IInPlaceTiles
    {
        /// <summary>Columns of a tile (of a packed B micro-panel).</summary>
        static abstract int NR { get; }

        /// <summary>Six rows of an untransposed A, <paramref name="lda"/> floats apart.</summary>
        static abstract unsafe void SixRows(int kc, float* a, nint lda, float* b, float* c, nint ldc, bool add);

        /// <summary>Six neighbours per depth step of a transposed A, steps <paramref name="step"/> floats apart.</summary>
        static abstract unsafe void SixSteps(int kc, float* a, nint step, float* b, float* c, nint ldc, bool add);

        /// <summary>The first four rows of a tile.</summary>
        static abstract unsafe void Four(int kc, float* a, nint rowStep, nint depthStep, float* b, float* c, nint ldc, bool add);

        /// <summary>The first two rows of a tile.</summary>
        static abstract unsafe void Two(int kc, float* a, nint rowStep, nint depthStep, float* b, float* c, nint ldc, bool add);

        /// <summary>The packed kernel on a [kc][MR] micro-panel: C = acc.</summary>
        static abstract unsafe void SixPacked(int kc, float* a, float* b, float* c, nint ldc);
    }

    /// <summary>The 512-bit 6×32 tile kernels (this file).</summary>
    private readonly struct InPlace512 : IInPlaceTiles
    {
        public static int NR => 32;
        public static unsafe void SixRows(int kc, float* a, nint lda, float* b, float* c, nint ldc, bool add) => Kernel6x32Rows(kc, a, lda, b, c, ldc, add);
        public static unsafe void SixSteps(int kc, float* a, nint step, float* b, float* c, nint ldc, bool add) => Kernel6x32Steps(kc, a, step, b, c, ldc, add);
        public static unsafe void Four(int kc, float* a, nint rowStep, nint depthStep, float* b, float* c, nint ldc, bool add) =>
            Kernel4x32(kc, a, rowStep, depthStep, b, c, ldc, add);
        public static unsafe void Two(int kc, float* a, nint rowStep, nint depthStep, float* b, float* c, nint ldc, bool add) =>
            Kernel2x32(kc, a, rowStep, depthStep, b, c, ldc, add);
        public static unsafe void SixPacked(int kc, float* a, float* b, float* c, nint ldc) => Kernel6x32Store(kc, a, b, c, ldc);
    }

    /// <summary>
    /// The first four rows of a 6×32 tile (<see cref="Kernel6x32Steps"/>'s chains for rows 0–3) with A read in place:
    /// A[r, p] at a[r·<paramref name="rowStep"/> + p·<paramref name="depthStep"/>]; C = acc, or C = C + acc.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void Kernel4x32(int kc, float* a, nint rowStep, nint depthStep, float* b, float* c, nint ldc, bool add)
    {
        Vector512<float> c00 = default, c01 = default, c10 = default, c11 = default;
        Vector512<float> c20 = default, c21 = default, c30 = default, c31 = default;
        float* a1 = a + rowStep, a2 = a1 + rowStep, a3 = a2 + rowStep;
        nint end = kc * depthStep;
        for (nint p = 0; p < end; p += depthStep)
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
            b += 32;
        }
        MicroTile.Row(c, c00, c01, add);
        MicroTile.Row(c + ldc, c10, c11, add);
        MicroTile.Row(c + 2 * ldc, c20, c21, add);
        MicroTile.Row(c + 3 * ldc, c30, c31, add);
    }

    /// <summary><see cref="Kernel4x32"/> for the first two rows.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void Kernel2x32(int kc, float* a, nint rowStep, nint depthStep, float* b, float* c, nint ldc, bool add)
    {
        Vector512<float> c00 = default, c01 = default, c10 = default, c11 = default;
        float* a1 = a + rowStep;
        nint end = kc * depthStep;
        for (nint p = 0; p < end; p += depthStep)
        {
            var b0 = Vector512.Load(b);
            var b1 = Vector512.Load(b + 16);
            var av = Vector512.Create(a[p]);
            c00 = Fmadd(av, b0, c00); c01 = Fmadd(av, b1, c01);
            av = Vector512.Create(a1[p]);
            c10 = Fmadd(av, b0, c10); c11 = Fmadd(av, b1, c11);
            b += 32;
        }
        MicroTile.Row(c, c00, c01, add);
        MicroTile.Row(c + ldc, c10, c11, add);
    }

    /// <summary><see cref="Kernel6x32Steps"/> with A's six rows read in place, <paramref name="lda"/> floats apart.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void Kernel6x32Rows(int kc, float* a, nint lda, float* b, float* c, nint ldc, bool add)
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
        if (add) MicroTile.Add(c, ldc, c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51);
        else MicroTile.Store(c, ldc, c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51);
    }
}
