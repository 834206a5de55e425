namespace SerEngine.Backends.Cpu;

// TODO(stub): Softmax reference loops.
public partial class CpuReferenceBackend
{
    /// <inheritdoc/>
    public override void Softmax(Storage x, Storage y, int rows, int cols, bool log) => throw new NotImplementedException("Softmax on cpu-reference");

    /// <inheritdoc/>
    public override void SoftmaxBackward(Storage y, Storage dy, Storage dx, int rows, int cols, bool log) => throw new NotImplementedException("Softmax on cpu-reference");

}
