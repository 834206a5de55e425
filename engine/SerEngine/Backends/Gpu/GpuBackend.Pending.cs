namespace SerEngine.Backends.Gpu;

// Primitives that have no kernel yet. Each throws NotSupportedException naming the op and the
// backend, so a model that reaches one fails loudly instead of silently running on the CPU. Later
// work replaces these one op at a time with GpuBackend.<Op>.cs (launch code) and kernels/<op>.cl.
public abstract partial class GpuBackend
{
    private NotSupportedException Pending(string op) => new($"{op} has no kernel on the {Name} backend yet");

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
}
