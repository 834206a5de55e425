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
        if (!ReferenceEquals(x.Backend, weight.Backend)) SameBackend("linear", x, weight); // (throws; the array only on failure)
        var backend = x.Backend;
        var (m, outF, inF) = LinearSizes(x, weight, bias);
        var y = NewLike(backend, LinearOutputShape(x, outF));
        backend.LinearForward(x.Storage, weight.Storage, bias?.Storage, y.Storage, m, outF, inF); // the GEMM, then + b
        return Graph.IsGradEnabled ? RecordLinear(x, weight, bias, y, m, outF, inF) : y; // without tracking: no inputs or closure to build
    }

    /// <summary>
    /// y = x·wᵀ + b over the last axis of x, written into <paramref name="into"/> (x's shape with the last axis = out; not x
    /// itself); returns it. For buffers kept between calls (an inference workspace): no new tensor, and no autograd node, so
    /// it throws when gradients are tracked and an input requires one.
    /// </summary>
    /// <exception cref="ArgumentException">A shape does not fit, into is x, or into is not Float32 on the inputs' backend.</exception>
    /// <exception cref="InvalidOperationException">Gradient tracking is on and an input requires a gradient.</exception>
    public static Tensor Linear(Tensor x, Tensor weight, Tensor? bias, Tensor into)
    {
        if (!ReferenceEquals(x.Backend, weight.Backend)) SameBackend("linear", x, weight); // (throws; the array only on failure)
        var (m, outF, inF) = LinearSizes(x, weight, bias);
        RequireInto("linear", x.Backend, into, x, weight, bias);
        bool fits = into.Rank == x.Rank && into.Shape[-1] == outF;
        for (int i = 0; fits && i < x.Rank - 1; i++) fits = into.Shape[i] == x.Shape[i];
        if (!fits) throw new ArgumentException($"linear: into {into.Shape} is not [..., {outF}] for input {x.Shape}");
        if (ReferenceEquals(into.Storage, x.Storage)) throw new ArgumentException("linear: into must not be x (the product reads x while writing)");
        x.Backend.LinearForward(x.Storage, weight.Storage, bias?.Storage, into.Storage, m, outF, inF);
        return into;
    }

    /// <summary>
    /// y_l = x·w_lᵀ + b_l for several layers of the same shape on the same x: each result, and its gradients,
    /// exactly <see cref="Linear(Tensor, Tensor, Tensor?)"/>'s.
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
        if (bias is not null && !(ReferenceEquals(bias.Backend, x.Backend) && ReferenceEquals(weight.Backend, x.Backend)))
            SameBackend("linear", x, weight, bias); // (throws; the array only on failure)
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
