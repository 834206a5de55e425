using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace SerEngine.Backends.Cpu;

// GEMM with A read in place and whole-depth tiles (path "a-in-place-full-k"): a task packs B for all of its k slabs
// up front ([slab][panel][kc][NR]) and runs each tile of C (6×64: two panels; 6×32 for an odd last one) through every
// slab before moving on. Slab s still starts its accumulators at 0 and is added to the tile's running sum once it
// ends (sum = acc on slab 0, or C + acc when beta is 1; then sum = sum + acc), which are the float adds the
// slab-by-slab path makes through C (Store, then Add per slab): the same bits. What goes is the traffic of C: a tile
// is written once instead of once per slab, and never read back (with beta 0). The per-slab path re-reads a task's
// whole C block (rows 4 KiB apart in sgemm.1024, so few L2 sets hold it) after every slab. The running sums live in
// twelve spare registers (6×32) or in a small L1 buffer (6×64, whose 24 accumulators leave no registers for them).
public partial class CpuBackend
{
    /// <summary>
    /// Whether a task runs its full 6×32 tiles over all its k slabs at once (<see cref="GemmFullDepthInPlace"/>): the
    /// 512-bit kernel (the 256-bit 6×16 tile has no registers left for the sums: CpuFast.GemmRows256.cs), A read
    /// in place as rows (depth step 1) and larger than L2 (sgemm-sized; the small products keep the slab-by-slab path),
    /// alpha 1 and beta 0 or 1 (C written directly), more than one slab, and one panel's B over the task's
    /// <paramref name="depth"/> within the packing buffer.
    /// </summary>
    internal static bool GemmUsesFullDepth(GemmKernelKind kind, int m, int k, long depthStep, float alpha, float beta, int depth) =>
        kind == GemmKernelKind.Vector512 && depthStep == 1 && (long)m * k > GemmWideA && alpha == 1f && (beta == 0f || beta == 1f)
        && depth > GemmKC && (long)32 * depth <= (long)GemmKC * GemmNC;

    /// <summary>Most floats of a column group's packed B on the whole-depth path (512 KB: half an L2, beside A's rows).</summary>
    internal const int GemmFullDepthFloats = 1 << 17;

    /// <summary>Columns of a group on the whole-depth path: whole panels whose B over <paramref name="depth"/> fits <see cref="GemmFullDepthFloats"/> (one panel at least).</summary>
    internal static int GemmFullDepthCols(int depth) => Math.Max(32, GemmFullDepthFloats / depth / 32 * 32);

    /// <summary>
    /// C[mRows, nc] (+)= A[mRows, depth] · B[depth, nc] for one task's block: <paramref name="a"/> is the block's first
    /// row at its first depth, rows <paramref name="lda"/> floats apart; <paramref name="packedB"/> holds every slab
    /// of the block's B, slab s (depth s·KC ..) at s·KC·RoundUp(nc, NR), packed [panel][kc][NR]. Full rows run two
    /// panels at a time through <see cref="Kernel6x64RowsFullDepth"/> and an odd last full panel through
    /// <see cref="Kernel6x32RowsFullDepth"/>; the last rows and a partial last panel run the slab-by-slab macro kernel
    /// on their own (each element's chain is the same either way). <paramref name="scratch"/>: [KC][MR] floats (the
    /// tails' packed rows; the 6×64 tiles' running sums, [MR][64], before them).
    /// </summary>
    private static unsafe void GemmFullDepthInPlace(int mRows, int nc, int depth, float* a, long lda, float* packedB,
        float* scratch, float* c, int ldc, bool add)
    {
        const int nr = 32;
        int ncPad = RoundUp(nc, nr), fullRows = mRows / GemmMR * GemmMR, fullCols = nc / nr * nr;
        for (int ir = 0; ir < fullRows; ir += GemmMR)
        {
            int jr = 0;
            for (; jr + 2 * nr <= fullCols; jr += 2 * nr)
                Kernel6x64RowsFullDepth(depth, a + ir * lda, (nint)lda, packedB + (nint)jr * GemmKC, jr, ncPad,
                    c + (long)ir * ldc + jr, ldc, add, scratch);
            for (; jr < fullCols; jr += nr)
                Kernel6x32RowsFullDepth(depth, a + ir * lda, (nint)lda, packedB + (nint)jr * GemmKC, jr, ncPad,
                    c + (long)ir * ldc + jr, ldc, add);
        }
        if (fullRows == mRows && fullCols == nc) return;
        float beta = add ? 1f : 0f;
        for (int p0 = 0; p0 < depth; p0 += GemmKC)
        {
            int kc = Math.Min(GemmKC, depth - p0);
            float* slab = packedB + (long)p0 * ncPad; // [panel][kc][NR]
            float bt = p0 == 0 ? beta : 1f;
            if (fullRows < mRows) // the last rows, every column
                GemmMacroKernelInPlace<InPlace512>(mRows - fullRows, nc, kc, a + fullRows * lda + p0, lda, 1, scratch, slab,
                    c + (long)fullRows * ldc, ldc, 1f, bt);
            if (fullCols < nc && fullRows > 0) // the partial last panel of the full rows
                GemmMacroKernelInPlace<InPlace512>(fullRows, nc - fullCols, kc, a + p0, lda, 1, scratch, slab + (long)fullCols * kc,
                    c + fullCols, ldc, 1f, bt);
        }
    }

