using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace SerEngine.Backends.Cpu;

// GEMM with a prepacked A and at most 16 columns of B (GemmPackedA's inference case: Yᵀ [m, n] = W [m, k]·Xᵀ
// with n = the 15 tokens of a segment). The blocked driver's 6×32 tile would leave 17 of its 32 lanes idle
// there; this runs 12×16 tiles instead, one 512-bit accumulator per row (two 6-row A micro-panels per tile,
// 12 independent FMA chains: enough to keep both FMA pipes busy), and packs B once into a single 16-column panel;
// a row-major B of 8 to 16 columns is read in place instead (no serial packing pass while the workers wait): each
// row's 16-float load reaches into the next row, whose values land in lanes past n that are never stored; only B's
// last row, which has no row after it, is read from a zero-padded copy.
// Each element of C is the same chain as in the driver (per KC slab an FMA chain over p in order, the first slab
// stored and later ones added with one rounding), so results are bit-identical to it at any vector width.
public partial class CpuBackend
{
    /// <summary>Widest B (columns) the narrow path takes.</summary>
    private const int GemmNarrowColumns = 16;

    /// <summary>This thread's packed B panel of the narrow path [k][16] (CpuScratch).</summary>
    [ThreadStatic] private static float[]? _narrowB;

    /// <summary>
    /// True when <see cref="GemmNarrow"/> runs C = A·B (+ C) on this CPU: 512-bit vectors, n ≤ 16, alpha 1 and
    /// beta 0 or 1, and a call the driver would not split along k (its partial sums would add in another order).
    /// </summary>
    private bool GemmNarrowApplies(int batch, int m, int n, int k, float alpha, float beta)
    {
        if (GemmKernel != GemmKernelKind.Vector512 || !Vector512.IsHardwareAccelerated || n > GemmNarrowColumns || alpha != 1f || (beta != 0f && beta != 1f))
            return false;
        int threads = Threads > 1 && (long)batch * m * n * k >= GemmParallelMacs ? Threads : 1; // GemmRun's choice
        // a wanted split (k ≥ 2·KC) stays one after Plan rounds its parts to whole slabs
        return threads == 1 || GemmKSplitsWanted(batch, m, n, k, threads) == 1;
    }

    /// <summary>
    /// C_item [m, n] (= or +=, by <paramref name="beta"/> 0 or 1) A·B_item for every item, A as packed by
    /// <see cref="PackGemmA"/> (KC slabs of 6-row micro-panels), B_item [k, n] at <paramref name="b"/> + item·<paramref name="strideB"/>
    /// (or [n, k] with <paramref name="transB"/>); with <paramref name="rowBias"/> [m], each row of C is first set to
    /// (or, beta 1, increased by) its bias, then A·B is added; then <paramref name="epilogue"/> runs on the task's finished rows.
    /// </summary>
    private unsafe void GemmNarrow(float* packedA, float* b, long strideB, bool transB, int batch, int m, int n, int k, float beta, float* c, long strideC, float* rowBias = null,
        RowsEpilogue epilogue = default)
    {
        int mPad = RoundUp(m, GemmMR), pairs = CeilDiv(mPad / GemmMR, 2);
        bool inPlace = !transB && n >= 8; // a row's 16 floats reach one row further at most
        long kPanel = inPlace ? GemmNarrowColumns : (long)RoundUp(k, GemmKC) * GemmNarrowColumns;
        var plain = new PlainB(b, strideB, transB, k, n);
        for (int item = 0; item < batch; item++)
        {
            float* pb = CpuScratch.Floats(ref _narrowB, kPanel); // packed: [k][16]; in place: B's last row, [16]; zeros past n
            int bStride = GemmNarrowColumns;
            if (inPlace)
            {
                bStride = n;
                float* last = b + item * strideB + (long)(k - 1) * n;
                for (int j = 0; j < GemmNarrowColumns; j++) pb[j] = j < n ? last[j] : 0f;
            }
            else
                for (int p0 = 0; p0 < k; p0 += GemmKC)
                    plain.Pack(pb + (long)p0 * GemmNarrowColumns, item, p0, Math.Min(GemmKC, k - p0), 0, n, GemmNarrowColumns);
            float* bItem = inPlace ? b + item * strideB : pb, lastRow = inPlace ? pb : pb + (long)(k - 1) * GemmNarrowColumns;
            float* ci = c + item * strideC;
            long macs = (long)m * n * k;
            ParallelFor(pairs, macs >= GemmParallelMacs ? Threads : 1, new NarrowPairs
            {
                PackedA = packedA, BItem = bItem, LastRow = lastRow, C = ci, RowBias = rowBias, BStride = bStride, Item = item,
                M = m, N = n, K = k, MPad = mPad, Beta = beta, Epilogue = epilogue,
            });
        }
    }

    /// <summary>GemmNarrow's task <c>pair</c> of one item: rows 12·pair .. of C (two 6-row panels of A) against B's panel.</summary>
    private unsafe struct NarrowPairs : IPoolBody
    {
        public float* PackedA, BItem, LastRow, C, RowBias;
        public int BStride, Item, M, N, K, MPad;
        public float Beta;
        public RowsEpilogue Epilogue;

