using SerEngine.Autograd;

namespace SerEngine;

public sealed partial class Tensor
{
    /// <summary>
    /// Back-propagates from this tensor: a one-element tensor needs no seed; otherwise pass
    /// <paramref name="seed"/> (dL/dthis). Leaves accumulate into <see cref="Grad"/>.
    /// </summary>
    public void Backward(Tensor? seed = null, bool retainGraph = false) =>
        Graph.Backward([this], seed is null ? null : [seed], retainGraph);

    /// <summary>Marks this (non-leaf) tensor as carrying gradients; used by <see cref="Graph.Record"/>.</summary>
    internal void RequiresGradInternal() => _requiresGrad = true;

    /// <summary>Drops the accumulated gradient.</summary>
    public void ZeroGrad()
    {
        Grad?.Dispose();
        Grad = null;
    }
}
