using SerEngine.Autograd;

namespace SerEngine;

// FocusCalibrationNet's Focus-Attention bias as one op (Backend.FocusBiasForward/Backward): a
// Gaussian window per query, centred at P with width W, over the T key positions j = 0..T−1.
// Legend: centres, widths [..., T] (any leading axes, e.g. [N, H, T]); bias [..., T, T].
//   bias[..., i, j] = −2 (j − P_i)² / W_i²
//   dP_i = Σ_j dBias_ij · 4 (j − P_i) / W_i²,   dW_i = Σ_j dBias_ij · 4 (j − P_i)² / W_i³
public static partial class Ops
{
    /// <summary>
    /// The focus bias of MODELS.md (B): for centres P and widths W [..., T] (one per query), returns
    /// [..., T, T] with element (i, j) = −2 (j − P_i)² / W_i², differentiable in both.
    /// </summary>
    public static Tensor FocusBias(Tensor centres, Tensor widths)
    {
        const string op = "focus_bias";
        var be = SameBackend(op, centres, widths);
        RequireFloat(op, centres, "centres");
        RequireFloat(op, widths, "widths");
        if (centres.Rank == 0) throw new ArgumentException($"{op}: centres need a query axis [..., T], got a scalar");
        if (widths.Shape != centres.Shape) throw new ArgumentException($"{op}: centres {centres.Shape} and widths {widths.Shape} must have one shape [..., T]");
        int t = centres.Shape[-1];
        int rows = centres.Size;
        var bias = NewLike(be, new Shape([.. centres.Shape.ToArray(), t])); // [..., T, T]
        be.FocusBiasForward(centres.Storage, widths.Storage, bias.Storage, rows, t);
        return Graph.Record(op, bias, [centres, widths], dBias =>
        {
            var b = dBias.Backend;
            var dp = centres.RequiresGrad ? NewLike(b, centres.Shape) : null; // [..., T]
            var dw = widths.RequiresGrad ? NewLike(b, widths.Shape) : null;   // [..., T]
            b.FocusBiasBackward(centres.Storage, widths.Storage, dBias.Storage, dp?.Storage, dw?.Storage, rows, t);
            return [dp, dw];
        });
    }
}
