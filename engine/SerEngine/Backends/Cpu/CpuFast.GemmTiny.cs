using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace SerEngine.Backends.Cpu;

// GEMM whose C rows are at most 16 wide and whose whole product is a few tens of thousands of
// multiply-adds, with B not transposed (the per-head products of attention over a dozen tokens in
// feature-major layout: Q Kᵀ from Qᵀ and Kᵀ, the focus logits U · cᵀ): the blocked driver's packing,
// planning and task set-up cost several times the arithmetic, so these run on the calling thread as
// rank-1 updates straight from the operands: per k, A(i, k) broadcast times B's row k (16 columns, two
// 8-wide vectors, masked loads past n). Each C element is the
// sum over k in order of fused multiply-adds from zero, the same with 256- and 512-bit vectors.
public partial class CpuBackend
{
    /// <summary>At most this many multiply-adds (all items together) take the tiny path.</summary>
    internal const long GemmTinyMacs = 1 << 17;

    /// <summary>True when a GEMM runs as rank-1 updates on the calling thread (B plain, C rows of at most 16, little work).</summary>
    internal static bool GemmUsesTiny(bool transB, int batch, int m, int n, int k) =>
        !transB && n <= 16 && k >= 1 && (long)batch * m * n * k <= GemmTinyMacs && Fma.IsSupported;

    /// <summary>C_item = alpha·op(A_item)·B_item + beta·C_item for every item (B [k, n] plain, n ≤ 16), by rank-1 updates.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void GemmTiny(bool transA, int batch, int m, int n, int k, float alpha, float* a, long strideA,
        float* b, long strideB, float beta, float* c, long strideC)
    {
        // B's rows read as two 8-wide vectors, the columns past n masked off (zero, never touched in memory)
        float* sums = stackalloc float[64];
        var lanes = Vector256.Create(0, 1, 2, 3, 4, 5, 6, 7);
        var mask0 = Vector256.LessThan(lanes, Vector256.Create(n)).AsSingle();
        var mask1 = Vector256.LessThan(lanes, Vector256.Create(n - 8)).AsSingle();
        for (int item = 0; item < batch; item++)
        {
            float* ai = a + item * strideA, bi = b + item * strideB, ci = c + item * strideC;
            // A(i, q) at ai[i·sa + q·sq]: [m, k] row-major, or [k, m] when transposed
            long sa = transA ? 1 : k, sq = transA ? m : 1;
            for (int i0 = 0; i0 < m; i0 += 4)
            {
                int rows = Math.Min(4, m - i0);
                Vector256<float> c00 = Vector256<float>.Zero, c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00;
                float* a0 = ai + i0 * sa;
                float* a1 = ai + (i0 + Math.Min(1, rows - 1)) * sa, a2 = ai + (i0 + Math.Min(2, rows - 1)) * sa, a3 = ai + (i0 + Math.Min(3, rows - 1)) * sa;
                for (int q = 0; q < k; q++)
                {
                    float* bq = bi + (long)q * n;
                    var b0 = Avx.MaskLoad(bq, mask0);
                    var b1 = Avx.MaskLoad(bq + 8, mask1);
                    long at = q * sq;
                    var x = Vector256.Create(a0[at]);
                    c00 = Fma.MultiplyAdd(x, b0, c00);
                    c01 = Fma.MultiplyAdd(x, b1, c01);
                    x = Vector256.Create(a1[at]);
                    c10 = Fma.MultiplyAdd(x, b0, c10);
                    c11 = Fma.MultiplyAdd(x, b1, c11);
                    x = Vector256.Create(a2[at]);
                    c20 = Fma.MultiplyAdd(x, b0, c20);
                    c21 = Fma.MultiplyAdd(x, b1, c21);
                    x = Vector256.Create(a3[at]);
                    c30 = Fma.MultiplyAdd(x, b0, c30);
                    c31 = Fma.MultiplyAdd(x, b1, c31);
                }
                // the sums leave the registers before any call (a call would make the JIT keep them on the stack in the loop)
                c00.Store(sums); c01.Store(sums + 8); c10.Store(sums + 16); c11.Store(sums + 24);
                c20.Store(sums + 32); c21.Store(sums + 40); c30.Store(sums + 48); c31.Store(sums + 56);
                for (int r = 0; r < rows; r++)
                {
                    float* cr = ci + (long)(i0 + r) * n, sr = sums + 16 * r;
                    for (int j = 0; j < n; j++)
                    {
                        float v = alpha * sr[j];
                        cr[j] = beta == 0f ? v : v + beta * cr[j]; // beta = 0: C's old values ignored, even NaN
                    }
                }
            }
        }
    }
}
