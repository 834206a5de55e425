using SerEngine.Autograd;

namespace SerEngine;

// Scaled dot-product attention, fused: one backend call computes P and O (Backend.AttentionForward;
// GPU backends run one kernel per batch·head for short sequences, the others compose Gemm and the
// biased softmax). Legend: N batch, H heads, T tokens, D head size.
//   q, k, v [N, H, T, D], bias [N, H, T, T], keyMask Int32 [N, T] (non-zero = keep)
//   P = softmax(scale·Q Kᵀ + bias) over the kept keys   [N, H, T, T]
//   O = dropout(P) V                                    [N, H, T, D]
// Both are outputs of the graph, each its own node over the same saved P: O's backward is one
// Backend.AttentionBackward from dO (dQ, dK, dV, dBias), P's one from dP (dQ, dK, dBias); the graph
// sums them, which is exact because the gradient is linear in (dO, dP).
public static partial class Ops
{
    /// <summary>
    /// Multi-head attention over q, k, v [N, H, T, D]: returns O = dropout(P)·V [N, H, T, D] and the
    /// weights P = softmax(scale·Q·Kᵀ + bias) [N, H, T, T] (before dropout), both differentiable.
    /// bias (optional) is [N, H, T, T]; keyMask (optional, Int32 [N, T]) gives masked keys exactly zero
    /// weight and a row with no kept key all zeros. Dropout with probability <paramref name="dropout"/>
    /// applies when <paramref name="training"/>, its mask drawn as <see cref="Dropout"/> draws it.
    /// </summary>
    public static (Tensor Out, Tensor Probs) Attention(Tensor q, Tensor k, Tensor v, Tensor? bias = null, Tensor? keyMask = null,
        float scale = 1f, float dropout = 0f, bool training = false, Generator? rng = null) =>
        Attention(q, k, v, bias, keyMask, scale, dropout, training, rng, tokens: false);

    /// <summary>
    /// <see cref="Attention(Tensor, Tensor, Tensor, Tensor?, Tensor?, float, float, bool, Generator?)"/> with q, k, v
    /// [N, T, H, D]: the heads as they lie in a projection's output [N, T, H·D] (reshaped), not split into copies.
    /// O [N, H, T, D] and P [N, H, T, T] are as there, and so is every value: the same products in the same order.
    /// </summary>
    public static (Tensor Out, Tensor Probs) AttentionTokens(Tensor q, Tensor k, Tensor v, Tensor? bias = null, Tensor? keyMask = null,
        float scale = 1f, float dropout = 0f, bool training = false, Generator? rng = null) =>
        Attention(q, k, v, bias, keyMask, scale, dropout, training, rng, tokens: true);

    private static (Tensor Out, Tensor Probs) Attention(Tensor q, Tensor k, Tensor v, Tensor? bias, Tensor? keyMask,
        float scale, float dropout, bool training, Generator? rng, bool tokens)
    {
        const string op = "attention";
        var be = SameBackend(op, q, k, v);
        RequireFloat(op, q, "q");
        RequireFloat(op, k, "k");
        RequireFloat(op, v, "v");
        string layout = tokens ? "[N, T, H, D]" : "[N, H, T, D]";
        if (q.Rank != 4) throw new ArgumentException($"{op}: q must be {layout}, got {q.Shape}");
        if (k.Shape != q.Shape || v.Shape != q.Shape) throw new ArgumentException($"{op}: q {q.Shape}, k {k.Shape} and v {v.Shape} must have one shape {layout}");
        int n = q.Shape[0], h = q.Shape[tokens ? 2 : 1], t = q.Shape[tokens ? 1 : 2], d = q.Shape[3], bh = n * h;
        var probsShape = new Shape(n, h, t, t);
        if (bias is not null)
        {
            SameBackend(op, q, bias);
            RequireFloat(op, bias, "bias");
            if (bias.Shape != probsShape) throw new ArgumentException($"{op}: bias must be [N, H, T, T] = {probsShape}, got {bias.Shape}");
        }
        if (keyMask is not null)
        {
            SameBackend(op, q, keyMask);
            if (keyMask.DType != DType.Int32 || keyMask.Shape != new Shape(n, t))
                throw new ArgumentException($"{op}: keyMask must be Int32 [N, T] = [{n}, {t}], got {keyMask.DType} {keyMask.Shape}");
        }
        if (dropout < 0f || dropout >= 1f) throw new ArgumentOutOfRangeException(nameof(dropout), $"dropout probability must be in [0, 1), got {dropout}");

        Tensor? dropMask = null;                                   // [N, H, T, T]
        if (training && dropout > 0f)
        {
            ArgumentNullException.ThrowIfNull(rng, nameof(rng));
            dropMask = NewLike(be, probsShape);
            be.DropoutMask(dropMask.Storage, dropMask.Size, dropout, rng.NextUInt64());
        }
        var probs = NewLike(be, probsShape);                       // [N, H, T, T]
        var o = NewLike(be, new Shape(n, h, t, d));                // [N, H, T, D]
        if (tokens)
            be.AttentionForwardTokens(q.Storage, k.Storage, v.Storage, bias?.Storage, keyMask?.Storage, dropMask?.Storage,
                probs.Storage, o.Storage, n, h, t, d, scale);
        else
            be.AttentionForward(q.Storage, k.Storage, v.Storage, bias?.Storage, keyMask?.Storage, dropMask?.Storage,
                probs.Storage, o.Storage, bh, t, d, h, scale);

        Tensor?[] Grads(Tensor? dOut, Tensor? dProbs, bool withV)
        {
            var b = (dOut ?? dProbs)!.Backend;
            var dq = q.RequiresGrad ? NewLike(b, q.Shape) : null;
            var dk = k.RequiresGrad ? NewLike(b, k.Shape) : null;
            var dv = withV && v.RequiresGrad ? NewLike(b, v.Shape) : null;
            var dBias = bias is not null && bias.RequiresGrad ? NewLike(b, probsShape) : null;
            if (tokens)
                b.AttentionBackwardTokens(q.Storage, k.Storage, v.Storage, probs.Storage, dropMask?.Storage, dOut?.Storage, dProbs?.Storage,
                    dq?.Storage, dk?.Storage, dv?.Storage, dBias?.Storage, n, h, t, d, scale);
            else
                b.AttentionBackward(q.Storage, k.Storage, v.Storage, probs.Storage, dropMask?.Storage, dOut?.Storage, dProbs?.Storage,
                    dq?.Storage, dk?.Storage, dv?.Storage, dBias?.Storage, bh, t, d, scale);
            return withV ? (bias is null ? [dq, dk, dv] : [dq, dk, dv, dBias]) : (bias is null ? [dq, dk] : [dq, dk, dBias]);
        }
        Tensor[] outInputs = bias is null ? [q, k, v] : [q, k, v, bias];
        Tensor[] probsInputs = bias is null ? [q, k] : [q, k, bias];
        return (Graph.Record(op, o, outInputs, dy => Grads(dy, null, withV: true)),
                Graph.Record(op + "_probs", probs, probsInputs, dp => Grads(null, dp, withV: false)));
    }
}
