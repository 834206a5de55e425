using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace SerEngine.Backends.Cpu;

// GEMM with few rows and B transposed (a linear layer on a short sequence: C [m, n] = A [m, k] · Wᵀ,
// W [n, k]): packing W for the blocked driver would cost as much as the product itself (each packed
// value is used only m times), so these run as dot products straight from the operands. Rows of A
// and rows of W are both contiguous along k: a register tile of 3 rows × 4 columns keeps twelve
// 8-wide partial sums (KernelDot3x4, shared with the shifted-window conv2d backward-weight), the k tail runs scalar.
// A single row (a pooled vector through a linear layer) takes 1×8 tiles instead (KernelDot1x8).
public partial class CpuBackend
{
    /// <summary>At most this many rows of C take the dot-product path.</summary>
    internal const int GemmSmallRows = 24;

    /// <summary>True when a GEMM runs as dot products (A plain, B transposed, few rows, k long enough for vectors).</summary>
    internal static bool GemmUsesDots(bool transA, bool transB, int m, int k) =>
        !transA && transB && m <= GemmSmallRows && k >= 16 && System.Runtime.Intrinsics.Vector256.IsHardwareAccelerated;

    /// <summary>C_item = alpha·A_item·W_itemᵀ + beta·C_item for every item, by 3×4 tiles of dot products.</summary>
    private unsafe void GemmDots(int batch, int m, int n, int k, float alpha, float* a, long strideA, float* w, long strideW,
        float beta, float* c, long strideC)
    {
        if (m == 1) GemmDotsRow(batch, n, k, alpha, a, strideA, w, strideW, beta, c, strideC);
        else
            ForChunks(batch * CeilDiv(n, 4), (long)batch * m * n * k / 8,
                new DotsTiles { M = m, N = n, K = k, Alpha = alpha, A = a, StrideA = strideA, W = w, StrideW = strideW, Beta = beta, C = c, StrideC = strideC });
    }

    /// <summary>GemmDots' tasks of 3×4 tiles: task t is item t / colBlocks, columns 4·(t % colBlocks) on, every row block.</summary>
    private unsafe struct DotsTiles : IChunkBody
    {
        public int M, N, K;
        public float Alpha, Beta;
        public float* A, W, C;
        public long StrideA, StrideW, StrideC;

        public readonly void Run(int t0, int t1)
        {
            int m = M, n = N, k = K;
            float alpha = Alpha, beta = Beta;
            int rowBlocks = CeilDiv(m, 3), colBlocks = CeilDiv(n, 4), k8 = k / 8 * 8;
            float* sums = stackalloc float[12];
            for (int t = t0; t < t1; t++)
            {
                int item = t / colBlocks, j0 = t % colBlocks * 4, cols = Math.Min(4, n - j0);
                float* ai = A + item * StrideA, wi = W + item * StrideW, ci = C + item * StrideC;
                float* w0 = wi + (long)j0 * k;
                // columns past n read row j0 again (their sums are dropped)
                int o1 = cols > 1 ? k : 0, o2 = cols > 2 ? 2 * k : 0, o3 = cols > 3 ? 3 * k : 0;
                for (int rb = 0; rb < rowBlocks; rb++)
                {
                    int i0 = 3 * rb, rows = Math.Min(3, m - i0);
                    float* a0 = ai + (long)i0 * k;
                    float* a1 = rows > 1 ? a0 + k : a0, a2 = rows > 2 ? a0 + 2 * k : a0;
                    KernelDot3x4(1, k8 / 8, a0, a1, a2, 0, w0, 0, 0, o1, o2, o3, sums);
                    for (int i = 0; i < rows; i++)
                    {
                        float* ar = a0 + (long)i * k;
                        for (int j = 0; j < cols; j++)
                        {
                            float* wr = w0 + (long)j * k;
                            float s = sums[i * 4 + j];
                            for (int q = k8; q < k; q++) s += ar[q] * wr[q];
                            float* dst = ci + (long)(i0 + i) * n + j0 + j;
                            *dst = beta == 0f ? alpha * s : alpha * s + beta * *dst;
                        }
                    }
                }
            }
        }
    }

    /// <summary>
    /// One row: c_item = alpha·a_item·W_itemᵀ + beta·c_item by 1×8 tiles (a 3×4 tile would compute the
    /// row three times): one load of a feeds eight multiply-adds.
    /// </summary>
    private unsafe void GemmDotsRow(int batch, int n, int k, float alpha, float* a, long strideA, float* w, long strideW,
        float beta, float* c, long strideC)
    {
        int colBlocks = CeilDiv(n, 8);
        long work = (long)batch * n * k;
        // split by the weight's size: a large W (a 256×256 layer) is read from L3, so two threads halve the wait
        ForChunks(batch * colBlocks, work,
            new DotsRow { N = n, K = k, Alpha = alpha, A = a, StrideA = strideA, W = w, StrideW = strideW, Beta = beta, C = c, StrideC = strideC }, chunksPerThread: 1);
    }

    /// <summary>GemmDotsRow's tasks as a chunk body (<see cref="DotsRowTasks"/>).</summary>
    private unsafe struct DotsRow : IChunkBody
    {
        public int N, K;
        public float Alpha, Beta;
        public float* A, W, C;
        public long StrideA, StrideW, StrideC;

        public readonly void Run(int t0, int t1) => DotsRowTasks(t0, t1, N, K, Alpha, A, StrideA, W, StrideW, Beta, C, StrideC);
    }

