namespace SerEngine.Autograd;

/// <summary>
/// One recorded operation: its inputs and the function that maps the gradient of its output to
/// the gradients of its inputs (null where an input needs none). The function runs with gradient
/// tracking off, so backward passes build no graph of their own. A node may instead take, per input, a
/// pending gradient it can add its contribution into (<see cref="BackwardIntoFn"/>, see Graph.RecordInto).
/// </summary>
internal sealed class GradNode(string op, Tensor[] inputs, Func<Tensor, Tensor?[]>? backward, Func<Tensor, Tensor?[], Tensor?[]>? backwardInto = null)
{
    public string Op { get; } = op;

    public Tensor[] Inputs { get; private set; } = inputs;

    public Func<Tensor, Tensor?[]>? BackwardFn { get; private set; } = backward;

    /// <summary>(dy, into) → the inputs' gradients, where into[i] is a pending gradient of input i (or null) that the
    /// function may add its contribution to in place and return as input i's gradient.</summary>
    public Func<Tensor, Tensor?[], Tensor?[]>? BackwardIntoFn { get; private set; } = backwardInto;

    public bool Freed => BackwardFn is null && BackwardIntoFn is null;

    /// <summary>Drops references to inputs and saved tensors so their memory can go.</summary>
    public void Free()
    {
        Inputs = [];
        BackwardFn = null;
        BackwardIntoFn = null;
    }
}
