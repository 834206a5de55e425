using SerEngine.Autograd;

namespace SerEngine;

// Per-head dot products of token vectors with one learned vector per head (FocusCalibrationNet's focus centres and
// widths, p = Σ_d c·u_p): one op instead of splitting the heads (a permute), a broadcast multiply and a sum, and
// backward instead of a broadcast, two multiplies, a column sum and the permute back (Backend.HeadDotForward/Backward).
// Legend: N batch, T tokens, H heads, D head size; x [N, T, H, D] (the heads as they lie in [N, T, H·D]), u [H, D].
//   forward:  y[n, h, t] = Σ_d x[n, t, h, d] · u[h, d]                                        y [N, H, T]
//   backward: dx[n, t, h, d] = dy[n, h, t] · u[h, d],   du[h, d] = Σ_n Σ_t dy[n, h, t] · x[n, t, h, d]
// Every value is the float result the composed ops gave (the same products, the same order of additions).
public static partial class Ops
{
    /// <summary>
    /// y [N, H, T] = Σ_d x[n, t, h, d]·u[h, d] for x [N, T, H, D] and u [H, D]: the sum over the last axis of
    /// x.Permute(0, 2, 1, 3) · u.Reshape(1, H, 1, D), bit for bit, differentiable in both.
    /// </summary>
    public static Tensor HeadDot(Tensor x, Tensor u)
    {
        const string op = "head_dot";
        var be = SameBackend(op, x, u);
        RequireFloat(op, x, "x");
        RequireFloat(op, u, "u");
        if (x.Rank != 4) throw new ArgumentException($"{op}: x must be [N, T, H, D], got {x.Shape}");
        int n = x.Shape[0], t = x.Shape[1], h = x.Shape[2], d = x.Shape[3];
        if (u.Rank != 2 || u.Shape[0] != h || u.Shape[1] != d) throw new ArgumentException($"{op}: u must be [{h}, {d}] for x {x.Shape}, got {u.Shape}");
        var y = NewLike(be, new Shape(n, h, t)); // [N, H, T]
        be.HeadDotForward(x.Storage, u.Storage, y.Storage, n, t, h, d);
        return Graph.Record(op, y, [x, u], dy =>
        {
            var b = dy.Backend;
            var dx = x.RequiresGrad ? NewLike(b, x.Shape) : null; // [N, T, H, D]
            var du = u.RequiresGrad ? NewLike(b, u.Shape) : null; // [H, D]
            b.HeadDotBackward(x.Storage, u.Storage, dy.Storage, dx?.Storage, du?.Storage, n, t, h, d);
            return [dx, du];
        });
    }
}