    /// <summary>GemmDotsRow's tasks [t0, t1): task t is item t / colBlocks, columns 8·(t % colBlocks) on.</summary>
    private static unsafe void DotsRowTasks(int t0, int t1, int n, int k, float alpha, float* a, long strideA, float* w, long strideW,
        float beta, float* c, long strideC)
    {
        int colBlocks = CeilDiv(n, 8), k8 = k / 8 * 8;
        float* sums = stackalloc float[8];
        for (int t = t0; t < t1; t++)
        {
            int item = t / colBlocks, j0 = t % colBlocks * 8, cols = Math.Min(8, n - j0);
            float* ai = a + item * strideA, ci = c + item * strideC;
            float* w0 = w + item * strideW + (long)j0 * k;
            KernelDot1x8(k8 / 8, ai, w0, k, cols, sums);
            for (int j = 0; j < cols; j++)
            {
                float* wr = w0 + (long)j * k;
                float s = sums[j];
                for (int q = k8; q < k; q++) s += ai[q] * wr[q];
                float* dst = ci + j0 + j;
                *dst = beta == 0f ? alpha * s : alpha * s + beta * *dst;
            }
        }
    }

    /// <summary>
    /// sums[j] = Σ over <paramref name="steps"/>·8 positions of a[v]·w_j[v], w_j = w0 + j·k for the first
    /// <paramref name="cols"/> columns (the others read w0 again; their sums are dropped).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void KernelDot1x8(int steps, float* a, float* w0, long k, int cols, float* sums)
    {
        float* w1 = cols > 1 ? w0 + k : w0, w2 = cols > 2 ? w0 + 2 * k : w0, w3 = cols > 3 ? w0 + 3 * k : w0;
        float* w4 = cols > 4 ? w0 + 4 * k : w0, w5 = cols > 5 ? w0 + 5 * k : w0, w6 = cols > 6 ? w0 + 6 * k : w0, w7 = cols > 7 ? w0 + 7 * k : w0;
        Vector256<float> s0 = default, s1 = default, s2 = default, s3 = default, s4 = default, s5 = default, s6 = default, s7 = default;
        for (int i = 0; i < steps * 8; i += 8)
        {
            var x = Vector256.Load(a + i);
            s0 = Fmadd(x, Vector256.Load(w0 + i), s0);
            s1 = Fmadd(x, Vector256.Load(w1 + i), s1);
            s2 = Fmadd(x, Vector256.Load(w2 + i), s2);
            s3 = Fmadd(x, Vector256.Load(w3 + i), s3);
            s4 = Fmadd(x, Vector256.Load(w4 + i), s4);
            s5 = Fmadd(x, Vector256.Load(w5 + i), s5);
            s6 = Fmadd(x, Vector256.Load(w6 + i), s6);
            s7 = Fmadd(x, Vector256.Load(w7 + i), s7);
        }
        Sum4(s0, s1, s2, s3).Store(sums);
        Sum4(s4, s5, s6, s7).Store(sums + 4);
    }

    /// <summary>
    /// sums[i·4 + j] = Σ over <paramref name="images"/> images (dy rows <paramref name="dStride"/>, images
    /// <paramref name="pStride"/> floats apart) and <paramref name="steps"/>·8 positions of d_i[v]·p[v + o_j]:
    /// three dy rows against four taps, twelve accumulators (no calls inside, so they stay in registers).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static unsafe void KernelDot3x4(int images, int steps, float* d0, float* d1, float* d2, long dStride,
        float* p, long pStride, int o0, int o1, int o2, int o3, float* sums)
    {
        Vector256<float> a00 = default, a01 = default, a02 = default, a03 = default;
        Vector256<float> a10 = default, a11 = default, a12 = default, a13 = default;
        Vector256<float> a20 = default, a21 = default, a22 = default, a23 = default;
        long dSkip = dStride - 8L * steps, pSkip = pStride - 8L * steps;
        for (int n = 0; n < images; n++, d0 += dSkip, d1 += dSkip, d2 += dSkip, p += pSkip)
        {
            for (int i = 0; i < steps; i++)
            {
                var y0 = Vector256.Load(d0);
                var y1 = Vector256.Load(d1);
                var y2 = Vector256.Load(d2);
                var b = Vector256.Load(p + o0);
                a00 = Fmadd(y0, b, a00); a10 = Fmadd(y1, b, a10); a20 = Fmadd(y2, b, a20);
                b = Vector256.Load(p + o1);
                a01 = Fmadd(y0, b, a01); a11 = Fmadd(y1, b, a11); a21 = Fmadd(y2, b, a21);
                b = Vector256.Load(p + o2);
                a02 = Fmadd(y0, b, a02); a12 = Fmadd(y1, b, a12); a22 = Fmadd(y2, b, a22);
                b = Vector256.Load(p + o3);
                a03 = Fmadd(y0, b, a03); a13 = Fmadd(y1, b, a13); a23 = Fmadd(y2, b, a23);
                d0 += 8; d1 += 8; d2 += 8; p += 8;
            }
        }
        Sum4(a00, a01, a02, a03).Store(sums);
        Sum4(a10, a11, a12, a13).Store(sums + 4);
        Sum4(a20, a21, a22, a23).Store(sums + 8);
    }

    /// <summary>
    /// The four horizontal sums of a, b, c, d as one vector: three horizontal adds and one add
    /// (twelve separate Vector256.Sum calls cost about as much as 20 steps of the loop above).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<float> Sum4(Vector256<float> a, Vector256<float> b, Vector256<float> c, Vector256<float> d)
    {
        if (!Avx.IsSupported) return Vector128.Create(Vector256.Sum(a), Vector256.Sum(b), Vector256.Sum(c), Vector256.Sum(d));
        var abcd = Avx.HorizontalAdd(Avx.HorizontalAdd(a, b), Avx.HorizontalAdd(c, d)); // [Σa, Σb, Σc, Σd] per 128-bit half
        return abcd.GetLower() + abcd.GetUpper();
    }
}
