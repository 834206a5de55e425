using SerEngine.Backends;
namespace SerEngine.Ilgpu;
public sealed partial class IlgpuBackend
{
    /// <inheritdoc/>
    public override void Gemm(bool transA, bool transB, int batch, int m, int n, int k, float alpha, Storage a, int strideA, Storage b, int strideB, float beta, Storage c, int strideC) => throw new NotSupportedException("Gemm");
    /// <inheritdoc/>
    public override void Conv2dForward(Storage x, Storage w, Storage? bias, Storage y, in Conv2dGeometry g) => throw new NotSupportedException();
    /// <inheritdoc/>
    public override void Conv2dBackwardInput(Storage dy, Storage w, Storage dx, in Conv2dGeometry g) => throw new NotSupportedException();
    /// <inheritdoc/>
    public override void Conv2dBackwardWeight(Storage x, Storage dy, Storage dw, in Conv2dGeometry g) => throw new NotSupportedException();
    /// <inheritdoc/>
    public override void MaxPool2dForward(Storage x, Storage y, Storage argmax, in Pool2dGeometry g) => throw new NotSupportedException();
    /// <inheritdoc/>
    public override void MaxPool2dBackward(Storage dy, Storage argmax, Storage dx, in Pool2dGeometry g) => throw new NotSupportedException();
    /// <inheritdoc/>
    public override void BatchNorm2dForward(Storage x, Storage? weight, Storage? bias, Storage y, Storage mean, Storage invStd, Storage? runningMean, Storage? runningVar, int n, int c, int hw, float eps, float momentum, bool training) => throw new NotSupportedException();
    /// <inheritdoc/>
    public override void BatchNorm2dBackward(Storage dy, Storage x, Storage? weight, Storage mean, Storage invStd, Storage dx, Storage? dWeight, Storage? dBias, int n, int c, int hw, bool training) => throw new NotSupportedException();
    /// <inheritdoc/>
    public override void Softmax(Storage x, Storage y, int rows, int cols, bool log) => throw new NotSupportedException();
    /// <inheritdoc/>
    public override void SoftmaxBackward(Storage y, Storage dy, Storage dx, int rows, int cols, bool log) => throw new NotSupportedException();
    /// <inheritdoc/>
    public override void BiasedSoftmax(Storage x, Storage? bias, Storage? keyMask, Storage y, int rows, int cols, int rowsPerMask, float scale) => throw new NotSupportedException();
    /// <inheritdoc/>
    public override void BiasedSoftmaxBackward(Storage y, Storage dy, Storage? dx, Storage? dBias, int rows, int cols, float scale) => throw new NotSupportedException();
    /// <inheritdoc/>
    public override void CrossEntropyForward(Storage logits, Storage labels, Storage loss, Storage probs, int n, int c) => throw new NotSupportedException();
    /// <inheritdoc/>
    public override void CrossEntropyBackward(Storage probs, Storage labels, Storage dLoss, Storage dLogits, int n, int c) => throw new NotSupportedException();
    /// <inheritdoc/>
    public override void SpectrogramForward(Storage signal, Storage window, Storage y, int nFft, int hop, int frames, int nFreq, float power) => throw new NotSupportedException();
    /// <inheritdoc/>
    public override void AmplitudeToDb(Storage x, Storage y, int n, float multiplier, float amin, float dbMultiplier, float topDb) => throw new NotSupportedException();
    /// <inheritdoc/>
    public override void AdamStep(Storage param, Storage grad, Storage m, Storage v, int n, in AdamStepParams p) => throw new NotSupportedException();
    /// <inheritdoc/>
    public override void SgdStep(Storage param, Storage grad, Storage? momentumBuffer, int n, in SgdStepParams p) => throw new NotSupportedException();
    private void ReleaseTwiddleTables() { _ = Name; }
}
