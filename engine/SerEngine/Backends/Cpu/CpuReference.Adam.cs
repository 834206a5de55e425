namespace SerEngine.Backends.Cpu;

// TODO(stub): Adam reference loops.
public partial class CpuReferenceBackend
{
    /// <inheritdoc/>
    public override void AdamStep(Storage param, Storage grad, Storage m, Storage v, int n, in AdamStepParams p) => throw new NotImplementedException("Adam on cpu-reference");

}
