namespace SerEngine.Backends.Cpu;

// TODO(stub): CrossEntropy reference loops.
public partial class CpuReferenceBackend
{
    /// <inheritdoc/>
    public override void CrossEntropyForward(Storage logits, Storage labels, Storage loss, Storage probs, int n, int c) => throw new NotImplementedException("CrossEntropy on cpu-reference");

    /// <inheritdoc/>
    public override void CrossEntropyBackward(Storage probs, Storage labels, Storage dLoss, Storage dLogits, int n, int c) => throw new NotImplementedException("CrossEntropy on cpu-reference");

}
