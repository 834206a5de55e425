namespace SerEngine.Backends.Gpu;

// Primitives that have no kernel yet. Each throws NotSupportedException naming the op and the
// backend, so a model that reaches one fails loudly instead of silently running on the CPU. Later
// work replaces these one op at a time with GpuBackend.<Op>.cs (launch code) and kernels/<op>.cl.
public abstract partial class GpuBackend
{
    private NotSupportedException Pending(string op) => new($"{op} has no kernel on the {Name} backend yet");

    /// <inheritdoc/>
    public override void Binary(BinaryOp op, Storage a, Shape aShape, Storage b, Shape bShape, Storage y, Shape yShape) => throw Pending(nameof(Binary));

    /// <inheritdoc/>
    public override void Unary(UnaryOp op, Storage x, Storage y, int n, float alpha) => throw Pending(nameof(Unary));

    /// <inheritdoc/>
    public override void UnaryBackward(UnaryOp op, Storage x, Storage y, Storage dy, Storage dx, int n, float alpha) => throw Pending(nameof(UnaryBackward));

    /// <inheritdoc/>
    public override void SumTo(Storage x, Shape xShape, Storage y, Shape yShape) => throw Pending(nameof(SumTo));

    /// <inheritdoc/>
    public override void BroadcastTo(Storage x, Shape xShape, Storage y, Shape yShape) => throw Pending(nameof(BroadcastTo));

    /// <inheritdoc/>
    public override void Permute(Storage x, Shape xShape, int[] perm, Storage y) => throw Pending(nameof(Permute));

    /// <inheritdoc/>
    public override void DropoutMask(Storage mask, int n, float p, ulong seed) => throw Pending(nameof(DropoutMask));

    /// <inheritdoc/>
    public override void Softmax(Storage x, Storage y, int rows, int cols, bool log) => throw Pending(nameof(Softmax));

    /// <inheritdoc/>
    public override void SoftmaxBackward(Storage y, Storage dy, Storage dx, int rows, int cols, bool log) => throw Pending(nameof(SoftmaxBackward));

    /// <inheritdoc/>
    public override void BiasedSoftmax(Storage x, Storage? bias, Storage? keyMask, Storage y, int rows, int cols, int rowsPerMask, float scale) => throw Pending(nameof(BiasedSoftmax));

    /// <inheritdoc/>
    public override void BiasedSoftmaxBackward(Storage y, Storage dy, Storage? dx, Storage? dBias, int rows, int cols, float scale) => throw Pending(nameof(BiasedSoftmaxBackward));

    /// <inheritdoc/>
    public override void CrossEntropyForward(Storage logits, Storage labels, Storage loss, Storage probs, int n, int c) => throw Pending(nameof(CrossEntropyForward));

    /// <inheritdoc/>
    public override void CrossEntropyBackward(Storage probs, Storage labels, Storage dLoss, Storage dLogits, int n, int c) => throw Pending(nameof(CrossEntropyBackward));

    /// <inheritdoc/>
    public override void AdamStep(Storage param, Storage grad, Storage m, Storage v, int n, in AdamStepParams p) => throw Pending(nameof(AdamStep));

    /// <inheritdoc/>
    public override void SgdStep(Storage param, Storage grad, Storage? momentumBuffer, int n, in SgdStepParams p) => throw Pending(nameof(SgdStep));
}
