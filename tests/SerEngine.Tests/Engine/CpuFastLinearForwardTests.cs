using SerEngine.Backends;
using SerEngine.Backends.Cpu;
using static SerEngine.Tests.Engine.FastAgreement;

namespace SerEngine.Tests.Engine;

/// <summary>
/// The fast backend's linear forward, whose GEMM tasks add the bias to each block of y, against the two
/// primitives it replaces on the same backend (Gemm, then a broadcast Binary add) bit for bit, and against
/// <c>cpu-reference</c> norm-wise: FocusCalibrationNet's projection shapes, ragged ones, a product split
/// along k (bias added after the partial sums), the one-row path, no bias; one to three threads, both kernel widths.
/// </summary>
public class CpuFastLinearForwardTests
{
    [Theory]
    [InlineData(480, 256, 480)]
    [InlineData(480, 480, 256)]
    [InlineData(480, 256, 256)]
    [InlineData(32, 256, 256)]
    [InlineData(100, 77, 300)]
    [InlineData(30, 40, 2048)]
    [InlineData(5, 33, 64)]
    [InlineData(601, 70, 700)] // an input larger than L2: whole-depth tiles (512-bit), bias after the last slab
    public void BiasInTheStoreIsGemmThenAddBitForBit(int m, int outF, int inF)
    {
        var rng = new Generator((ulong)(m * 13 + outF * 5 + inF));
        var x = Random(rng, m * inF);
        var w = Random(rng, outF * inF);
        var b = Random(rng, outF);
        var expected = Ref.Allocate(m * outF, DType.Float32);
        Ref.LinearForward(x, w, b, expected, m, outF, inF);
        foreach (var kind in new[] { GemmKernelKind.Vector256, GemmKernelKind.Vector512 })
        {
            foreach (int threads in new[] { 1, 2, 3 })
            {
                var fast = new CpuBackend { Threads = threads, GemmKernel = kind };
                foreach (bool withBias in new[] { true, false })
                {
                    var twoPasses = Ref.Allocate(m * outF, DType.Float32);
                    fast.Gemm(false, true, 1, m, outF, inF, 1f, x, 0, w, 0, 0f, twoPasses, 0);
                    if (withBias) fast.Binary(BinaryOp.Add, twoPasses, new Shape(m, outF), b, new Shape(1, outF), twoPasses, new Shape(m, outF));
                    var fused = Ref.Allocate(m * outF, DType.Float32);
                    fast.LinearForward(x, w, withBias ? b : null, fused, m, outF, inF);
                    string what = $"{kind} t{threads} {m}x{outF}x{inF} bias {withBias}";
                    Assert.True(Read(twoPasses).AsSpan().SequenceEqual(Read(fused)), $"fused bias differs from Gemm + add: {what}");
                    if (withBias) Agree(expected, fused, what);
                }
            }
        }
    }
}
