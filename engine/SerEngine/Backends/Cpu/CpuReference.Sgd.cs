namespace SerEngine.Backends.Cpu;

// TODO(stub): Sgd reference loops.
public partial class CpuReferenceBackend
{
    /// <inheritdoc/>
    public override void SgdStep(Storage param, Storage grad, Storage? momentumBuffer, int n, in SgdStepParams p) => throw new NotImplementedException("Sgd on cpu-reference");

}
