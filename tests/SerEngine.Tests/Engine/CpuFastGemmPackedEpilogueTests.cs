using SerEngine.Backends;
using SerEngine.Backends.Cpu;
using static SerEngine.Tests.Engine.FastAgreement;

namespace SerEngine.Tests.Engine;

/// <summary>
/// GemmPackedA with a step on each finished row (Backend.GemmPackedATanh, GemmPackedARowMeans, GemmPackedAResidualReluMean) on the
/// fast backend: against cpu-reference's composed default within FastAgreement's tolerance; bit for bit against the
/// fast backend's own composition (GemmPackedA, then its Unary/Binary/SumTo primitives) where that composition runs
/// tanh through its vector body on every element; the same bits from the 12×16 narrow tiles (the step inside the
/// product's tasks) and from the 256-bit driver (the step after the product), on one to three threads.
/// </summary>
public class CpuFastGemmPackedEpilogueTests
{
    [Theory]
    [InlineData(256, 15, 256, 1)]  // FocusCalibrationNet's focus context
    [InlineData(480, 15, 256, 1)]  // its output projection
    [InlineData(13, 9, 300, 2)]    // rows off the 12-row tile, two slabs, two items
    [InlineData(7, 3, 17, 3)]      // packed B (under 8 columns), tails of tanh
    [InlineData(20, 40, 33, 1)]    // too wide for the narrow tiles
    public void StepsAgreeWithTheComposedPrimitives(int m, int n, int k, int batch)
    {
        var rng = new Generator(71);
        var a = Random(rng, m * k);
        var b = Random(rng, batch * k * n);
        var bias = Random(rng, m);
        var residual = Random(rng, batch * m * n);
        var kinds = new[] { GemmKernelKind.Vector256, CpuBackend.BestGemmKernel }.Distinct();
        float[]? firstTanh = null, firstMeans = null, firstRowMeans = null;
        foreach (var kind in kinds)
            foreach (int threads in new[] { 1, 2, 3 })
            {
                var fast = new CpuBackend { GemmKernel = kind, Threads = threads };
                var packed = fast.PackGemmA(a, false, m, k);
                var c = Output(batch * m * n);
                fast.GemmPackedATanh(packed, batch, n, b, k * n, c, bias);
                var scratch = Output(batch * m * n);
                var means = Output(batch * m);
                fast.GemmPackedAResidualReluMean(packed, batch, n, b, k * n, scratch, bias, residual, means);
                float[] tanh = Read(c), mean = Read(means);
                int meanRows = Math.Max(1, m / 3 + 1);
                var rowC = Output(batch * m * n);
                var rowMeans = Output(batch * meanRows);
                fast.GemmPackedARowMeans(packed, batch, n, b, k * n, rowC, bias, rowMeans, meanRows);
                var refRowC = Output(batch * m * n);
                var refRowMeans = Output(batch * meanRows);
                Ref.GemmPackedARowMeans(Ref.PackGemmA(a, false, m, k), batch, n, b, k * n, refRowC, bias, refRowMeans, meanRows);
                Agree(Read(refRowMeans), Read(rowMeans), $"row means {m}x{n}x{k} b{batch} {kind} t{threads}");
                Assert.True(Read(rowC).AsSpan().SequenceEqual(Read(PlainProduct(fast, packed, b, bias, batch, m, n, k))), "row means: C holds A·B + bias");
                // the composition the model used: the first rows copied out, SumTo, Scale
                var firstRows = Output(batch * meanRows * n);
                fast.CopyBlocks(rowC, 0, m * n, firstRows, 0, meanRows * n, meanRows * n, batch);
                var composedRowMeans = Output(batch * meanRows);
                fast.SumTo(firstRows, new Shape(batch, meanRows, n), composedRowMeans, new Shape(batch, meanRows, 1));
                fast.Unary(UnaryOp.Scale, composedRowMeans, composedRowMeans, batch * meanRows, 1f / n);
                if (n <= 16)
                    Assert.True(Read(composedRowMeans).AsSpan().SequenceEqual(Read(rowMeans)), $"row means {m}x{n}x{k} b{batch} {kind} t{threads}: not the composed bits");
                firstRowMeans ??= Read(rowMeans);
                Assert.True(firstRowMeans.AsSpan().SequenceEqual(Read(rowMeans)), $"row means {m}x{n}x{k} b{batch} {kind} t{threads}: bits differ across kernels or threads");

                // the reference's composed default
                var refPacked = Ref.PackGemmA(a, false, m, k);
                var refC = Output(batch * m * n);
                Ref.GemmPackedATanh(refPacked, batch, n, b, k * n, refC, bias);
                var refScratch = Output(batch * m * n);
                var refMeans = Output(batch * m);
                Ref.GemmPackedAResidualReluMean(refPacked, batch, n, b, k * n, refScratch, bias, residual, refMeans);
                Agree(Read(refC), tanh, $"tanh {m}x{n}x{k} b{batch} {kind} t{threads}");
                Agree(Read(refMeans), mean, $"residual mean {m}x{n}x{k} b{batch} {kind} t{threads}");

                // the fast backend's own primitives one after another
                var plain = Output(batch * m * n);
                fast.GemmPackedA(packed, false, batch, n, 1f, b, k * n, 0f, plain, m * n, bias);
                var shape = new Shape(batch, m, n);
                var sum = Output(batch * m * n);
                fast.Binary(BinaryOp.Add, residual, shape, plain, shape, sum, shape);
                fast.Unary(UnaryOp.Relu, sum, sum, batch * m * n, 0f);
                var composedMeans = Output(batch * m);
                fast.SumTo(sum, shape, composedMeans, new Shape(batch, m, 1));
                fast.Unary(UnaryOp.Scale, composedMeans, composedMeans, batch * m, 1f / n);
                if (n <= 16) // SumTo's short-row sum (in order, in double)
                    Assert.True(Read(composedMeans).AsSpan().SequenceEqual(mean), $"residual mean {m}x{n}x{k} b{batch} {kind} t{threads}: not the composed bits");
                if (batch * m * n % 8 == 0) // the Unary kernel runs every element through its vector body
                {
                    fast.Unary(UnaryOp.Tanh, plain, plain, batch * m * n, 0f);
                    Assert.True(Read(plain).AsSpan().SequenceEqual(tanh), $"tanh {m}x{n}x{k} b{batch} {kind} t{threads}: not the composed bits");
                }
                Assert.True(Read(scratch).AsSpan().SequenceEqual(Read(PlainProduct(fast, packed, b, bias, batch, m, n, k))), "the scratch holds A·B + bias");

                firstTanh ??= tanh;
                firstMeans ??= mean;
                Assert.True(firstTanh.AsSpan().SequenceEqual(tanh), $"tanh {m}x{n}x{k} b{batch} {kind} t{threads}: bits differ across kernels or threads");
                Assert.True(firstMeans.AsSpan().SequenceEqual(mean), $"residual mean {m}x{n}x{k} b{batch} {kind} t{threads}: bits differ across kernels or threads");
            }
    }

    private static Storage PlainProduct(CpuBackend fast, PackedGemmA packed, Storage b, Storage bias, int batch, int m, int n, int k)
    {
        var c = Output(batch * m * n);
        fast.GemmPackedA(packed, false, batch, n, 1f, b, k * n, 0f, c, m * n, bias);
        return c;
    }
}
