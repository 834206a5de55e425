namespace SerEngine.Backends;

// The eval-mode attention core of FocusCalibrationNet's fused inference (FocusCalibrationAttention.Inference.cs),
// feature-major, as one primitive between the Q/K/V projection and the calibration gate. Legend: N images,
// H heads, T tokens, D head size; qkvT [N, 3·H·D, T] holds per image Qᵀ (rows 0..H·D), Kᵀ, then Vᵀ, head h at rows h·D.
//   S = scale · Q Kᵀ + bias, bias[i, j] = −2 (j − P_i)² / W_i² (optional, Backend.FocusBias.cs),
//   A = softmax_j(S) (probs [N, H, T, T]), Oᵀ = Vᵀ Aᵀ (oT [N, H, D, T]), means[n, h·D + c] = mean_i Oᵀ[c, i].
// The default composes the primitives the unfused path used (CopyBlocks, Gemm, FocusBiasForward,
// BiasedSoftmax, SumTo, Unary), so every backend runs it and gives that path's bits; the CPU backend
// overrides it with one parallel loop over the heads (CpuFast.AttentionTransposed.cs).
public abstract partial class Backend
{
    /// <summary>Which path <see cref="AttentionForwardTransposed"/> takes for <paramref name="t"/> tokens of head size <paramref name="d"/>: "fused" or "composed".</summary>
    public virtual string AttentionTransposedImplementation(int t, int d) => "composed";

    /// <summary>
    /// Eval-mode attention of <paramref name="batch"/> images × <paramref name="heads"/> heads read feature-major from
    /// qkvT [N, 3·H·D, T] (as above): probs [N, H, T, T] receives A, oT [N, H, D, T] the heads' outputs transposed and
    /// means (optional) [N, H·D] their means over the tokens. centres and widths [N, H, T] (both or neither) add the
    /// focus bias before the softmax.
    /// </summary>
    public virtual void AttentionForwardTransposed(Storage qkvT, Storage? centres, Storage? widths, Storage probs, Storage oT, Storage? means,
        int batch, int heads, int t, int d, float scale)
    {
        CheckAttentionSizes("AttentionForwardTransposed", batch * heads, t, d);
        if ((centres is null) != (widths is null)) throw new ArgumentException("AttentionForwardTransposed: centres and widths go together");
        int bh = batch * heads, plane = heads * d * t, tt = t * t;
        if (bh == 0 || t == 0) return;
        using var q = Allocate(batch * plane, DType.Float32);                     // [N, H·D, T] each
        using var k = Allocate(batch * plane, DType.Float32);
        using var v = Allocate(batch * plane, DType.Float32);
        CopyBlocks(qkvT, 0, 3 * plane, q, 0, plane, plane, batch);
        CopyBlocks(qkvT, plane, 3 * plane, k, 0, plane, plane, batch);
        CopyBlocks(qkvT, 2 * plane, 3 * plane, v, 0, plane, plane, batch);
        using var s = Allocate(bh * tt, DType.Float32);                          // [N, H, T, T]
        Gemm(true, false, bh, t, t, d, 1f, q, d * t, k, d * t, 0f, s, tt);      // Q Kᵀ = (Qᵀ)ᵀ · Kᵀ
        using var bias = centres is null ? null : Allocate(bh * tt, DType.Float32);
        if (bias is not null) FocusBiasForward(centres!, widths!, bias, bh * t, t);
        BiasedSoftmax(s, bias, null, probs, bh * t, t, t, scale);
        Gemm(false, true, bh, d, t, t, 1f, v, d * t, probs, tt, 0f, oT, d * t); // Oᵀ = Vᵀ · Aᵀ
        if (means is null) return;
        SumTo(oT, new Shape(bh * d, t), means, new Shape(bh * d, 1));
        if (t != 1) Unary(UnaryOp.Scale, means, means, bh * d, 1f / t);
    }

    /// <summary>
    /// <see cref="AttentionForwardTransposed"/> with the focus centres and widths computed first from the focus context:
    /// centres | widths = sigmoid(U · cᵀ) · T per image, focusT cᵀ [N, H·D, T], u U [2H, H·D] (row h holds head h's
    /// centre weights in its D columns, row H + h its width weights, zeros elsewhere); centres and widths [N, H, T] receive
    /// them. The default composes Gemm, Unary Sigmoid and Scale, CopyBlocks and <see cref="AttentionForwardTransposed"/>.
    /// </summary>
    public virtual void AttentionForwardTransposedFocus(Storage qkvT, Storage focusT, Storage u, Storage centres, Storage widths, Storage probs,
        Storage oT, Storage? means, int batch, int heads, int t, int d, float scale)
    {
        CheckAttentionSizes("AttentionForwardTransposedFocus", batch * heads, t, d);
        int hd = heads * d, n = batch * 2 * heads * t;
        if (batch * heads == 0 || t == 0) return;
        using (var logits = Allocate(n, DType.Float32))                         // [N, 2H, T]
        {
            Gemm(false, false, batch, 2 * heads, t, hd, 1f, u, 0, focusT, hd * t, 0f, logits, 2 * heads * t);
            Unary(UnaryOp.Sigmoid, logits, logits, n, 0f);
            Unary(UnaryOp.Scale, logits, logits, n, t);
            CopyBlocks(logits, 0, 2 * heads * t, centres, 0, heads * t, heads * t, batch);
            CopyBlocks(logits, heads * t, 2 * heads * t, widths, 0, heads * t, heads * t, batch);
        }
        AttentionForwardTransposed(qkvT, centres, widths, probs, oT, means, batch, heads, t, d, scale);
    }
}
