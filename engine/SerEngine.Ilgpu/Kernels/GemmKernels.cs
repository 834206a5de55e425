using ILGPU;

namespace SerEngine.Ilgpu.Kernels;

/// <summary>
/// One batched GEMM launch (kernels/gemm.cl's arguments): op(A) [M, K], op(B) [K, N], C [M, N];
/// batch item p starts at A + AOff + p·ABatch (likewise B, C); transposes folded into strides:
/// op(A)[i, q] = A[i·ARow + q·ACol], op(B)[q, j] = B[q·BRow + j·BCol].
/// </summary>
internal readonly record struct GemmArgs(int M, int N, int K, float Alpha,
    int AOff, int ABatch, int ARow, int ACol,
    int BOff, int BBatch, int BRow, int BCol,
    float Beta, int COff, int CBatch);

/// <summary>
/// Batched single-precision GEMM C = alpha·op(A)·op(B) + beta·C, the twin of kernels/gemm.cl with the
/// same variants, simplest to fastest (IlgpuBackend.GemmVariant):
///   gemm_naive           one thread per C element, dot product from global memory.
///   gemm_tiled           TS×TS tiles of op(A) and op(B) in shared memory, one C element per thread.
///   gemm_tiled_regblock  DEFAULT. A TSM×TSN tile of C per group, TSK-deep slabs in shared memory, each
///                        thread accumulates a WPTM×WPTN block in a local array (16×8 threads). Thread
///                        (lx, ly) owns rows ly + w·RTSM and columns lx + w·RTSN.
/// Tile sizes are C# constants (the dialect takes them as -D defines): ILGPU sizes shared and local
/// arrays from compile-time constants. beta = 0 overwrites C without reading it.
/// Grid: x over column tiles, y over row tiles, z over batch items.
/// </summary>
internal static class GemmKernels
{
    public const int TS = 16;                       // gemm_naive / gemm_tiled group side
    public const int TSM = 64, TSN = 128, TSK = 16; // gemm_tiled_regblock tile
    public const int WPTM = 8, WPTN = 8;            // outputs per thread
    public const int RTSM = TSM / WPTM, RTSN = TSN / WPTN; // threads along y (8) and x (16)

    private static float Store(float alpha, float acc, float beta, float old) => beta == 0f ? alpha * acc : alpha * acc + beta * old;

    /// <summary>gemm_naive.</summary>
    public static void Naive(ArrayView<float> a, ArrayView<float> b, ArrayView<float> c, GemmArgs g)
    {
        int j = Grid.IdxX * Group.DimX + Group.IdxX, i = Grid.IdxY * Group.DimY + Group.IdxY, p = Grid.IdxZ;
        if (i >= g.M || j >= g.N) return;
        int ai = g.AOff + p * g.ABatch + i * g.ARow; // row i of op(A)
        int bj = g.BOff + p * g.BBatch + j * g.BCol; // column j of op(B)
        float acc = 0f;
        for (int q = 0; q < g.K; q++) acc += a[ai + q * g.ACol] * b[bj + q * g.BRow];
        int at = g.COff + p * g.CBatch + i * g.N + j;
        c[at] = Store(g.Alpha, acc, g.Beta, g.Beta == 0f ? 0f : c[at]);
    }

