using SerEngine.Autograd;

namespace SerEngine;

// Linear layer over any leading dims: y [..., out] = x [..., in] · wᵀ + b, w [out, in], b [out].
// Forward is one GEMM with B transposed over M = the product of the leading dims, then the bias
// (Backend.LinearForward: the fast CPU backend adds it as the GEMM stores each block).
// Backward: dx = dy · w, dw = dyᵀ · x, db = Σ dy over the leading dims.
public static partial class Ops
{
    /// <summary>y = x·wᵀ + b over the last axis of x.</summary>
    public static Tensor Linear(Tensor x, Tensor weight, Tensor? bias = null)
    {
        var backend = bias is null ? SameBackend("linear", x, weight) : SameBackend("linear", x, weight, bias);
        RequireFloat("linear", x, "x");
        if (weight.Rank != 2) throw new ArgumentException($"linear: weight must be [out, in], got {weight.Shape}");
        int outF = weight.Shape[0], inF = weight.Shape[1];
        if (x.Rank < 1 || x.Shape[-1] != inF)
            throw new ArgumentException($"linear: input {x.Shape} does not end in {inF} features (weight {weight.Shape})");
        if (bias is not null && (bias.Rank != 1 || bias.Size != outF))
            throw new ArgumentException($"linear: bias must be [{outF}], got {bias.Shape}");
        int m = x.Size / Math.Max(inF, 1);
        var yDims = x.Shape.ToArray();
        yDims[^1] = outF;
        var y = NewLike(backend, new Shape(yDims));
        backend.LinearForward(x.Storage, weight.Storage, bias?.Storage, y.Storage, m, outF, inF); // the GEMM, then + b
        Tensor[] inputs = bias is null ? [x, weight] : [x, weight, bias];
        return Graph.Record("linear", y, inputs, dy =>
        {
            var be = dy.Backend;
            Tensor? dx = null, dw = null, db = null;
            if (x.RequiresGrad)
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
