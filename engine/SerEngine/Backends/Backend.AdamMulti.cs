namespace SerEngine.Backends;

// Adam/AdamW over a list of parameter tensors sharing one setting and step count, as PyTorch's
// multi-tensor ("foreach") Adam: a model's dozens of small tensors cost one launch per chunk of
// tensors on a GPU instead of one launch each. The default is the per-tensor loop, so every backend
// stays exact against cpu-reference; GPU backends override it (kernels/optim.cl adam_step_multi,
// GpuBackend.Optimizers.cs) with the same float operations per element.
public abstract partial class Backend
{
    /// <summary>
    /// One Adam or AdamW update of every tensor in <paramref name="tensors"/> (each updated in place
    /// exactly as <see cref="AdamStep"/> would), all with the settings and step count <paramref name="p"/>.
    /// </summary>
    public virtual void AdamStepMulti(ReadOnlySpan<AdamTensors> tensors, in AdamStepParams p)
    {
        foreach (var t in tensors) AdamStep(t.Param, t.Grad, t.ExpAvg, t.ExpAvgSq, t.Count, p);
    }
}

/// <summary>One parameter tensor's buffers for <see cref="Backend.AdamStepMulti"/>: all [Count].</summary>
/// <param name="Param">The parameter, updated in place.</param>
/// <param name="Grad">Its gradient.</param>
/// <param name="ExpAvg">First moment m, updated in place.</param>
/// <param name="ExpAvgSq">Second moment v, updated in place.</param>
/// <param name="Count">Elements.</param>
public readonly record struct AdamTensors(Storage Param, Storage Grad, Storage ExpAvg, Storage ExpAvgSq, int Count);
