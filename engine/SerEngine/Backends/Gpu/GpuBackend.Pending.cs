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
    public override void Gemm(bool transA, bool transB, int batch, int m, int n, int k,
        float alpha, Storage a, int strideA, Storage b, int strideB, float beta, Storage c, int strideC) => throw Pending(nameof(Gemm));

    /// <inheritdoc/>
    public override void Conv2dForward(Storage x, Storage w, Storage? bias, Storage y, in Conv2dGeometry g) => throw Pending(nameof(Conv2dForward));

    /// <inheritdoc/>
    public override void Conv2dBackwardInput(Storage dy, Storage w, Storage dx, in Conv2dGeometry g) => throw Pending(nameof(Conv2dBackwardInput));

    /// <inheritdoc/>
    public override void Conv2dBackwardWeight(Storage x, Storage dy, Storage dw, in Conv2dGeometry g) => throw Pending(nameof(Conv2dBackwardWeight));

    /// <inheritdoc/>
    public override void MaxPool2dForward(Storage x, Storage y, Storage argmax, in Pool2dGeometry g) => throw Pending(nameof(MaxPool2dForward));

    /// <inheritdoc/>
    public override void MaxPool2dBackward(Storage dy, Storage argmax, Storage dx, in Pool2dGeometry g) => throw Pending(nameof(MaxPool2dBackward));

    /// <inheritdoc/>
    public override void BatchNorm2dForward(Storage x, Storage? weight, Storage? bias, Storage y,
        Storage mean, Storage invStd, Storage? runningMean, Storage? runningVar,
        int n, int c, int hw, float eps, float momentum, bool training) => throw Pending(nameof(BatchNorm2dForward));

    /// <inheritdoc/>
    public override void BatchNorm2dBackward(Storage dy, Storage x, Storage? weight, Storage mean, Storage invStd,
        Storage dx, Storage? dWeight, Storage? dBias, int n, int c, int hw, bool training) => throw Pending(nameof(BatchNorm2dBackward));

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
