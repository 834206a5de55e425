namespace SerEngine.Backends.Cpu;

// TODO(stub): MaxPool2d reference loops.
public partial class CpuReferenceBackend
{
    /// <inheritdoc/>
    public override void MaxPool2dForward(Storage x, Storage y, Storage argmax, in Pool2dGeometry g) => throw new NotImplementedException("MaxPool2d on cpu-reference");

    /// <inheritdoc/>
    public override void MaxPool2dBackward(Storage dy, Storage argmax, Storage dx, in Pool2dGeometry g) => throw new NotImplementedException("MaxPool2d on cpu-reference");

}
