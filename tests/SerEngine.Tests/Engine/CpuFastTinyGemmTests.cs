using SerEngine.Backends;
using SerEngine.Backends.Cpu;
using static SerEngine.Tests.Engine.FastAgreement;

namespace SerEngine.Tests.Engine;

/// <summary>
/// The fast backend's tiny GEMM path (B plain, C rows of at most 16, rank-1 updates on the calling
/// thread: attention's per-head products over a dozen tokens) against the <c>cpu-reference</c> loops
/// with real values, A plain and transposed, alpha and beta, a shared A; and bit for bit against a
/// scalar emulation of its documented order (fused multiply-adds over k in order from zero), which
/// pins it to the same bits with 256- and 512-bit vectors. Also SumTo's short last-axis rows against
/// the in-order double sum they document.
/// </summary>
public class CpuFastTinyGemmTests
{
    private static readonly Backend Ref = BackendRegistry.Get("cpu-reference");

    [Theory]
    [InlineData(false, 4, 15, 15, 64)] // per-head Q Kᵀ as the fused FocusCalibrationNet forward runs it (A transposed)
    [InlineData(true, 4, 15, 15, 64)]
    [InlineData(false, 1, 8, 15, 256)] // the focus logits U · cᵀ
    [InlineData(false, 2, 5, 16, 9)]
    [InlineData(true, 3, 1, 1, 1)]
    [InlineData(false, 1, 17, 7, 33)]
    public void TinyProductsAgreeWithReferenceAndTheirOrder(bool transA, int batch, int m, int n, int k)
    {
        Assert.True(CpuBackend.GemmUsesTiny(false, batch, m, n, k) || !System.Runtime.Intrinsics.X86.Fma.IsSupported);
        var rng = new Generator(77);
        var a = Random(rng, batch * m * k);
        var b = Random(rng, batch * k * n);
        foreach (var (alpha, beta) in new[] { (1f, 0f), (-0.5f, 1f), (2f, 0.5f) })
        {
            var c0 = beta == 0f ? Enumerable.Repeat(float.NaN, batch * m * n).ToArray() : RandomArray(rng, batch * m * n);
            var expected = Ref.Allocate(batch * m * n, DType.Float32);
            Ref.Write(expected, c0);
            Ref.Gemm(transA, false, batch, m, n, k, alpha, a, m * k, b, k * n, beta, expected, m * n);
            var actual = Ref.Allocate(batch * m * n, DType.Float32);
            Ref.Write(actual, c0);
            new CpuBackend { Threads = 2 }.Gemm(transA, false, batch, m, n, k, alpha, a, m * k, b, k * n, beta, actual, m * n);
            string what = $"transA {transA}, batch {batch}, [{m}x{n}x{k}], alpha {alpha}, beta {beta}";
            Agree(expected, actual, what);
            if (System.Runtime.Intrinsics.X86.Fma.IsSupported)
                Assert.Equal(Emulated(transA, batch, m, n, k, alpha, Read(a), Read(b), beta, c0).Select(BitConverter.SingleToInt32Bits),
                    Read(actual).Select(BitConverter.SingleToInt32Bits));
        }
        // one A shared by every item (stride 0)
        var shared = Ref.Allocate(batch * m * n, DType.Float32);
        var sharedFast = Ref.Allocate(batch * m * n, DType.Float32);
        Ref.Gemm(transA, false, batch, m, n, k, 1f, a, 0, b, k * n, 0f, shared, m * n);
        new CpuBackend { Threads = 2 }.Gemm(transA, false, batch, m, n, k, 1f, a, 0, b, k * n, 0f, sharedFast, m * n);
        Agree(shared, sharedFast, $"shared A, transA {transA}, batch {batch}, [{m}x{n}x{k}]");
    }

    /// <summary>The tiny path's documented order: s = fma(A(i, q), B(q, j), s) for q = 0 … k − 1 from 0, then alpha·s (+ beta·C).</summary>
    private static float[] Emulated(bool transA, int batch, int m, int n, int k, float alpha, float[] a, float[] b, float beta, float[] c0)
    {
        var c = (float[])c0.Clone();
        for (int item = 0; item < batch; item++)
            for (int i = 0; i < m; i++)
                for (int j = 0; j < n; j++)
                {
                    float s = 0f;
                    for (int q = 0; q < k; q++)
                        s = MathF.FusedMultiplyAdd(a[item * m * k + (transA ? q * m + i : i * k + q)], b[item * k * n + q * n + j], s);
                    int at = item * m * n + i * n + j;
                    float v = alpha * s;
                    c[at] = beta == 0f ? v : v + beta * c[at];
                }
        return c;
    }

    [Theory]
    [InlineData(1, 256, 15)]
    [InlineData(3, 37, 15)]
    [InlineData(1, 7, 31)]
    [InlineData(2, 9, 1)]
    [InlineData(1, 480, 2)]
    public void ShortRowSumsAreTheInOrderDoubleSums(int n, int rows, int inner)
    {
        var be = new CpuBackend { Threads = 2 };
        var x = Tensor.RandomNormal(new Shape(n, rows, inner), new Generator(5), backend: be);
        var y = Tensor.Empty(new Shape(n, rows, 1), backend: be);
        be.SumTo(x.Storage, x.Shape, y.Storage, y.Shape);
        var xv = x.ToArray();
        var expected = new float[n * rows];
        for (int r = 0; r < n * rows; r++)
        {
            double s = 0;
            for (int q = 0; q < inner; q++) s += xv[r * inner + q];
            expected[r] = (float)s;
        }
        Assert.Equal(expected.Select(BitConverter.SingleToInt32Bits), y.ToArray().Select(BitConverter.SingleToInt32Bits));
    }
}
