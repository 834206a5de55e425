using SerEngine.Backends;
using SerEngine.Backends.Cpu;
using SerEngine.Models.Inference;
using SerEngine.Nn;

namespace SerEngine.Models.Attention;

// The fused eval-mode forward of the attention block (FocusCalibrationNet.Inference.cs decides when),
// in feature-major layout: it takes Xᵀ [N, d_in, T] (the conv features as they lie, no token permute)
// and returns attn(X)ᵀ [N, d_in, T]. Q, K and V come from one projection with the three weight
// matrices stacked and packed once for the backend's GEMM (Backend.PackGemmA),
//   [Q | K | V]ᵀ [N, 3·H·dh, T] = [Wq; Wk; Wv] · Xᵀ + [bq; bk; bv],
// (the weight is the GEMM's long side, the T tokens its short one);
// the products per head read Qᵀ, Kᵀ and Vᵀ as they lie in that layout (no split into heads, no
// transposed copies); the Focus context is computed feature-major too, cᵀ = tanh(Wfq·Qᵀ + …) (Wfq
// packed), and the centre and width logits of all heads come from one product with a block-diagonal
// matrix U [2H, H·dh] (row h holds u_p[h] in head h's columns, row H + h holds u_z[h]),
// p | z [N, 2H, T] = U · cᵀ, instead of two broadcast products and sums per head; those logits with their sigmoids, scores,
// focus bias, softmax, A·V and the calibration mean are one backend primitive (Backend.AttentionForwardTransposedFocus,
// or without focus Backend.AttentionForwardTransposed) over the heads;
// each head's output comes transposed, Oᵀ = Vᵀ · Aᵀ [dh, T], so the
// calibration mean is over rows and the heads lie as mergedᵀ [N, H·dh, T] (no permute); the output projection
// is again a packed product, Yᵀ = Wo · mergedᵀ + bo (for the network's forward with its residual, ReLU and token mean
// done on the product's rows as they are finished, Backend.GemmPackedAResidualReluMean); the tanh of the focus context
// likewise rides on its product (Backend.GemmPackedATanh).
// Everything else is the plain forward's arithmetic. The stacked and packed matrices are cached
// (DerivedWeights).
public sealed partial class FocusCalibrationAttention
{
    private DerivedWeights<PackedGemmA>? _stacked;

    /// <summary>
    /// z [N, d_in] = mean over T of ReLU(Xᵀ + attn(X)ᵀ) (FocusCalibrationNet's residual, ReLU and token mean) for Xᵀ [N, d_in, T]
    /// (<paramref name="xT"/> as it lies), fused as above; the residual, ReLU and mean run on the output projection's rows as they
    /// are finished (Backend.GemmPackedAResidualReluMean). z and the scratch buffers are slots <paramref name="slot"/> on of
    /// <paramref name="ws"/> (valid until the workspace's next forward); the internals are new tensors.
    /// </summary>
    internal (Tensor Z, Internals Internals) ForwardFusedResidualMean(Storage xT, int n, int dIn, int t, FusedWorkspace ws, int slot)
    {
        if (dIn != Query.InFeatures) throw new ArgumentException($"focus-calibration attention expects Xᵀ [N, {Query.InFeatures}, T], got [{n}, {dIn}, {t}]");
        var (oT, internals, wo) = ForwardFusedHeads(xT, n, dIn, t, ws, slot + 2);
        var backend = oT.Backend;
        var yT = ws.Get(slot, n, dIn, t);                                       // [N, d_in, T] = Wo · mergedᵀ + bo (scratch)
        var z = ws.Get(slot + 1, n, dIn);                                       // [N, d_in]
        backend.GemmPackedAResidualReluMean(wo, n, t, oT.Storage, Heads * HeadDim * t, yT.Storage, Out.Bias?.Storage, xT, z.Storage);
        return (z, internals);
    }

