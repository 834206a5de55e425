using SerEngine.Backends;
using SerEngine.Nn;

namespace SerEngine.Models.Attention;

/// <summary>
/// Multi-head self-attention over time with Focus-Attention (a learned Gaussian window per head
/// and query, added to the scores) and Calibration-Attention (a learned gate per head), as
/// MODELS.md (B) specifies. Input X [N, T, d_in]; output attn(X) [N, T, d_in] (the network adds
/// the residual). Dimension legend: N batch, T time steps, H heads, dh head size.
/// </summary>
public sealed partial class FocusCalibrationAttention : Module
{
    private readonly Generator _rng;

    /// <summary>Creates the block; <paramref name="focus"/> and <paramref name="calibration"/> switch FA and CA.</summary>
    public FocusCalibrationAttention(int dIn, int heads, int headDim, bool focus, bool calibration, float dropout, Generator rng, Backend? backend = null)
    {
        Heads = heads;
        HeadDim = headDim;
        Focus = focus;
        Calibration = calibration;
        DropoutP = dropout;
        _rng = rng;
        int hd = heads * headDim;
        Query = RegisterModule("query", new Linear(dIn, hd, rng, true, backend));
        Key = RegisterModule("key", new Linear(dIn, hd, rng, true, backend));
        Value = RegisterModule("value", new Linear(dIn, hd, rng, true, backend));
        if (focus)
        {
            FocusQuery = RegisterModule("focus_query", new Linear(hd, hd, rng, true, backend));
            FocusGlobal = RegisterModule("focus_global", new Linear(hd, hd, rng, true, backend));
            float std = 1f / MathF.Sqrt(headDim);
            UP = RegisterParameter("u_p", Init.Normal(new Shape(heads, headDim), std, rng, backend));
            UZ = RegisterParameter("u_z", Init.Normal(new Shape(heads, headDim), std, rng, backend));
        }
        if (calibration) CalibrationGate = RegisterModule("calibration", new Linear(hd, heads, rng, true, backend));
        Out = RegisterModule("out", new Linear(hd, dIn, rng, true, backend));
    }

    /// <summary>H.</summary>
    public int Heads { get; }

    /// <summary>dh.</summary>
    public int HeadDim { get; }

    /// <summary>Whether Focus-Attention is on.</summary>
    public bool Focus { get; }

    /// <summary>Whether Calibration-Attention is on.</summary>
    public bool Calibration { get; }

    /// <summary>Dropout on the attention weights.</summary>
    public float DropoutP { get; }

    /// <summary>Projections d_in → H·dh.</summary>
    public Linear Query { get; }

    /// <summary>Key projection.</summary>
    public Linear Key { get; }

    /// <summary>Value projection.</summary>
    public Linear Value { get; }

    /// <summary>FA: per-query term (null without focus).</summary>
    public Linear? FocusQuery { get; }

    /// <summary>FA: utterance-level term from mean_t q (null without focus).</summary>
    public Linear? FocusGlobal { get; }

    /// <summary>FA: centre vectors u_p [H, dh].</summary>
    public Tensor? UP { get; }

    /// <summary>FA: width vectors u_z [H, dh].</summary>
    public Tensor? UZ { get; }

    /// <summary>CA: Linear(H·dh → H) (null without calibration).</summary>
    public Linear? CalibrationGate { get; }

    /// <summary>Output projection H·dh → d_in.</summary>
    public Linear Out { get; }

    /// <summary>What the block computed besides its output, for inspection.</summary>
    /// <param name="Attention">A [N, H, T, T], the softmax weights (before dropout).</param>
    /// <param name="Centres">P [N, H, T] focus centres in frames (null without focus).</param>
    /// <param name="Widths">W [N, H, T] focus widths in frames (null without focus).</param>
    /// <param name="HeadWeights">g [N, H] calibration gates (null without calibration).</param>
    public sealed record Internals(Tensor Attention, Tensor? Centres, Tensor? Widths, Tensor? HeadWeights);

    /// <summary>Computes attn(X) for X [N, T, d_in]; also returns the internals.</summary>
    public (Tensor Y, Internals Internals) Forward(Tensor x)
    {
        if (x.Rank != 3) throw new ArgumentException($"focus-calibration attention expects X [N, T, d_in], got {x.Shape}");
        int n = x.Shape[0], t = x.Shape[1], h = Heads, dh = HeadDim;
        // the three projections of x, each exactly its Linear's (the backend packs x for their GEMMs once)
        var qkv = Ops.LinearMany(x, [Query.Weight, Key.Weight, Value.Weight], [Query.Bias, Key.Bias, Value.Bias]);
        var q = qkv[0];                                             // [N, T, H·dh]
        var qh = q.Reshape(n, t, h, dh);                            // [N, T, H, dh]: the heads as they lie (no copy)
        var kh = qkv[1].Reshape(n, t, h, dh);                       // [N, T, H, dh]
        var vh = qkv[2].Reshape(n, t, h, dh);                       // [N, T, H, dh]

        Tensor? bias = null, centres = null, widths = null;
        if (Focus)
        {
            var c = (FocusQuery!.Forward(q) + FocusGlobal!.Forward(q.Mean([1], keepDim: true))).Tanh(); // [N, T, H·dh]
            var ch = c.Reshape(n, t, h, dh);                                                              // [N, T, H, dh] (no copy)
            var p = Ops.HeadDot(ch, UP!);                                                                 // [N, H, T] = Σ_d c·u_p per head
            var z = Ops.HeadDot(ch, UZ!);                                                                 // [N, H, T]
            centres = p.Sigmoid() * t;                                                                    // P = T·σ(p)
            widths = z.Sigmoid() * t;                                                                     // W = T·σ(z)
            bias = Ops.FocusBias(centres, widths);                                                        // [N, H, T, T] = −2 (j − P_i)² / W_i²
        }

        // A = softmax(Q Kᵀ/√dh + bias) [N, H, T, T], O = dropout(A) V [N, H, T, dh]: one fused op
        // (GPU backends: one kernel per batch·head for T ≤ 128, see Ops.Attention)
        // (the attention reads each head's rows inside [N, T, H·dh]; O and A come per head)
        var (o, attention) = Ops.AttentionTokens(qh, kh, vh, bias, null, 1f / MathF.Sqrt(dh), DropoutP, Training, _rng);

        Tensor? gates = null;
        Tensor merged;                                                            // [N, T, H·dh]
        if (Calibration)
        {
            gates = CalibrationGate!.Forward(o.Mean([2]).Reshape(n, h * dh)).Sigmoid(); // [N, H]
            merged = Ops.GatedMergeHeads(o, gates);                               // each head times its gate, heads merged
        }
        else merged = o.Permute(0, 2, 1, 3).Reshape(n, t, h * dh);
        return (Out.Forward(merged), new Internals(attention, centres, widths, gates));
    }
}
