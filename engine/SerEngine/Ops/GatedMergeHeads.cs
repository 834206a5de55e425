using SerEngine.Autograd;

namespace SerEngine;

// The attention heads' outputs scaled by one gate per image and head, then merged back into tokens (FocusCalibrationNet's
// Calibration-Attention): one op instead of a broadcast multiply and a permute, and backward instead of the permute
// back, two multiplies and a sum (Backend.GatedMergeHeadsForward/Backward).
// Legend: N batch, H heads, T tokens, D head size; o [N, H, T, D], g [N, H], y [N, T, H·D].
//   forward:  y[n, t, h·D + d] = o[n, h, t, d] · g[n, h]
//   backward: do[n, h, t, d] = dy[n, t, h·D + d] · g[n, h],   dg[n, h] = Σ_t Σ_d dy[n, t, h·D + d] · o[n, h, t, d]
// Every value is the float result the composed ops gave (the same products, the same order of additions).
public static partial class Ops
{
    /// <summary>
    /// y [N, T, H·D] = (o · g.Reshape(N, H, 1, 1)).Permute(0, 2, 1, 3).Reshape(N, T, H·D) for o [N, H, T, D] and
    /// g [N, H], bit for bit, differentiable in both.
    /// </summary>
    public static Tensor GatedMergeHeads(Tensor o, Tensor g)
    {
        const string op = "gated_merge_heads";
        var be = SameBackend(op, o, g);
        RequireFloat(op, o, "o");
        RequireFloat(op, g, "g");
        if (o.Rank != 4) throw new ArgumentException($"{op}: o must be [N, H, T, D], got {o.Shape}");
        int n = o.Shape[0], h = o.Shape[1], t = o.Shape[2], d = o.Shape[3];
        if (g.Rank != 2 || g.Shape[0] != n || g.Shape[1] != h) throw new ArgumentException($"{op}: g must be [{n}, {h}] for o {o.Shape}, got {g.Shape}");
        var y = NewLike(be, new Shape(n, t, h * d)); // [N, T, H·D]
        be.GatedMergeHeadsForward(o.Storage, g.Storage, y.Storage, n, h, t, d);
        return Graph.Record(op, y, [o, g], dy =>
        {
            var b = dy.Backend;
            var dO = o.RequiresGrad ? NewLike(b, o.Shape) : null; // [N, H, T, D]
            var dg = g.RequiresGrad ? NewLike(b, g.Shape) : null; // [N, H]
            b.GatedMergeHeadsBackward(o.Storage, g.Storage, dy.Storage, dO?.Storage, dg?.Storage, n, h, t, d);
            return [dO, dg];
        });
    }
}
