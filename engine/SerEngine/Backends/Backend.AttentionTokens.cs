namespace SerEngine.Backends;

// Attention whose q, k and v are the heads as they lie in a projection's output, [N, T, H, D] (rows H·D
// apart), so that a model need not split them into [N, H, T, D] copies first (and merge their gradients
// back). P, the output O, dO and the bias stay per item, [N·H, T, T] and [N·H, T, D], as in
// Backend.Attention.cs; dQ, dK and dV come back in q's layout. The defaults split the heads with Permute and
// run the per-item primitives (every backend); the fast CPU backend reads and writes the rows in place.
public abstract partial class Backend
{
    /// <summary>
    /// <see cref="AttentionForward"/> for q, k, v [N, T, H, D] (<paramref name="batch"/> = N, <paramref name="heads"/> = H):
    /// probs [N·H, T, T] and o [N·H, T, D] as there; keyMask [N, T] is shared by an image's heads.
    /// </summary>
    public virtual void AttentionForwardTokens(Storage q, Storage k, Storage v, Storage? bias, Storage? keyMask, Storage? dropMask,
        Storage probs, Storage o, int batch, int heads, int t, int d, float scale)
    {
        CheckAttentionSizes("AttentionForwardTokens", batch * heads, t, d);
        if (batch * heads == 0 || t == 0) return;
        using var qh = SplitHeads(q, batch, heads, t, d);
        using var kh = SplitHeads(k, batch, heads, t, d);
        using var vh = SplitHeads(v, batch, heads, t, d);
        AttentionForward(qh, kh, vh, bias, keyMask, dropMask, probs, o, batch * heads, t, d, heads, scale);
    }

    /// <summary>
    /// <see cref="AttentionBackward"/> for q, k, v [N, T, H, D]: dOut [N·H, T, D] and dProbs, dBias [N·H, T, T] as there;
    /// dQ, dK and dV (each optional) in q's layout [N, T, H, D].
    /// </summary>
    public virtual void AttentionBackwardTokens(Storage q, Storage k, Storage v, Storage probs, Storage? dropMask,
        Storage? dOut, Storage? dProbs, Storage? dQ, Storage? dK, Storage? dV, Storage? dBias,
        int batch, int heads, int t, int d, float scale)
    {
        CheckAttentionSizes("AttentionBackwardTokens", batch * heads, t, d);
        if (batch * heads == 0 || t == 0) return;
        int size = batch * heads * t * d;
        using var qh = SplitHeads(q, batch, heads, t, d);
        using var kh = SplitHeads(k, batch, heads, t, d);
        using var vh = SplitHeads(v, batch, heads, t, d);
        using var dQh = dQ is null ? null : Allocate(size, DType.Float32);
        using var dKh = dK is null ? null : Allocate(size, DType.Float32);
        using var dVh = dV is null ? null : Allocate(size, DType.Float32);
        AttentionBackward(qh, kh, vh, probs, dropMask, dOut, dProbs, dQh, dKh, dVh, dBias, batch * heads, t, d, scale);
        var headShape = new Shape(batch, heads, t, d);
        if (dQh is not null) Permute(dQh, headShape, [0, 2, 1, 3], dQ!);
        if (dKh is not null) Permute(dKh, headShape, [0, 2, 1, 3], dK!);
        if (dVh is not null) Permute(dVh, headShape, [0, 2, 1, 3], dV!);
    }

    /// <summary>A new [N, H, T, D] copy of x [N, T, H, D].</summary>
    private Storage SplitHeads(Storage x, int batch, int heads, int t, int d)
    {
        var y = Allocate(batch * heads * t * d, DType.Float32);
        Permute(x, new Shape(batch, t, heads, d), [0, 2, 1, 3], y);
        return y;
    }
}
