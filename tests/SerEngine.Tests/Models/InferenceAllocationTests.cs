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

    /// <summary>Bytes <paramref name="call"/> allocates on this thread per call (<see cref="BytesPerCallBoth"/>).</summary>
    private static double BytesPerCall(Action call) => BytesPerCallBoth(call).Thread;

    /// <summary>
    /// Bytes per call, after 50 warm-ups, as the least of five windows of 40 calls: on this thread, and in the whole process
    /// (the pool's workers too). A window may hold a one-off allocation that is not a cost per call: the test host's own
    /// threads (results of earlier tests), or a new pool job when every kept one is still held by a worker the host has
    /// descheduled (CpuWorkerPool.TakeJob; a rare event on two busy vCPUs).
    /// </summary>
    private static (double Thread, double Process) BytesPerCallBoth(Action call)
    {
        for (int i = 0; i < 50; i++) call();
        long thread = long.MaxValue, process = long.MaxValue;
        for (int window = 0; window < 5; window++)
        {
            long mine = GC.GetAllocatedBytesForCurrentThread(), all = GC.GetTotalAllocatedBytes(precise: true);
            for (int i = 0; i < 40; i++) call();
            process = Math.Min(process, GC.GetTotalAllocatedBytes(precise: true) - all);
            thread = Math.Min(thread, GC.GetAllocatedBytesForCurrentThread() - mine);
        }
        return (thread / 40.0, process / 40.0);
    }

    /// <summary>Counts each item's runs.</summary>
    private readonly struct HitBody(int[] hits) : IPoolBody
    {
        public void Run(int item) => hits[item]++;
    }

    /// <summary>Adds each chunk's length to its first element's count.</summary>
    private readonly struct ChunkBody(int[] hits) : IChunkBody
    {
        public void Run(int start, int end) => hits[start] += end - start;
    }

    [Fact]
    public void TheWorkerPoolAndForChunksAllocateNothingPerCall()
    {
        var cpu = new CpuBackend(2);
        var hits = new int[1 << 16];
        var pool = BytesPerCallBoth(() => CpuWorkerPool.For(64, 2, new HitBody(hits)));
        var chunks = BytesPerCallBoth(() => cpu.ForChunks(hits.Length, 1 << 20, new ChunkBody(hits))); // 8 chunks on the workers
        var inline = BytesPerCallBoth(() => cpu.ForChunks(hits.Length, 100, new ChunkBody(hits)));     // one chunk, inline
        _output.WriteLine($"pool {pool}, chunks {chunks}, inline {inline} bytes per call (thread, process)");
        Assert.Equal(0, pool.Thread);
        Assert.Equal(0, chunks.Thread);
        Assert.Equal(0, inline.Thread);
        Assert.Equal(0, pool.Process);   // the workers allocate nothing either
        Assert.Equal(0, chunks.Process);
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
        var (bytes, process) = BytesPerCallBoth(() =>
        {
            using var scope = TensorScope.Begin();
            using var noGrad = Graph.NoGrad();
            var (logits, _) = model.Forward(x);
            cpu.Read(logits.Storage, one);
        });
        // what is left (measured 2026-12-07, POOL-2026-12-07-h.md): the five returned tensors (logits, attention, centres, widths,
        // gates: tensor, shape and storage objects), the scope and its list, the no-grad handle; with 256-bit vectors also the
        // GEMM driver's job object of the three packed products (CpuFast.Gemm.cs's GemmRun; the 512-bit narrow path plans none)
        _output.WriteLine($"batch-1 forward: {bytes:0} bytes per call on its thread, {process:0} in the process");
        Assert.True(bytes <= Budget, $"a batch-1 forward allocated {bytes:0} bytes per call (budget {Budget})");
        Assert.True(process <= bytes, $"a batch-1 forward's workers allocated: {process:0} bytes per call in the process, {bytes:0} on its thread");
    }

    [Fact]
    public void AnAttentionFcnBatchOneForwardStaysWithinItsBudget()
    {
        // attention_fcn.infer.b1.200x300's call: a scope, the forward, one value read back
        var cpu = new CpuBackend(2);
        var model = new AttentionFcn(new AttentionFcnConfig(4), new Generator(1), cpu);
        model.Eval();
        var x = Tensor.RandomNormal(new Shape(1, 1, 200, 300), new Generator(2), backend: cpu);
        var one = new float[1];
        var (bytes, process) = BytesPerCallBoth(() =>
        {
            using var scope = TensorScope.Begin();
            using var noGrad = Graph.NoGrad();
            cpu.Read(model.Forward(x).Logits.Storage, one);
        });
        // what is left (POOL-2026-12-07-h.md): the forward's new tensors (its intermediates are not kept in a workspace), the
        // permute's strided-loop objects and closure, and the GEMM driver's job object of its three products (CpuFast.Gemm.cs)
        _output.WriteLine($"AttentionFcn batch-1 forward: {bytes:0} bytes per call on its thread, {process:0} in the process");
        Assert.True(bytes <= FcnBudget, $"an AttentionFcn batch-1 forward allocated {bytes:0} bytes per call (budget {FcnBudget})");
        Assert.True(process <= bytes, $"an AttentionFcn batch-1 forward's workers allocated: {process:0} bytes per call in the process, {bytes:0} on its thread");
    }

    /// <summary>
    /// The per-call budget of AttentionFcn's whole forward (measured 10614 and 10601 bytes at 512 and 256 bits, rounded
    /// up; 11366 and 11502 before GEMM calls reused their job).
    /// </summary>
    private const int FcnBudget = 10800;

    /// <summary>
    /// The per-call budget of the whole forward (its measured allocation, 2008 bytes at 512 and at 256 bits, rounded up; it
    /// was 10.8 KB, then 5.9 KB before the worker pool took struct bodies, and 2776 bytes at 256 bits before GEMM calls
    /// reused their job).
    /// </summary>
    private const int Budget = 2100;
}
