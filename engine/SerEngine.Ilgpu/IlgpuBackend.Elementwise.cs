using ILGPU;
using ILGPU.Runtime;
using SerEngine.Backends;
using SerEngine.Backends.Cpu;
using SerEngine.Backends.Gpu;
using SerEngine.Ilgpu.Kernels;

namespace SerEngine.Ilgpu;

// Launch code for Kernels/ElementwiseKernels.cs: Binary (blocked or strided variant, chosen as
// GpuBackend chooses for kernels/elementwise.cl), Unary, UnaryBackward and DropoutMask.
public sealed partial class IlgpuBackend
{
    private Action<KernelConfig, ArrayView<float>, BlockIndex, ArrayView<float>, BlockIndex, ArrayView<float>, ElementwiseArgs>? _binaryBlocked;
    private Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ElementwiseArgs, Dims8, Dims8, Dims8>? _binaryStrided;
    private Action<KernelConfig, ArrayView<float>, ArrayView<float>, ElementwiseArgs>? _unary;
    private Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ElementwiseArgs>? _unaryBackward;
    private Action<KernelConfig, ArrayView<float>, int, float, float, ulong>? _dropoutMask;

    /// <inheritdoc/>
    public override void Binary(BinaryOp op, Storage a, Shape aShape, Storage b, Shape bShape, Storage y, Shape yShape)
    {
        if (!Enum.IsDefined(op)) throw new ArgumentOutOfRangeException(nameof(op), $"Binary: unknown op {op}");
        var expected = Shape.Broadcast(aShape, bShape);
        if (expected != yShape)
            throw new ArgumentException($"Binary {op}: {aShape} and {bShape} broadcast to {expected}, not {yShape}", nameof(yShape));
        GpuBackend.CheckBuffer(a, aShape.Size, DType.Float32, "Binary", "a");
        GpuBackend.CheckBuffer(b, bShape.Size, DType.Float32, "Binary", "b");
        GpuBackend.CheckBuffer(y, yShape.Size, DType.Float32, "Binary", "y");
        int n = yShape.Size;
        if (n == 0) return;
        var (dims, strides) = GpuBackend.Collapse(yShape.ToArray(),
            CpuReferenceBackend.BroadcastStrides(aShape, yShape), CpuReferenceBackend.BroadcastStrides(bShape, yShape));
        var args = new ElementwiseArgs((int)op, n, 0f);
        ArrayView<float> av = F(a), bv = F(b), yv = F(y);
        if (GpuBackend.TryBlocked(dims, strides[0], out int aInner, out int aMid) && GpuBackend.TryBlocked(dims, strides[1], out int bInner, out int bMid))
        {
            // a: a[(i / aInner) % aMid], b: b[(i / bInner) % bMid], y: [n]
            var (ai, bi) = (new BlockIndex(aInner, aMid), new BlockIndex(bInner, bMid));
            Run(ref _binaryBlocked, acc => acc.LoadStreamKernel<ArrayView<float>, BlockIndex, ArrayView<float>, BlockIndex, ArrayView<float>, ElementwiseArgs>(ElementwiseKernels.BinaryBlocked),
                k => k(Config1D(n), av, ai, bv, bi, yv, args));
            return;
        }
        if (dims.Length > Dims8.Rank)
            throw new NotSupportedException($"Binary {op}: {aShape} with {bShape} needs {dims.Length} dims after collapsing; the kernel takes {Dims8.Rank}");
        // a, b: strided over y's collapsed dims; y: [dims]
        var (d, sa, sb) = (Dims8.From(dims, 1), Dims8.From(strides[0], 0), Dims8.From(strides[1], 0));
        Run(ref _binaryStrided, acc => acc.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ElementwiseArgs, Dims8, Dims8, Dims8>(ElementwiseKernels.BinaryStrided),
            k => k(Config1D(n), av, bv, yv, args, d, sa, sb));
    }

    /// <inheritdoc/>
    public override void Unary(UnaryOp op, Storage x, Storage y, int n, float alpha)
    {
        if (!Enum.IsDefined(op)) throw new ArgumentOutOfRangeException(nameof(op), $"Unary: unknown op {op}");
        GpuBackend.CheckCount(n, "Unary", nameof(n));
        GpuBackend.CheckBuffer(x, n, DType.Float32, "Unary", nameof(x));
        GpuBackend.CheckBuffer(y, n, DType.Float32, "Unary", nameof(y));
        if (n == 0) return;
        ArrayView<float> xv = F(x), yv = F(y); // [n]
        var args = new ElementwiseArgs((int)op, n, alpha);
        Run(ref _unary, acc => acc.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ElementwiseArgs>(ElementwiseKernels.Unary),
            k => k(Config1D(n), xv, yv, args));
    }

    /// <inheritdoc/>
    public override void UnaryBackward(UnaryOp op, Storage x, Storage y, Storage dy, Storage dx, int n, float alpha)
    {
        if (!Enum.IsDefined(op)) throw new ArgumentOutOfRangeException(nameof(op), $"UnaryBackward: unknown op {op}");
        GpuBackend.CheckCount(n, "UnaryBackward", nameof(n));
        GpuBackend.CheckBuffer(x, n, DType.Float32, "UnaryBackward", nameof(x));
        GpuBackend.CheckBuffer(y, n, DType.Float32, "UnaryBackward", nameof(y));
        GpuBackend.CheckBuffer(dy, n, DType.Float32, "UnaryBackward", nameof(dy));
        GpuBackend.CheckBuffer(dx, n, DType.Float32, "UnaryBackward", nameof(dx));
        if (n == 0) return;
        ArrayView<float> xv = F(x), yv = F(y), dyv = F(dy), dxv = F(dx); // [n]
        var args = new ElementwiseArgs((int)op, n, alpha);
        Run(ref _unaryBackward, acc => acc.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ElementwiseArgs>(ElementwiseKernels.UnaryBackward),
            k => k(Config1D(n), xv, yv, dyv, dxv, args));
    }

    /// <inheritdoc/>
    /// <remarks>The kernel draws the CPU reference's counter-based uniforms, so the mask is the same bits on every backend.</remarks>
    public override void DropoutMask(Storage mask, int n, float p, ulong seed)
    {
        GpuBackend.CheckCount(n, "DropoutMask", nameof(n));
        GpuBackend.CheckBuffer(mask, n, DType.Float32, "DropoutMask", nameof(mask));
        if (n == 0) return;
        float keep = 1f / (1f - p);
        var mv = F(mask); // [n]
        Run(ref _dropoutMask, acc => acc.LoadStreamKernel<ArrayView<float>, int, float, float, ulong>(ElementwiseKernels.DropoutMask),
            k => k(Config1D(n), mv, n, p, keep, seed));
    }
}