    /// <summary>The heads' gated outputs mergedᵀ [N, H·dh, T] of Xᵀ [N, d_in, T], the internals, and the packed Wo (scratch: slots <paramref name="slot"/> on).</summary>
    private (Tensor OT, Internals Internals, PackedGemmA Wo) ForwardFusedHeads(Storage xT, int n, int dIn, int t, FusedWorkspace ws, int slot)
    {
        // d: Wqkv [3·H·dh, d_in], bqkv [3·H·dh], then U [2H, H·dh] with focus; packed: Wqkv, Wo, then Wfq with focus
        var stacked = Volatile.Read(ref _stacked) ?? LazyInitializer.EnsureInitialized(ref _stacked, () => new DerivedWeights<PackedGemmA>(Sources(), Stack, Pack));
        var (d, packed) = stacked.GetPacked();
        var backend = d[0].Backend;
        int h = Heads, dh = HeadDim, hd = h * dh;
        var qkvT = ws.Get(slot, n, 3 * hd, t);                                  // [N, 3·H·dh, T]: per head Qᵀ, Kᵀ, Vᵀ [dh, T]
        // with focus, the token means of Q's rows come from the product's own tasks: qMeans [N, H·dh]
        var qMeans = Focus ? ws.Get(slot + 1, n, hd) : null;
        if (qMeans is null) backend.GemmPackedA(packed[0], false, n, t, 1f, xT, dIn * t, 0f, qkvT.Storage, 3 * hd * t, d[1].Storage);
        else backend.GemmPackedARowMeans(packed[0], n, t, xT, dIn * t, qkvT.Storage, d[1].Storage, qMeans.Storage, hd);
        Tensor? centres = null, widths = null, focusT = null;
        if (Focus)
        {
            // cᵀ = tanh(Wfq · Qᵀ + bfq + Wfg · mean_T(Q) + bfg); P | W [N, 2H, T] = sigmoid(U · cᵀ) · T come with the attention below
            var global = Ops.Linear(qMeans!, FocusGlobal!.Weight, FocusGlobal.Bias, into: ws.Get(slot + 6, n, hd)); // [N, H·dh]
            var cT = ws.Get(slot + 2, n, hd, t);                                 // [N, H·dh, T]
            if (n == 1)
            {
                // one image: the global term is one more bias per row, so it rides on the product's bias pass
                var rowBias = FocusQuery!.Bias is null ? global : Ops.Add(global, FocusQuery.Bias, into: ws.Get(slot + 7, 1, hd)); // [1, H·dh] = global + bfq
                backend.GemmPackedATanh(packed[2], n, t, qkvT.Storage, 3 * hd * t, cT.Storage, rowBias.Storage); // tanh in the product's tasks
            }
            else
            {
                backend.GemmPackedA(packed[2], false, n, t, 1f, qkvT.Storage, 3 * hd * t, 0f, cT.Storage, hd * t, FocusQuery!.Bias?.Storage);
                cT = (cT + global.Reshape(n, hd, 1)).Tanh();
            }
            focusT = cT;
            centres = Tensor.Empty(new Shape(n, h, t), backend: backend);          // [N, H, T]
            widths = Tensor.Empty(new Shape(n, h, t), backend: backend);           // [N, H, T]
        }

        // per head S = Q Kᵀ/√dh + focus bias, A = softmax(S), Oᵀ [dh, T] = Vᵀ · Aᵀ and its mean over the tokens, one primitive
        // reading the heads as they lie in qkvT; [N, H, dh, T] is mergedᵀ [N, H·dh, T] as it lies (no permute)
        var attention = Tensor.Empty(new Shape(n, h, t, t), backend: backend);   // [N, H, T, T]
        var oT = ws.Get(slot + 3, n, h, dh, t);                                 // [N, H, dh, T] = (A · V)ᵀ per head
        var means = Calibration ? ws.Get(slot + 4, n, hd) : null;               // [N, H·dh]
        if (focusT is null)
            backend.AttentionForwardTransposed(qkvT.Storage, null, null, attention.Storage, oT.Storage, means?.Storage, n, h, t, dh, 1f / MathF.Sqrt(dh));
        else // each head's centres and widths from its rows of cᵀ in the same loop (U [2H, H·dh] is d[2])
            backend.AttentionForwardTransposedFocus(qkvT.Storage, focusT.Storage, d[2].Storage, centres!.Storage, widths!.Storage, attention.Storage,
                oT.Storage, means?.Storage, n, h, t, dh, 1f / MathF.Sqrt(dh));
        Tensor? gates = null;
        if (Calibration)
        {
            var gateLogits = Ops.Linear(means!, CalibrationGate!.Weight, CalibrationGate.Bias, into: ws.Get(slot + 8, n, h)); // [N, H]
            // the gates are returned (a new [N, H]); the product reads the workspace's copy of them as [N, H, 1, 1]
            var gates4 = Ops.Sigmoid(ws.View(slot + 9, gateLogits, n, h, 1, 1), into: ws.Get(slot + 10, n, h, 1, 1));
            gates = Ops.Sigmoid(gateLogits);                                     // [N, H]
            oT = Ops.Mul(oT, gates4, into: ws.Get(slot + 5, n, h, dh, t));      // [N, H, dh, T] = Oᵀ · gate per head
        }
        return (oT, new Internals(attention, centres, widths, gates), packed[1]);
    }

