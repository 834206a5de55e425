using SerEngine.Models.Inference;
using SerEngine.Nn;

namespace SerEngine.Models.Attention;

// The fused eval-mode forward of the attention block (FocusCalibrationNet.Inference.cs decides when):
// Q, K and V come from one projection with the three weight matrices stacked,
//   [Q | K | V] [N, T, 3·H·dh] = X · [Wq; Wk; Wv]ᵀ + [bq; bk; bv],
// split into heads by one permute; the Focus centre and width logits of all heads come from one
// product with a block-diagonal matrix U [2H, H·dh] (row h holds u_p[h] in head h's columns, row H + h
// holds u_z[h]), p | z [N, T, 2H] = c · Uᵀ, instead of two broadcast products and sums per head;
// Q Kᵀ reads K transposed inside the GEMM (no transposed copy); the focus bias is −2((j − P_i)/W_i)²
// (one square instead of two). Everything else is the plain forward's arithmetic. The stacked
// matrices are cached (DerivedWeights).
public sealed partial class FocusCalibrationAttention
{
    private DerivedWeights? _stacked;

    /// <summary>attn(X) for X [N, T, d_in] in eval mode without gradients (no dropout), fused as above.</summary>
    internal (Tensor Y, Internals Internals) ForwardFused(Tensor x)
    {
        if (x.Rank != 3) throw new ArgumentException($"focus-calibration attention expects X [N, T, d_in], got {x.Shape}");
        // Wqkv [3·H·dh, d_in], bqkv [3·H·dh], then U [2H, H·dh] with focus
        var d = LazyInitializer.EnsureInitialized(ref _stacked, () => new DerivedWeights(Sources(), Stack)).Get();
        int n = x.Shape[0], t = x.Shape[1], h = Heads, dh = HeadDim, hd = h * dh;
        var qkv = Ops.Linear(x, d[0], d[1]);                                     // [N, T, 3·H·dh]
        var heads = qkv.Reshape(n, t, 3, h, dh).Permute(2, 0, 3, 1, 4);         // [3, N, H, T, dh]
        var qh = Ops.Narrow(heads, 0, 0, 1).Reshape(n, h, t, dh);               // [N, H, T, dh]
        var kh = Ops.Narrow(heads, 0, 1, 1).Reshape(n, h, t, dh);               // [N, H, T, dh]
        var vh = Ops.Narrow(heads, 0, 2, 1).Reshape(n, h, t, dh);               // [N, H, T, dh]
        var scores = Tensor.Empty(new Shape(n, h, t, t), backend: x.Backend);   // [N, H, T, T] = Q Kᵀ, K read transposed in place
        x.Backend.Gemm(false, true, n * h, t, t, dh, 1f, qh.Storage, t * dh, kh.Storage, t * dh, 0f, scores.Storage, t * t);

        Tensor? bias = null, centres = null, widths = null;
        if (Focus)
        {
            var q = Ops.Narrow(qkv, 2, 0, hd);                                                            // [N, T, H·dh]
            var c = (FocusQuery!.Forward(q) + FocusGlobal!.Forward(q.Mean([1], keepDim: true))).Tanh(); // [N, T, H·dh]
            var pz = Ops.Linear(c, d[2]).Permute(0, 2, 1).Sigmoid() * t;                                 // [N, 2H, T]: P | W
            centres = Ops.Narrow(pz, 1, 0, h);                                                            // [N, H, T]
            widths = Ops.Narrow(pz, 1, h, h);                                                             // [N, H, T]
            var positions = Tensor.FromArray(Enumerable.Range(0, t).Select(j => (float)j).ToArray(), new Shape(1, 1, 1, t), x.Backend);
            var scaled = (positions - centres.Reshape(n, h, t, 1)) / widths.Reshape(n, h, t, 1);       // [N, H, T, T] = (j − P_i) / W_i
            bias = Ops.Square(scaled) * -2f;                                                              // −2 ((j − P_i) / W_i)²
        }

        var attention = Ops.BiasedSoftmax(scores, bias, null, 1f / MathF.Sqrt(dh)); // [N, H, T, T]
        var o = attention.MatMul(vh);                                              // [N, H, T, dh]
        Tensor? gates = null;
        if (Calibration)
        {
            gates = CalibrationGate!.Forward(o.Mean([2]).Reshape(n, hd)).Sigmoid(); // [N, H]
            o = o * gates.Reshape(n, h, 1, 1);
        }
        var merged = o.Permute(0, 2, 1, 3).Reshape(n, t, hd);                   // [N, T, H·dh]
        return (Out.Forward(merged), new Internals(attention, centres, widths, gates));
    }

    /// <summary>Releases the cached stacked matrices of the fused path; the next fused forward builds them again.</summary>
    internal void ReleaseFusedWeights() => _stacked?.Dispose();

    private Tensor[] Sources()
    {
        var list = new List<Tensor> { Query.Weight, Key.Weight, Value.Weight };
        foreach (var b in new[] { Query.Bias, Key.Bias, Value.Bias }) if (b is not null) list.Add(b);
        if (Focus) list.AddRange([UP!, UZ!]);
        return [.. list];
    }

    private Tensor[] Stack()
    {
        int h = Heads, dh = HeadDim, hd = h * dh, dIn = Query.InFeatures;
        var backend = Query.Weight.Backend;
        var w = new float[3 * hd * dIn];                                        // [3·H·dh, d_in]
        var b = new float[3 * hd];                                              // [3·H·dh]
        Linear[] layers = [Query, Key, Value];
        for (int i = 0; i < 3; i++)
        {
            layers[i].Weight.ToArray().CopyTo(w, i * hd * dIn);
            layers[i].Bias?.ToArray().CopyTo(b, i * hd);
        }
        var result = new List<Tensor> { Tensor.FromArray(w, new Shape(3 * hd, dIn), backend), Tensor.FromArray(b, new Shape(3 * hd), backend) };
        if (Focus)
        {
            float[] up = UP!.ToArray(), uz = UZ!.ToArray();                     // [H, dh]
            var u = new float[2 * h * hd];                                      // [2H, H·dh], block-diagonal
            for (int head = 0; head < h; head++)
                for (int j = 0; j < dh; j++)
                {
                    u[head * hd + head * dh + j] = up[head * dh + j];
                    u[(h + head) * hd + head * dh + j] = uz[head * dh + j];
                }
            result.Add(Tensor.FromArray(u, new Shape(2 * h, hd), backend));
        }
        return [.. result];
    }
}
