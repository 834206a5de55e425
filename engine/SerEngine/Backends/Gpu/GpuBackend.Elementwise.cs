using SerEngine.Backends.Cpu;

namespace SerEngine.Backends.Gpu;

// Launch code for kernels/elementwise.cl: Binary (blocked or strided variant), Unary,
// UnaryBackward and DropoutMask. One work-item per output element.
public abstract partial class GpuBackend
{
    private const string ElementwiseFile = "elementwise.cl";

    /// <inheritdoc/>
    /// <remarks>
    /// The shapes are collapsed first (<see cref="Collapse"/>); when each operand's kept dims form one
    /// contiguous run of y's dims, the <c>binary_blocked</c> kernel indexes it as (i / inner) % mid,
    /// otherwise <c>binary_strided</c> walks per-operand strides (rank ≤ 8 after collapsing).
    /// </remarks>
    public override void Binary(BinaryOp op, Storage a, Shape aShape, Storage b, Shape bShape, Storage y, Shape yShape)
    {
        if (!Enum.IsDefined(op)) throw new ArgumentOutOfRangeException(nameof(op), $"Binary: unknown op {op}");
        var expected = Shape.Broadcast(aShape, bShape);
        if (expected != yShape)
            throw new ArgumentException($"Binary {op}: {aShape} and {bShape} broadcast to {expected}, not {yShape}", nameof(yShape));
        CheckBuffer(a, aShape.Size, DType.Float32, "Binary", "a");
        CheckBuffer(b, bShape.Size, DType.Float32, "Binary", "b");
        CheckBuffer(y, yShape.Size, DType.Float32, "Binary", "y");
        int n = yShape.Size;
        if (n == 0) return;

        var (dims, strides) = Collapse(yShape.ToArray(),
            CpuReferenceBackend.BroadcastStrides(aShape, yShape), CpuReferenceBackend.BroadcastStrides(bShape, yShape));
        if (TryBlocked(dims, strides[0], out int aInner, out int aMid) && TryBlocked(dims, strides[1], out int bInner, out int bMid))
        {
            // a: a[(i / aInner) % aMid], b: b[(i / bInner) % bMid], y: [n]
            Launch1D(ElementwiseFile, "binary_blocked", n, (int)op, a, aInner, aMid, b, bInner, bMid, y, n);
            return;
        }
        if (dims.Length > MaxKernelRank)
            throw new NotSupportedException($"Binary {op}: {aShape} with {bShape} needs {dims.Length} dims after collapsing; the kernel takes {MaxKernelRank}");
        // a, b: strided over y's collapsed dims; y: [dims]
        var args = new List<KernelArg> { (int)op, a, b, y, n, dims.Length };
        AddStridedArgs(args, dims, strides[0], strides[1]);
        Launch(ElementwiseFile, "binary_strided", "", [n], [GroupSize], args.ToArray());
    }

    /// <summary>
    /// True when the operand with <paramref name="strides"/> over (collapsed) <paramref name="dims"/>
    /// reads one contiguous block of dims p..q−1 and broadcasts over the rest: its index is then
    /// (i / inner) % mid with inner = dims[q..] and mid = dims[p..q) (a scalar: inner = mid = 1).
    /// </summary>
    internal static bool TryBlocked(int[] dims, int[] strides, out int inner, out int mid)
    {
        inner = 1;
        mid = 1;
        int first = Array.FindIndex(strides, s => s != 0);
        if (first < 0) return true; // broadcast everywhere: a scalar
        int last = Array.FindLastIndex(strides, s => s != 0);
        long expect = 1;
        for (int k = last; k >= first; k--)
        {
            if (strides[k] != expect) return false;
            expect *= dims[k];
        }
        mid = (int)expect;
        for (int k = last + 1; k < dims.Length; k++) inner *= dims[k];
        return true;
    }

    /// <inheritdoc/>
    public override void Unary(UnaryOp op, Storage x, Storage y, int n, float alpha)
    {
        if (!Enum.IsDefined(op)) throw new ArgumentOutOfRangeException(nameof(op), $"Unary: unknown op {op}");
        CheckCount(n, "Unary", nameof(n));
        CheckBuffer(x, n, DType.Float32, "Unary", nameof(x));
        CheckBuffer(y, n, DType.Float32, "Unary", nameof(y));
        // x, y: [n]
        Launch1D(ElementwiseFile, "unary", n, (int)op, x, y, n, alpha);
    }

    /// <inheritdoc/>
    public override void UnaryBackward(UnaryOp op, Storage x, Storage y, Storage dy, Storage dx, int n, float alpha)
    {
        if (!Enum.IsDefined(op)) throw new ArgumentOutOfRangeException(nameof(op), $"UnaryBackward: unknown op {op}");
        CheckCount(n, "UnaryBackward", nameof(n));
        CheckBuffer(x, n, DType.Float32, "UnaryBackward", nameof(x));
        CheckBuffer(y, n, DType.Float32, "UnaryBackward", nameof(y));
        CheckBuffer(dy, n, DType.Float32, "UnaryBackward", nameof(dy));
        CheckBuffer(dx, n, DType.Float32, "UnaryBackward", nameof(dx));
        // x, y, dy, dx: [n]
        Launch1D(ElementwiseFile, "unary_backward", n, (int)op, x, y, dy, dx, n, alpha);
    }

    /// <inheritdoc/>
    /// <remarks>The kernel draws the CPU reference's counter-based uniforms, so the mask is the same bits on every backend.</remarks>
    public override void DropoutMask(Storage mask, int n, float p, ulong seed)
    {
        CheckCount(n, "DropoutMask", nameof(n));
        CheckBuffer(mask, n, DType.Float32, "DropoutMask", nameof(mask));
        float keep = 1f / (1f - p);
        // mask: [n]; the 64-bit seed travels as two 32-bit halves
        Launch1D(ElementwiseFile, "dropout_mask", n, mask, n, p, keep, (int)(uint)seed, (int)(uint)(seed >> 32));
    }
}
