using SerEngine.Autograd;

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

// Cross-entropy, fused with its softmax. Legend: N examples, C classes.
// Forward: one primitive gives loss [N] = −log softmax(logits)[label] and keeps probs [N, C];
// Mean/Sum reduce loss to a scalar [] (Mean divides by N).
// Backward: dLoss [N] = dy (None), dy broadcast (Sum) or dy/N (Mean);
// dLogits = dLoss · (probs − onehot(label)).
public static partial class Ops
{
    /// <summary>
    /// Cross-entropy of logits [N, C] against Int32 class labels [N] (0..C−1; anything else throws
    /// <see cref="ArgumentException"/>). Returns a scalar for <see cref="Reduction.Mean"/> and
    /// <see cref="Reduction.Sum"/>, a [N] tensor for <see cref="Reduction.None"/>.
    /// </summary>
    public static Tensor CrossEntropy(Tensor logits, Tensor labels, Reduction reduction = Reduction.Mean)
    {
        const string op = "cross_entropy";
        var be = SameBackend(op, logits, labels);
        RequireFloat(op, logits, "logits");
        if (labels.DType != DType.Int32) throw new ArgumentException($"{op}: labels must be Int32 class indices, got {labels.DType} {labels.Shape}");
        if (logits.Rank != 2) throw new ArgumentException($"{op}: logits must be [N, C], got {logits.Shape}");
        int n = logits.Shape[0], c = logits.Shape[1];
        if (labels.Rank != 1 || labels.Shape[0] != n)
            throw new ArgumentException($"{op}: labels must be [N] = [{n}] for logits {logits.Shape}, got {labels.Shape}");
        if (c == 0 && n > 0) throw new ArgumentException($"{op}: logits {logits.Shape} have no classes");
        // labels outside 0..C−1 are refused by every backend's CrossEntropyForward, with the same message
        // (GPU kernels flag them without indexing and the host reads the labels back only then): checking
        // here too would read the labels back on every step

        var loss = NewLike(be, new Shape(n));     // [N]
        var probs = NewLike(be, logits.Shape);    // [N, C]
        be.CrossEntropyForward(logits.Storage, labels.Storage, loss.Storage, probs.Storage, n, c);
        Tensor y = loss;
        if (reduction != Reduction.None)
        {
            y = NewLike(be, Shape.Scalar);       // []
            be.SumTo(loss.Storage, new Shape(n), y.Storage, new Shape(1));
            if (reduction == Reduction.Mean) be.Unary(Backends.UnaryOp.Scale, y.Storage, y.Storage, 1, 1f / n);
            loss.Dispose();
        }
        var result = Graph.Record(op, y, [logits], dy =>
        {
            var b = dy.Backend;
            var dLoss = dy;                       // [N]
            if (reduction != Reduction.None)
            {
                dLoss = NewLike(b, new Shape(n));
                b.BroadcastTo(dy.Storage, new Shape(1), dLoss.Storage, new Shape(n));
                if (reduction == Reduction.Mean) b.Unary(Backends.UnaryOp.Scale, dLoss.Storage, dLoss.Storage, n, 1f / n);
            }
            var dLogits = NewLike(b, logits.Shape); // [N, C]
            b.CrossEntropyBackward(probs.Storage, labels.Storage, dLoss.Storage, dLogits.Storage, n, c);
            if (!ReferenceEquals(dLoss, dy)) dLoss.Dispose();
            return [dLogits];
        });
        if (result.Node is null) probs.Dispose(); // not recorded: the softmax is not needed
        return result;
    }
}
