using SerEngine.Autograd;

namespace SerEngine;

// The fused attention softmax. Legend: x [N, ..., L] seen as rows [Rows, L] with Rows = N·M, where
// M = the product of the middle dims (heads, queries); keyMask [N, L] is shared by the M rows of
// each batch item (rowsPerMask = M).
//   y = softmax(scale·x + bias) over L, masked keys exactly 0, a fully masked row all zeros.
// Backward: g = y·(dy − Σ dy·y); dx = scale·g, dBias = g.
public static partial class Ops
{
    /// <summary>
    /// y = softmax(scale·x + bias) over the last axis. x [N, ..., L]; bias (optional) x's shape;
    /// keyMask (optional, Int32 [N, L], non-zero = keep) broadcast over the middle axes: masked keys
    /// get exactly zero weight and a fully masked row is all zeros.
    /// </summary>
    public static Tensor BiasedSoftmax(Tensor x, Tensor? bias = null, Tensor? keyMask = null, float scale = 1f)
    {
        const string op = "biased_softmax";
        RequireFloat(op, x, "x");
        if (x.Rank == 0) throw new ArgumentException($"{op}: x needs at least one axis, got a scalar {x.Shape}");
        var be = x.Backend;
        if (bias is not null)
        {
            SameBackend(op, x, bias);
            RequireFloat(op, bias, "bias");
            if (bias.Shape != x.Shape) throw new ArgumentException($"{op}: bias {bias.Shape} must have x's shape {x.Shape}");
        }
        int cols = x.Shape[-1];
        int rows = x.Shape.Product(0, x.Rank - 1);
        int rowsPerMask = 1;
        if (keyMask is not null)
        {
            SameBackend(op, x, keyMask);
            if (keyMask.DType != DType.Int32) throw new ArgumentException($"{op}: keyMask must be Int32 (1 = keep), got {keyMask.DType} {keyMask.Shape}");
            if (x.Rank < 2) throw new ArgumentException($"{op}: a keyMask [N, L] needs x of rank ≥ 2 ([N, ..., L]), got x {x.Shape}");
            if (keyMask.Rank != 2 || keyMask.Shape[0] != x.Shape[0] || keyMask.Shape[1] != cols)
                throw new ArgumentException($"{op}: keyMask must be [N, L] = [{x.Shape[0]}, {cols}] for x {x.Shape}, got {keyMask.Shape}");
            rowsPerMask = x.Shape.Product(1, x.Rank - 1);
        }
        var y = NewLike(be, x.Shape); // [N, ..., L]
        be.BiasedSoftmax(x.Storage, bias?.Storage, keyMask?.Storage, y.Storage, rows, cols, Math.Max(rowsPerMask, 1), scale);
        Tensor[] inputs = bias is null ? [x] : [x, bias];
        return Graph.Record(op, y, inputs, dy =>
        {
            var b = dy.Backend;
            var dx = x.RequiresGrad ? NewLike(b, x.Shape) : null;                          // [N, ..., L]
            var dBias = bias is not null && bias.RequiresGrad ? NewLike(b, x.Shape) : null; // [N, ..., L]
            b.BiasedSoftmaxBackward(y.Storage, dy.Storage, dx?.Storage, dBias?.Storage, rows, cols, scale);
            return bias is null ? [dx] : [dx, dBias];
        });
    }
}
