using SerEngine.Autograd;
using SerEngine.Backends;
using SerEngine.Backends.Cpu;
using SerEngine.Models;

namespace SerEngine.Tests.Models;

/// <summary>
/// The managed bytes a steady-state batch-1 inference allocates on its thread (garbage there lands on fresh memory pages
/// in the first few hundred calls of a process, which on a VM cost microseconds each): the small primitives it calls and
/// the <c>into</c> overloads of Ops allocate nothing, and a whole FocusCalibrationNet forward stays within a named budget.
/// </summary>
[Collection(ProcessWideCollection.Name)] // alone: a call that finds the workers busy takes Parallel.For, which allocates
public class InferenceAllocationTests(ITestOutputHelper output)
{
    private readonly ITestOutputHelper _output = output;

    /// <summary>Bytes <paramref name="call"/> allocates on this thread per call, over 200 calls after 50 warm-ups.</summary>
    private static double BytesPerCall(Action call)
    {
        for (int i = 0; i < 50; i++) call();
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 200; i++) call();
        return (GC.GetAllocatedBytesForCurrentThread() - before) / 200.0;
    }

    [Fact]
    public void TheBatchOnePrimitivesAllocateNothing()
    {
        var cpu = new CpuBackend(2);
        var rng = new Generator(3);
        Tensor oT = Tensor.RandomNormal(new Shape(1, 4, 64, 15), rng, backend: cpu), gates = Tensor.RandomNormal(new Shape(1, 4, 1, 1), rng, backend: cpu);
        Tensor row = Tensor.RandomNormal(new Shape(1, 256), rng, backend: cpu), bias = Tensor.RandomNormal(new Shape(256), rng, backend: cpu);
        Tensor w = Tensor.RandomNormal(new Shape(4, 256), rng, backend: cpu), b4 = Tensor.RandomNormal(new Shape(4), rng, backend: cpu);
        var y = Tensor.Empty(new Shape(1, 4, 64, 15), backend: cpu);
        var y256 = Tensor.Empty(new Shape(1, 256), backend: cpu);
        var y4 = Tensor.Empty(new Shape(1, 4), backend: cpu);
        Assert.Equal(0, BytesPerCall(() => cpu.Binary(BinaryOp.Mul, oT.Storage, oT.Shape, gates.Storage, gates.Shape, y.Storage, y.Shape))); // one value a run
        Assert.Equal(0, BytesPerCall(() => cpu.Binary(BinaryOp.Mul, gates.Storage, gates.Shape, oT.Storage, oT.Shape, y.Storage, y.Shape))); // a one value a run
        Assert.Equal(0, BytesPerCall(() => cpu.Binary(BinaryOp.Add, row.Storage, row.Shape, bias.Storage, bias.Shape, y256.Storage, y256.Shape)));
        Assert.Equal(0, BytesPerCall(() => cpu.Unary(UnaryOp.Sigmoid, y4.Storage, y4.Storage, 4, 0f)));
        Assert.Equal(0, BytesPerCall(() => cpu.LinearForward(row.Storage, w.Storage, b4.Storage, y4.Storage, 1, 4, 256))); // the dot products, inline
    }

    [Fact]
    public void TheIntoOverloadsAllocateNothing()
    {
        var cpu = new CpuBackend(2);
        var rng = new Generator(5);
        Tensor x = Tensor.RandomNormal(new Shape(1, 256), rng, backend: cpu), w = Tensor.RandomNormal(new Shape(4, 256), rng, backend: cpu);
        Tensor b = Tensor.RandomNormal(new Shape(4), rng, backend: cpu), o = Tensor.RandomNormal(new Shape(1, 4, 8, 5), rng, backend: cpu);
        Tensor logits = Tensor.Empty(new Shape(1, 4), backend: cpu), gates = Tensor.Empty(new Shape(1, 4), backend: cpu);
        Tensor gated = Tensor.Empty(new Shape(1, 4, 8, 5), backend: cpu), sum = Tensor.Empty(new Shape(1, 4), backend: cpu);
        Tensor gates4 = gates.Reshape(1, 4, 1, 1);
        using var _ = Graph.NoGrad();
        Assert.Equal(0, BytesPerCall(() => Ops.Linear(x, w, b, into: logits)));
        Assert.Equal(0, BytesPerCall(() => Ops.Sigmoid(logits, into: gates)));
        Assert.Equal(0, BytesPerCall(() => Ops.Mul(o, gates4, into: gated)));
        Assert.Equal(0, BytesPerCall(() => Ops.Add(logits, b, into: sum)));
    }

    [Fact]
    public void ABatchOneForwardAllocatesLittleMoreThanWhatItReturns()
    {
        // focus_calibration_net.infer.b1.26x63's call: a scope, the forward, one value read back
        var cpu = new CpuBackend(2);
        var model = new FocusCalibrationNet(new FocusCalibrationNetConfig(4, 26), new Generator(1), cpu);
        model.Eval();
        var x = Tensor.RandomNormal(new Shape(1, 1, 26, 63), new Generator(2), backend: cpu);
        var one = new float[1];
        double bytes = BytesPerCall(() =>
        {
            using var scope = TensorScope.Begin();
            using var noGrad = Graph.NoGrad();
            var (logits, _) = model.Forward(x);
            cpu.Read(logits.Storage, one);
        });
        // what is left (measured 2026-12-07, FCA-INFER-2026-12-07-g.md): the five returned tensors (logits, attention, centres,
        // widths, gates: tensor, shape and storage objects), the scope and its list, the no-grad handle, and the closures
        // and GEMM jobs of the parallel primitives (packed GEMMs, Winograd convs, attention, conv1a/b, the 256×256 linear)
        _output.WriteLine($"batch-1 forward: {bytes:0} bytes per call");
        Assert.True(bytes <= Budget, $"a batch-1 forward allocated {bytes:0} bytes per call (budget {Budget})");
    }

    /// <summary>The per-call budget of the whole forward (its measured allocation, rounded up; it was 10.8 KB before this budget).</summary>
    private const int Budget = 6000;
}
