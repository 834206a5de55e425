using SerEngine.Backends;
using SerEngine.Backends.Cpu;
using static SerEngine.Tests.Engine.FastAgreement;

namespace SerEngine.Tests.Engine;

/// <summary>
/// GEMM with a prepacked A (Backend.PackGemmA / GemmPackedA: a weight matrix packed once, times a new
/// right-hand side per call, with an optional bias per row) on the fast backend against the
/// <c>cpu-reference</c> GEMM, norm-wise to 1e-4 relative: row counts around the 6-row micro-panel,
/// depths over several 256-deep slabs, B plain or transposed, batches, alpha and beta, each micro-kernel
/// and thread count; the reference backend's default (Gemm, then the bias) against the same loops.
/// </summary>
public class CpuFastPackedGemmTests
{
    private static readonly Backend Ref = BackendRegistry.Get("cpu-reference");

    [Theory]
    [InlineData(768, 15, 480, 1, false, false)]
    [InlineData(480, 15, 256, 1, false, true)]
    [InlineData(256, 15, 256, 2, false, false)]
    [InlineData(1, 1, 1, 1, false, false)]
    [InlineData(7, 3, 17, 3, true, false)]
    [InlineData(13, 17, 257, 2, false, true)]
    [InlineData(97, 33, 600, 2, true, true)]
    [InlineData(8, 40, 5, 1, false, false)]
    public void PackedAAgreesWithReference(int m, int n, int k, int batch, bool transA, bool transB)
    {
        var rng = new Generator(61);
        var a = Random(rng, m * k);           // [m, k] or [k, m]
        var b = Random(rng, batch * k * n);   // [batch][k, n] or [batch][n, k]
        var bias = Random(rng, m);            // [m]
        var kernels = new[] { GemmKernelKind.Scalar, CpuBackend.BestGemmKernel }.Distinct();
        foreach (var (alpha, beta, withBias) in new[] { (1f, 0f, true), (1f, 0f, false), (-0.5f, 1f, true), (2f, 0.5f, false) })
        {
            var c0 = beta == 0f ? Enumerable.Repeat(float.NaN, batch * m * n).ToArray() : RandomArray(rng, batch * m * n);
            var expected = Expected(a, transA, b, transB, batch, m, n, k, alpha, beta, c0, withBias ? bias : null);
            foreach (var kind in kernels)
                foreach (int threads in new[] { 1, 2, 3 })
                {
                    var fast = new CpuBackend { GemmKernel = kind, Threads = threads };
                    var packed = fast.PackGemmA(a, transA, m, k);
                    var actual = Ref.Allocate(batch * m * n, DType.Float32);
                    Ref.Write(actual, c0);
                    fast.GemmPackedA(packed, transB, batch, n, alpha, b, k * n, beta, actual, m * n, withBias ? bias : null);
                    Agree(expected, actual, $"{kind} t{threads} m {m}, n {n}, k {k}, batch {batch}, alpha {alpha}, beta {beta}, bias {withBias}");
                    // the packed operand is reused: a second product gives the same result
                    Ref.Write(actual, c0);
                    fast.GemmPackedA(packed, transB, batch, n, alpha, b, k * n, beta, actual, m * n, withBias ? bias : null);
                    Agree(expected, actual, $"{kind} t{threads} reused");
                }
            // the reference backend's default: Gemm on the source, then the bias
            var byDefault = Ref.Allocate(batch * m * n, DType.Float32);
            Ref.Write(byDefault, c0);
            Ref.GemmPackedA(Ref.PackGemmA(a, transA, m, k), transB, batch, n, alpha, b, k * n, beta, byDefault, m * n, withBias ? bias : null);
            Agree(expected, byDefault, $"reference default, m {m}, n {n}, k {k}, bias {withBias}");
        }
    }

    /// <summary>
    /// The 12×16 tiles for at most 16 columns (512-bit CPUs) give the driver's bits (its 6×16 tiles, as on an AVX2
    /// CPU): row counts off the 12-row tile, several slabs, a bias, beta 1, one to three threads; B packed (one column)
    /// and read in place (8 to 16 columns, its last row from a padded copy).
    /// </summary>
    [Theory]
    [InlineData(768, 15, 480, 1)]
    [InlineData(256, 15, 256, 2)]
    [InlineData(13, 16, 600, 1)]
    [InlineData(7, 1, 513, 2)]
    [InlineData(20, 8, 300, 2)]   // the fewest columns read in place, B's last row in the second slab
    [InlineData(12, 9, 1, 3)]     // one row of B: only the padded copy of the last row
    public void NarrowTilesGiveTheDriversBits(int m, int n, int k, int batch)
    {
        if (CpuBackend.BestGemmKernel != GemmKernelKind.Vector512) return; // the narrow tiles need 512-bit vectors
        var rng = new Generator(63);
        var a = Random(rng, m * k);
        var b = Random(rng, batch * k * n);
        var bias = Random(rng, m);
        foreach (var (beta, withBias) in new[] { (0f, false), (0f, true), (1f, false), (1f, true) })
            foreach (int threads in new[] { 1, 2, 3 })
            {
                var c0 = RandomArray(rng, batch * m * n);
                float[] Run(GemmKernelKind kind)
                {
                    var fast = new CpuBackend { GemmKernel = kind, Threads = threads };
                    var c = Ref.Allocate(batch * m * n, DType.Float32);
                    Ref.Write(c, c0);
                    fast.GemmPackedA(fast.PackGemmA(a, false, m, k), false, batch, n, 1f, b, k * n, beta, c, m * n, withBias ? bias : null);
                    var result = new float[batch * m * n];
                    Ref.Read(c, result);
                    return result;
                }
                Assert.True(Run(GemmKernelKind.Vector256).AsSpan().SequenceEqual(Run(GemmKernelKind.Vector512)),
                    $"m {m}, n {n}, k {k}, batch {batch}, beta {beta}, bias {withBias}, t{threads}: the 12×16 tiles differ from the driver's");
            }
    }

    [Fact]
    public void PackedOperandOfAnotherBackendIsRefused()
    {
        var rng = new Generator(62);
        var a = Random(rng, 12);
        var b = Random(rng, 12);
        var c = Ref.Allocate(9, DType.Float32);
        var packed = new CpuBackend().PackGemmA(a, false, 3, 4);
        Assert.Throws<ArgumentException>(() => Ref.GemmPackedA(packed, false, 1, 3, 1f, b, 0, 0f, c, 0));
    }

    /// <summary>The reference loops: C = alpha·op(A)·op(B) + beta·C per item, then + bias[i] on row i.</summary>
    private static Storage Expected(Storage a, bool transA, Storage b, bool transB, int batch, int m, int n, int k,
        float alpha, float beta, float[] c0, Storage? bias)
    {
        var c = Ref.Allocate(batch * m * n, DType.Float32);
        Ref.Write(c, c0);
        Ref.Gemm(transA, transB, batch, m, n, k, alpha, a, 0, b, k * n, beta, c, m * n);
        if (bias is null) return c;
        var v = new float[batch * m * n];
        var bv = new float[m];
        Ref.Read(c, v);
        Ref.Read(bias, bv);
        for (int i = 0; i < v.Length; i++) v[i] += bv[i / n % m];
        Ref.Write(c, v);
        return c;
    }
}
