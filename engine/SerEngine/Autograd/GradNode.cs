namespace SerEngine.Autograd;

/// <summary>
/// One recorded operation: its inputs and the function that maps the gradient of its output to
/// the gradients of its inputs (null where an input needs none). The function runs with gradient
/// tracking off, so backward passes build no graph of their own.
/// </summary>
internal sealed class GradNode(string op, Tensor[] inputs, Func<Tensor, Tensor?[]> backward)
{
    public string Op { get; } = op;

    public Tensor[] Inputs { get; private set; } = inputs;

    public Func<Tensor, Tensor?[]>? BackwardFn { get; private set; } = backward;

    public bool Freed => BackwardFn is null;

    /// <summary>Drops references to inputs and saved tensors so their memory can go.</summary>
    public void Free()
    {
        Inputs = [];
        BackwardFn = null;
    }
}
