namespace SerEngine;

/// <summary>How a per-example loss is reduced.</summary>
public enum Reduction
{
    /// <summary>Mean over examples (PyTorch's default).</summary>
    Mean,
    /// <summary>Sum over examples.</summary>
    Sum,
    /// <summary>One loss per example.</summary>
    None,
}

// TODO(stub): cross-entropy.
public static partial class Ops
{
    /// <summary>Cross-entropy of logits [N, C] against Int32 labels [N].</summary>
    public static Tensor CrossEntropy(Tensor logits, Tensor labels, Reduction reduction = Reduction.Mean) =>
        throw new NotImplementedException("cross_entropy");
}
