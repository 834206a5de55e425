namespace SerEngine.Backends.Cpu;

// TODO(stub): BiasedSoftmax reference loops.
public partial class CpuReferenceBackend
{
    /// <inheritdoc/>
    public override void BiasedSoftmax(Storage x, Storage? bias, Storage? keyMask, Storage y, int rows, int cols, int rowsPerMask, float scale) => throw new NotImplementedException("BiasedSoftmax on cpu-reference");

    /// <inheritdoc/>
    public override void BiasedSoftmaxBackward(Storage y, Storage dy, Storage? dx, Storage? dBias, int rows, int cols, float scale) => throw new NotImplementedException("BiasedSoftmax on cpu-reference");

}