    /// <summary>
    /// A 6×64 tile (panels jr/NR and jr/NR + 1 side by side) over all <paramref name="depth"/> steps: per KC slab 24
    /// accumulators start at 0 and run <see cref="Kernel6x32RowsFullDepth"/>'s FMA chains, so each element's sum is
    /// the same float for float; with 24 accumulators a broadcast of A feeds four FMAs instead of two (half the
    /// A loads per flop, which sgemm.1024's rows 4 KiB apart make dear), and no registers are left for the running
    /// sums: they go through <paramref name="sums"/> ([MR][64], in L1) instead of through C's rows 4 KiB apart: slab 0
    /// writes acc (or C + acc when <paramref name="add"/>), each later slab sum + acc, the last slab writes C.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void Kernel6x64RowsFullDepth(int depth, float* a, nint lda, float* b, nint jr, nint ncPad,
        float* c, nint ldc, bool add, float* sums)
    {
        float* a1 = a + lda, a2 = a1 + lda, a3 = a2 + lda, a4 = a3 + lda, a5 = a4 + lda;
        for (nint p0 = 0; p0 < depth; p0 += GemmKC)
        {
            nint end = Math.Min(p0 + GemmKC, depth), kc = end - p0;
            float* bp = b + p0 * ncPad + jr * (kc - GemmKC), bq = bp + 32 * kc;
            Vector512<float> c00 = default, c01 = default, c02 = default, c03 = default, c10 = default, c11 = default, c12 = default, c13 = default;
            Vector512<float> c20 = default, c21 = default, c22 = default, c23 = default, c30 = default, c31 = default, c32 = default, c33 = default;
            Vector512<float> c40 = default, c41 = default, c42 = default, c43 = default, c50 = default, c51 = default, c52 = default, c53 = default;
            for (nint p = p0; p < end; p++)
            {
                var b0 = Vector512.Load(bp);
                var b1 = Vector512.Load(bp + 16);
                var b2 = Vector512.Load(bq);
                var b3 = Vector512.Load(bq + 16);
                var av = Vector512.Create(a[p]);
                c00 = Fmadd(av, b0, c00); c01 = Fmadd(av, b1, c01); c02 = Fmadd(av, b2, c02); c03 = Fmadd(av, b3, c03);
                av = Vector512.Create(a1[p]);
                c10 = Fmadd(av, b0, c10); c11 = Fmadd(av, b1, c11); c12 = Fmadd(av, b2, c12); c13 = Fmadd(av, b3, c13);
                av = Vector512.Create(a2[p]);
                c20 = Fmadd(av, b0, c20); c21 = Fmadd(av, b1, c21); c22 = Fmadd(av, b2, c22); c23 = Fmadd(av, b3, c23);
                av = Vector512.Create(a3[p]);
                c30 = Fmadd(av, b0, c30); c31 = Fmadd(av, b1, c31); c32 = Fmadd(av, b2, c32); c33 = Fmadd(av, b3, c33);
                av = Vector512.Create(a4[p]);
                c40 = Fmadd(av, b0, c40); c41 = Fmadd(av, b1, c41); c42 = Fmadd(av, b2, c42); c43 = Fmadd(av, b3, c43);
                av = Vector512.Create(a5[p]);
                c50 = Fmadd(av, b0, c50); c51 = Fmadd(av, b1, c51); c52 = Fmadd(av, b2, c52); c53 = Fmadd(av, b3, c53);
                bp += 32; bq += 32;
            }
            bool first = p0 == 0, last = end == depth;
            FullDepthSum64(sums, c, first, last, add, c00, c01, c02, c03);
            FullDepthSum64(sums + 64, c + ldc, first, last, add, c10, c11, c12, c13);
            FullDepthSum64(sums + 128, c + 2 * ldc, first, last, add, c20, c21, c22, c23);
            FullDepthSum64(sums + 192, c + 3 * ldc, first, last, add, c30, c31, c32, c33);
            FullDepthSum64(sums + 256, c + 4 * ldc, first, last, add, c40, c41, c42, c43);
            FullDepthSum64(sums + 320, c + 5 * ldc, first, last, add, c50, c51, c52, c53);
        }
    }

    /// <summary>One row of a 6×64 tile at a slab's end: x = (slab 0 ? (add ? C : nothing) : sum) + x, stored to C on the last slab, else to the sum.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void FullDepthSum64(float* s, float* c, bool first, bool last, bool add,
        Vector512<float> x0, Vector512<float> x1, Vector512<float> x2, Vector512<float> x3)
    {
        if (!first || add)
        {
            float* src = first ? c : s; // slab 0 adds to C (beta 1); later slabs to the running sum
            x0 = Vector512.Load(src) + x0; x1 = Vector512.Load(src + 16) + x1;
            x2 = Vector512.Load(src + 32) + x2; x3 = Vector512.Load(src + 48) + x3;
        }
        float* dst = last ? c : s;
        Vector512.Store(x0, dst); Vector512.Store(x1, dst + 16); Vector512.Store(x2, dst + 32); Vector512.Store(x3, dst + 48);
    }

    /// <summary>
    /// One 6×32 tile over all <paramref name="depth"/> steps: for each KC slab the twelve accumulators start at 0
    /// and run <see cref="Kernel6x32Rows"/>'s FMA chains; the tile's sum is the first slab's (plus C when
    /// <paramref name="add"/>), then sum + acc per later slab; C is written once. Slab s of B lies at
    /// <paramref name="b"/> + s·KC·<paramref name="ncPad"/> + <paramref name="jr"/>·(kc − KC) (its panel
    /// <paramref name="jr"/> / NR starts jr·kc floats into the slab; <paramref name="b"/> is slab 0's, jr·KC in).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void Kernel6x32RowsFullDepth(int depth, float* a, nint lda, float* b, nint jr, nint ncPad,
        float* c, nint ldc, bool add)
    {
        Vector512<float> s00, s01, s10, s11, s20, s21, s30, s31, s40, s41, s50, s51;
        if (add) MicroTile.Load(c, ldc, out s00, out s01, out s10, out s11, out s20, out s21, out s30, out s31, out s40, out s41, out s50, out s51);
        else s00 = s01 = s10 = s11 = s20 = s21 = s30 = s31 = s40 = s41 = s50 = s51 = default;
        float* a1 = a + lda, a2 = a1 + lda, a3 = a2 + lda, a4 = a3 + lda, a5 = a4 + lda;
        for (nint p0 = 0; p0 < depth; p0 += GemmKC)
        {
            nint end = Math.Min(p0 + GemmKC, depth);
            float* bp = b + p0 * ncPad + jr * (end - p0 - GemmKC);
            Vector512<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default;
            Vector512<float> c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
            for (nint p = p0; p < end; p++)
            {
                var b0 = Vector512.Load(bp);
                var b1 = Vector512.Load(bp + 16);
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
                bp += 32;
            }
            if (p0 == 0 && !add)
            {
                // the first slab's sums are its accumulators (C = acc), with no add of a zero (−0 + 0 would be +0)
                s00 = c00; s01 = c01; s10 = c10; s11 = c11; s20 = c20; s21 = c21;
                s30 = c30; s31 = c31; s40 = c40; s41 = c41; s50 = c50; s51 = c51;
            }
            else
            {
                s00 += c00; s01 += c01; s10 += c10; s11 += c11; s20 += c20; s21 += c21;
                s30 += c30; s31 += c31; s40 += c40; s41 += c41; s50 += c50; s51 += c51;
            }
        }
        MicroTile.Store(c, ldc, s00, s01, s10, s11, s20, s21, s30, s31, s40, s41, s50, s51);
    }
}
