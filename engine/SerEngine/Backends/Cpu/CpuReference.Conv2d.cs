namespace SerEngine.Backends.Cpu;

// TODO(stub): Conv2d reference loops.
public partial class CpuReferenceBackend
{
    /// <inheritdoc/>
    public override void Conv2dForward(Storage x, Storage w, Storage? bias, Storage y, in Conv2dGeometry g) => throw new NotImplementedException("Conv2d on cpu-reference");

    /// <inheritdoc/>
    public override void Conv2dBackwardInput(Storage dy, Storage w, Storage dx, in Conv2dGeometry g) => throw new NotImplementedException("Conv2d on cpu-reference");

    /// <inheritdoc/>
    public override void Conv2dBackwardWeight(Storage x, Storage dy, Storage dw, in Conv2dGeometry g) => throw new NotImplementedException("Conv2d on cpu-reference");

}