    /// <summary>gemm_tiled (group TS×TS).</summary>
    public static void Tiled(ArrayView<float> a, ArrayView<float> b, ArrayView<float> c, GemmArgs g)
    {
        var As = SharedMemory.Allocate<float>(TS * TS); // op(A) tile [i][q]
        var Bs = SharedMemory.Allocate<float>(TS * TS); // op(B) tile [q][j]
        int lx = Group.IdxX, ly = Group.IdxY;
        int j = Grid.IdxX * TS + lx, i = Grid.IdxY * TS + ly, p = Grid.IdxZ;
        int aBase = g.AOff + p * g.ABatch, bBase = g.BOff + p * g.BBatch;
        float acc = 0f;
        for (int q0 = 0; q0 < g.K; q0 += TS)
        {
            int qa = q0 + lx, qb = q0 + ly;
            As[ly * TS + lx] = i < g.M && qa < g.K ? a[aBase + i * g.ARow + qa * g.ACol] : 0f;
            Bs[ly * TS + lx] = qb < g.K && j < g.N ? b[bBase + qb * g.BRow + j * g.BCol] : 0f;
            Group.Barrier();
            for (int q = 0; q < TS; q++) acc += As[ly * TS + q] * Bs[q * TS + lx];
            Group.Barrier();
        }
        if (i >= g.M || j >= g.N) return;
        int at = g.COff + p * g.CBatch + i * g.N + j;
        c[at] = Store(g.Alpha, acc, g.Beta, g.Beta == 0f ? 0f : c[at]);
    }

    /// <summary>gemm_tiled_regblock (group RTSN×RTSM = 16×8).</summary>
    public static void TiledRegblock(ArrayView<float> a, ArrayView<float> b, ArrayView<float> c, GemmArgs g)
    {
        var As = SharedMemory.Allocate<float>(TSK * TSM); // op(A) slab [q][i]
        var Bs = SharedMemory.Allocate<float>(TSK * TSN); // op(B) slab [q][j]
        var acc = LocalMemory.Allocate<float>(WPTM * WPTN); // [wm][wn]
        var ar = LocalMemory.Allocate<float>(WPTM);
        var br = LocalMemory.Allocate<float>(WPTN);
        int lx = Group.IdxX, ly = Group.IdxY, tid = ly * RTSN + lx;
        int i0 = Grid.IdxY * TSM, j0 = Grid.IdxX * TSN, p = Grid.IdxZ;
        int aBase = g.AOff + p * g.ABatch, bBase = g.BOff + p * g.BBatch;
        for (int e = 0; e < WPTM * WPTN; e++) acc[e] = 0f;

        for (int q0 = 0; q0 < g.K; q0 += TSK)
        {
            // Stage the slabs; consecutive threads walk the operand's unit-stride direction.
            for (int e = tid; e < TSM * TSK; e += RTSM * RTSN)
            {
                int ii = g.ACol == 1 ? e / TSK : e % TSM;
                int qq = g.ACol == 1 ? e % TSK : e / TSM;
                int i = i0 + ii, q = q0 + qq;
                As[qq * TSM + ii] = i < g.M && q < g.K ? a[aBase + i * g.ARow + q * g.ACol] : 0f;
            }
            for (int e = tid; e < TSN * TSK; e += RTSM * RTSN)
            {
                int jj = g.BCol == 1 ? e % TSN : e / TSK;
                int qq = g.BCol == 1 ? e / TSN : e % TSK;
                int j = j0 + jj, q = q0 + qq;
                Bs[qq * TSN + jj] = j < g.N && q < g.K ? b[bBase + q * g.BRow + j * g.BCol] : 0f;
            }
            Group.Barrier();
            for (int q = 0; q < TSK; q++)
            {
                for (int wm = 0; wm < WPTM; wm++) ar[wm] = As[q * TSM + ly + wm * RTSM];
                for (int wn = 0; wn < WPTN; wn++) br[wn] = Bs[q * TSN + lx + wn * RTSN];
                for (int wm = 0; wm < WPTM; wm++)
                    for (int wn = 0; wn < WPTN; wn++) acc[wm * WPTN + wn] += ar[wm] * br[wn];
            }
            Group.Barrier();
        }

        int cBase = g.COff + p * g.CBatch;
        for (int wm = 0; wm < WPTM; wm++)
        {
            int i = i0 + ly + wm * RTSM;
            if (i >= g.M) break;
            for (int wn = 0; wn < WPTN; wn++)
            {
                int j = j0 + lx + wn * RTSN;
                if (j >= g.N) continue;
                int at = cBase + i * g.N + j;
                c[at] = Store(g.Alpha, acc[wm * WPTN + wn], g.Beta, g.Beta == 0f ? 0f : c[at]);
            }
        }
    }
}