        public readonly void Run(int pair)
        {
            int m = M, n = N, k = K;
            float* ci = C, rowBias = RowBias;
            int r0 = pair * 2 * GemmMR, rows = Math.Min(2 * GemmMR, m - r0);
            var tile = stackalloc float[2 * GemmMR * GemmNarrowColumns + 16];
            float* t = (float*)(((nint)tile + 63) & ~(nint)63); // [12, 16]
            if (rowBias != null)
                for (int r = 0; r < rows; r++)
                {
                    float* row = ci + (long)(r0 + r) * n;
                    float bi = rowBias[r0 + r];
                    if (Beta == 0f) new Span<float>(row, n).Fill(bi);
                    else for (int j = 0; j < n; j++) row[j] += bi;
                }
            for (int p0 = 0; p0 < k; p0 += GemmKC)
            {
                int kc = Math.Min(GemmKC, k - p0);
                float* ap = PackedA + (long)p0 * MPad + (long)r0 * kc; // this slab's panels of rows r0.., [kc][6] each
                float* bp = BItem + (long)p0 * BStride;
                Kernel12x16(kc, ap, ap + (long)GemmMR * kc, bp, BStride, p0 + kc == k ? LastRow : bp + (long)(kc - 1) * BStride, t, twoPanels: rows > GemmMR);
                bool add = p0 > 0 || Beta == 1f || rowBias != null;
                for (int r = 0; r < rows; r++)
                    StoreRow(t + r * GemmNarrowColumns, ci + (long)(r0 + r) * n, n, add);
            }
            if (Epilogue.Step != RowStep.None) Epilogue.Apply(Item, ci, r0, rows, n);
        }
    }

    /// <summary>
    /// c[0..n) = tile row (or c + tile row when <paramref name="add"/>), n ≤ 16: two runs of 8 from the ends
    /// (they may overlap; both are computed from c before either is stored), element by element below 8.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void StoreRow(float* tile, float* c, int n, bool add)
    {
        if (n < 8)
        {
            if (add) for (int j = 0; j < n; j++) c[j] += tile[j];
            else for (int j = 0; j < n; j++) c[j] = tile[j];
            return;
        }
        var first = Vector256.Load(tile);
        var last = Vector256.Load(tile + n - 8);
        if (add)
        {
            first += Vector256.Load(c);
            last += Vector256.Load(c + n - 8);
        }
        first.Store(c);
        last.Store(c + n - 8);
    }

    /// <summary>
    /// 12×16 tile with Vector512: rows 0–5 from A panel <paramref name="a0"/>, rows 6–11 from <paramref name="a1"/>
    /// (skipped unless <paramref name="twoPanels"/>), one accumulator per row; B's rows 16 floats each,
    /// <paramref name="bStride"/> apart, the last one (p = kc − 1) at <paramref name="bLast"/>; result to tile [12, 16].
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void Kernel12x16(int kc, float* a0, float* a1, float* b, int bStride, float* bLast, float* tile, bool twoPanels)
    {
        int last = kc - 1;
        Vector512<float> c0 = default, c1 = default, c2 = default, c3 = default, c4 = default, c5 = default;
        Vector512<float> c6 = default, c7 = default, c8 = default, c9 = default, c10 = default, c11 = default;
        if (twoPanels)
        {
            for (int p = 0; p < kc; p++)
            {
                var bv = Vector512.Load(p < last ? b : bLast);
                c0 = Fmadd(Vector512.Create(a0[0]), bv, c0); c1 = Fmadd(Vector512.Create(a0[1]), bv, c1);
                c2 = Fmadd(Vector512.Create(a0[2]), bv, c2); c3 = Fmadd(Vector512.Create(a0[3]), bv, c3);
                c4 = Fmadd(Vector512.Create(a0[4]), bv, c4); c5 = Fmadd(Vector512.Create(a0[5]), bv, c5);
                c6 = Fmadd(Vector512.Create(a1[0]), bv, c6); c7 = Fmadd(Vector512.Create(a1[1]), bv, c7);
                c8 = Fmadd(Vector512.Create(a1[2]), bv, c8); c9 = Fmadd(Vector512.Create(a1[3]), bv, c9);
                c10 = Fmadd(Vector512.Create(a1[4]), bv, c10); c11 = Fmadd(Vector512.Create(a1[5]), bv, c11);
                a0 += GemmMR;
                a1 += GemmMR;
                b += bStride;
            }
        }
        else
        {
            for (int p = 0; p < kc; p++)
            {
                var bv = Vector512.Load(p < last ? b : bLast);
                c0 = Fmadd(Vector512.Create(a0[0]), bv, c0); c1 = Fmadd(Vector512.Create(a0[1]), bv, c1);
                c2 = Fmadd(Vector512.Create(a0[2]), bv, c2); c3 = Fmadd(Vector512.Create(a0[3]), bv, c3);
                c4 = Fmadd(Vector512.Create(a0[4]), bv, c4); c5 = Fmadd(Vector512.Create(a0[5]), bv, c5);
                a0 += GemmMR;
                b += bStride;
            }
        }
        c0.Store(tile); c1.Store(tile + 16); c2.Store(tile + 32); c3.Store(tile + 48); c4.Store(tile + 64); c5.Store(tile + 80);
        c6.Store(tile + 96); c7.Store(tile + 112); c8.Store(tile + 128); c9.Store(tile + 144); c10.Store(tile + 160); c11.Store(tile + 176);
    }
}