    /// <summary>Releases the cached stacked matrices of the fused path; the next fused forward builds them again.</summary>
    internal void ReleaseFusedWeights() => _stacked?.Dispose();

    private Tensor[] Sources()
    {
        var list = new List<Tensor> { Query.Weight, Key.Weight, Value.Weight };
        foreach (var b in new[] { Query.Bias, Key.Bias, Value.Bias }) if (b is not null) list.Add(b);
        if (Focus) list.AddRange([UP!, UZ!]);
        list.Add(Out.Weight);
        if (Out.Bias is not null) list.Add(Out.Bias);
        if (Focus)
        {
            list.Add(FocusQuery!.Weight);
            if (FocusQuery.Bias is not null) list.Add(FocusQuery.Bias);
        }
        return [.. list];
    }

    /// <summary>Wqkv [3·H·dh, d_in], Wo [d_in, H·dh] and (with focus) Wfq [H·dh, H·dh] packed as GEMM A operands.</summary>
    private PackedGemmA[] Pack(Tensor[] stacked)
    {
        var backend = stacked[0].Backend;
        var list = new List<PackedGemmA>
        {
            backend.PackGemmA(stacked[0].Storage, false, stacked[0].Shape[0], stacked[0].Shape[1]),
            backend.PackGemmA(Out.Weight.Storage, false, Out.OutFeatures, Out.InFeatures),
        };
        if (Focus) list.Add(backend.PackGemmA(FocusQuery!.Weight.Storage, false, FocusQuery.OutFeatures, FocusQuery.InFeatures));
        return [.. list];
    }

    private Tensor[] Stack()
    {
        int h = Heads, dh = HeadDim, hd = h * dh, dIn = Query.InFeatures;
        var backend = Query.Weight.Backend;
        // rebuilt after every training epoch's validation: the weights are read into the stacked array where they go
        // (no host copy per matrix), and its pages are mapped in one call (every element is written below)
        var w = PagePrefault.Populate(GC.AllocateUninitializedArray<float>(3 * hd * dIn)); // [3·H·dh, d_in]
        var b = new float[3 * hd];                                              // [3·H·dh]
        Linear[] layers = [Query, Key, Value];
        for (int i = 0; i < 3; i++)
        {
            layers[i].Weight.Backend.Read(layers[i].Weight.Storage, w.AsSpan(i * hd * dIn, hd * dIn));
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
