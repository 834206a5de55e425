using SerEngine.Autograd;

namespace SerEngine;

// Linear layer over any leading dims: y [..., out] = x [..., in] · wᵀ + b, w [out, in], b [out].
// Forward is one GEMM with B transposed over M = the product of the leading dims, then the bias
// (Backend.LinearForward: the fast CPU backend adds it as the GEMM stores each block).
// Backward: dx = dy · w, dw = dyᵀ · x, db = Σ dy over the leading dims. When x already has a pending gradient sum
// (x feeds several layers), the backend may add dy · w into it as its GEMM stores (Backend.LinearBackwardInputAdd).
// LinearMany: several layers on the same x (Backend.LinearForwardMany: x is packed for the GEMM once);
// each output is exactly its own Linear's, with its own backward.
public static partial class Ops
{
    /// <summary>y = x·wᵀ + b over the last axis of x.</summary>
    public static Tensor Linear(Tensor x, Tensor weight, Tensor? bias = null)
    {
        var backend = bias is null ? SameBackend("linear", x, weight) : SameBackend("linear", x, weight, bias);
        var (m, outF, inF) = LinearSizes(x, weight, bias);
        var y = NewLike(backend, LinearOutputShape(x, outF));
        backend.LinearForward(x.Storage, weight.Storage, bias?.Storage, y.Storage, m, outF, inF); // the GEMM, then + b
        return RecordLinear(x, weight, bias, y, m, outF, inF);
    }

    /// <summary>
    /// y_l = x·w_lᵀ + b_l for several layers of the same shape on the same x: each result, and its gradients,
    /// exactly <see cref="Linear"/>'s.
    /// </summary>
    public static Tensor[] LinearMany(Tensor x, IReadOnlyList<Tensor> weights, IReadOnlyList<Tensor?> biases)
    {
        if (weights.Count != biases.Count) throw new ArgumentException($"linear: {weights.Count} weights but {biases.Count} biases");
        if (weights.Count == 0) return [];
        var backend = SameBackend("linear", x, weights[0]);
        var (m, outF, inF) = LinearSizes(x, weights[0], biases[0]);
        for (int l = 1; l < weights.Count; l++)
        {
            SameBackend("linear", x, weights[l]);
            if (weights[l].Shape != weights[0].Shape) throw new ArgumentException($"linear: weight {l} is {weights[l].Shape}, weight 0 {weights[0].Shape}");
            LinearSizes(x, weights[l], biases[l]);
        }
        var ys = new Tensor[weights.Count];
        for (int l = 0; l < ys.Length; l++) ys[l] = NewLike(backend, LinearOutputShape(x, outF));
        backend.LinearForwardMany(x.Storage, [.. weights.Select(w => w.Storage)], [.. biases.Select(b => b?.Storage)], [.. ys.Select(y => y.Storage)], m, outF, inF);
        for (int l = 0; l < ys.Length; l++) ys[l] = RecordLinear(x, weights[l], biases[l], ys[l], m, outF, inF);
        return ys;
    }

    // checks x [..., in], w [out, in], b [out]; returns M = the product of x's leading dims, out, in
    private static (int M, int OutF, int InF) LinearSizes(Tensor x, Tensor weight, Tensor? bias)
    {
        if (bias is not null) SameBackend("linear", x, weight, bias);
        RequireFloat("linear", x, "x");
        if (weight.Rank != 2) throw new ArgumentException($"linear: weight must be [out, in], got {weight.Shape}");
        int outF = weight.Shape[0], inF = weight.Shape[1];
        if (x.Rank < 1 || x.Shape[-1] != inF)
            throw new ArgumentException($"linear: input {x.Shape} does not end in {inF} features (weight {weight.Shape})");
        if (bias is not null && (bias.Rank != 1 || bias.Size != outF))
            throw new ArgumentException($"linear: bias must be [{outF}], got {bias.Shape}");
        return (x.Size / Math.Max(inF, 1), outF, inF);
    }

    private static Shape LinearOutputShape(Tensor x, int outF)
    {
        var yDims = x.Shape.ToArray();
        yDims[^1] = outF;
        return new Shape(yDims);
    }

    private static Tensor RecordLinear(Tensor x, Tensor weight, Tensor? bias, Tensor y, int m, int outF, int inF)
    {
        Tensor[] inputs = bias is null ? [x, weight] : [x, weight, bias];
        return Graph.RecordInto("linear", y, inputs, (dy, into) =>
        {
            var be = dy.Backend;
            Tensor? dx = null, dw = null, db = null;
            if (x.RequiresGrad && into[0] is { } pending && be.LinearBackwardInputAdd(dy.Storage, weight.Storage, pending.Storage, m, outF, inF))
            {
                dx = pending; // x's gradient so far += dy · w, the add the graph would have done
            }
            else if (x.RequiresGrad)
            {
                dx = NewLike(be, x.Shape); // [M, out] · [out, in]
                be.Gemm(false, false, 1, m, inF, outF, 1f, dy.Storage, 0, weight.Storage, 0, 0f, dx.Storage, 0);
            }
            if (weight.RequiresGrad)
            {
                dw = NewLike(be, weight.Shape); // [out, M] · [M, in]
                be.Gemm(true, false, 1, outF, inF, m, 1f, dy.Storage, 0, x.Storage, 0, 0f, dw.Storage, 0);
            }
            if (bias is not null && bias.RequiresGrad)
            {
                db = NewLike(be, bias.Shape);
                be.SumTo(dy.Storage, new Shape(m, outF), db.Storage, new Shape(1, outF));
            }
            return bias is null ? [dx, dw] : [dx, dw, db];
        });
    }
}
