using SerEngine.Backends;
using SerEngine.Backends.Cpu;
using static SerEngine.Tests.Engine.FastAgreement;

namespace SerEngine.Tests.Engine;

/// <summary>
/// The fast GEMM with its small B packed once and shared by the tasks (several row blocks on two threads):
/// bit for bit the one-thread run, which packs B in its only task (each element's sum over k is the same
/// chain either way), and norm-wise the <c>cpu-reference</c> loops; both micro-kernel widths, every transpose,
/// FocusCalibrationNet's projection shapes and ragged ones (columns past the last full panel, a depth tail).
/// </summary>
public class CpuFastGemmSharedPackingTests
{
    [Theory]
    [InlineData(480, 256, 480, false, true)]
    [InlineData(480, 480, 256, false, false)]
    [InlineData(256, 480, 480, true, false)]
    [InlineData(480, 256, 256, false, true)]
    [InlineData(100, 77, 300, false, false)]
    [InlineData(61, 200, 513, true, true)]
    public void SharedPackedBMatchesOneThreadBitForBit(int m, int n, int k, bool transA, bool transB)
    {
        var rng = new Generator((ulong)(m * 7 + n * 3 + k));
        var a = Random(rng, m * k);
        var b = Random(rng, k * n);
        var c0 = RandomArray(rng, m * n);
        foreach (var kind in new[] { GemmKernelKind.Vector256, GemmKernelKind.Vector512 })
        {
            foreach (var (alpha, beta) in new[] { (1f, 0f), (1f, 1f), (0.75f, -0.5f) })
            {
                var expected = Ref.Allocate(m * n, DType.Float32);
                Ref.Write(expected, c0);
                Ref.Gemm(transA, transB, 1, m, n, k, alpha, a, 0, b, 0, beta, expected, 0);
                var one = Ref.Allocate(m * n, DType.Float32);
                Ref.Write(one, c0);
                new CpuBackend { Threads = 1, GemmKernel = kind }.Gemm(transA, transB, 1, m, n, k, alpha, a, 0, b, 0, beta, one, 0);
                var two = Ref.Allocate(m * n, DType.Float32);
                Ref.Write(two, c0);
                new CpuBackend { Threads = 2, GemmKernel = kind }.Gemm(transA, transB, 1, m, n, k, alpha, a, 0, b, 0, beta, two, 0);
                string what = $"{kind} {m}x{n}x{k} transA {transA} transB {transB} alpha {alpha} beta {beta}";
                Agree(expected, two, what);
                Assert.True(Read(one).AsSpan().SequenceEqual(Read(two)), $"two threads (B packed once, shared) differ from one thread: {what}");
            }
        }
    }
}
