namespace SerEngine.Optim;

// TODO(stub): base optimizer.
/// <summary>
/// Base of the optimizers: holds the parameters, steps them from their <see cref="Tensor.Grad"/>
/// (parameters without a gradient are skipped, as in PyTorch) and clears gradients.
/// </summary>
public abstract class Optimizer
{
    /// <summary>Takes the parameters to update.</summary>
    protected Optimizer(IEnumerable<Tensor> parameters, float lr)
    {
        Parameters = [.. parameters];
        Lr = lr;
    }

    /// <summary>The parameters, in the order given.</summary>
    public IReadOnlyList<Tensor> Parameters { get; }

    /// <summary>Learning rate (schedules change it between steps).</summary>
    public float Lr { get; set; }

    /// <summary>Applies one update to every parameter that has a gradient.</summary>
    public abstract void Step();

    /// <summary>Drops every parameter's gradient.</summary>
    public void ZeroGrad()
    {
        foreach (var p in Parameters) p.ZeroGrad();
    }
}
