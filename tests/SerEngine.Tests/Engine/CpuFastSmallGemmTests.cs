using SerEngine.Backends;
using SerEngine.Backends.Cpu;
using static SerEngine.Tests.Engine.FastAgreement;

namespace SerEngine.Tests.Engine;

/// <summary>
/// The fast backend's one-row GEMM path (C [1, n] = A [1, k] · Wᵀ, 1×8 dot-product tiles) against
/// the <c>cpu-reference</c> loops, norm-wise to 1e-4 relative: column counts around the tile width,
/// depths with and without a tail past the last 8-wide step, batches with strides, alpha and beta.
/// </summary>
public class CpuFastSmallGemmTests
{
    private static readonly Backend Ref = BackendRegistry.Get("cpu-reference");

    [Theory]
    [InlineData(1, 1, 16)]
    [InlineData(1, 7, 17)]
    [InlineData(1, 8, 64)]
    [InlineData(1, 9, 255)]
    [InlineData(1, 256, 256)]
    [InlineData(1, 300, 480)]
    [InlineData(3, 13, 40)]
    [InlineData(4, 4, 23)]
    public void OneRowTimesTransposedWeightsAgrees(int batch, int n, int k)
    {
        var rng = new Generator(51);
        var a = Random(rng, batch * k);       // [batch][1, k]
        var w = Random(rng, batch * n * k);   // [batch][n, k]
        foreach (var (alpha, beta) in new[] { (1f, 0f), (-0.5f, 1f), (2f, 0.5f) })
        {
            var c0 = beta == 0f ? Enumerable.Repeat(float.NaN, batch * n).ToArray() : RandomArray(rng, batch * n);
            var expected = Ref.Allocate(batch * n, DType.Float32);
            Ref.Write(expected, c0);
            Ref.Gemm(false, true, batch, 1, n, k, alpha, a, k, w, n * k, beta, expected, n);
            foreach (int threads in new[] { 1, 2, 3 })
            {
                var fast = new CpuBackend { Threads = threads };
                var actual = Ref.Allocate(batch * n, DType.Float32);
                Ref.Write(actual, c0);
                fast.Gemm(false, true, batch, 1, n, k, alpha, a, k, w, n * k, beta, actual, n);
                Agree(expected, actual, $"batch {batch}, n {n}, k {k}, alpha {alpha}, beta {beta}, t{threads}");
            }
        }
        // one weight matrix shared by every item (stride 0)
        var shared = Ref.Allocate(batch * n, DType.Float32);
        var sharedFast = Ref.Allocate(batch * n, DType.Float32);
        Ref.Gemm(false, true, batch, 1, n, k, 1f, a, k, w, 0, 0f, shared, n);
        new CpuBackend { Threads = 2 }.Gemm(false, true, batch, 1, n, k, 1f, a, k, w, 0, 0f, sharedFast, n);
        Agree(shared, sharedFast, $"shared weights, batch {batch}, n {n}, k {k}");
    }
}
