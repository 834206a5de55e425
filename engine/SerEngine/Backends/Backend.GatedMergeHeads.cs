namespace SerEngine.Backends;

// Gated merge of attention heads (Ops/GatedMergeHeads.cs) as two primitives. Legend: N batch, H heads, T tokens,
// D head size; o, dO [N, H, T, D]; g, dg [N, H]; y, dy [N, T, H·D].
//   forward:  y[n, t, h·D + d] = o[n, h, t, d] · g[n, h]
//   backward: dO[n, h, t, d] = dy[n, t, h·D + d] · g[n, h],   dg[n, h] = Σ over (t, d) of dy · o
// The defaults compose the primitives the unfused graph ran (Binary Mul, Permute, SumTo), so every backend gives that
// graph's bits; the CPU backend overrides them with one pass each (CpuFast.GatedMergeHeads.cs).
public abstract partial class Backend
{
    /// <summary>
    /// y [N, T, H·D] = o [N, H, T, D] times g [N, H] broadcast over T and D, permuted to tokens first: the float result
    /// of a Binary Mul and a Permute.
    /// </summary>
    public virtual void GatedMergeHeadsForward(Storage o, Storage g, Storage y, int n, int h, int t, int d)
    {
        var oh = new Shape(n, h, t, d);
        using var scaled = Allocate(n * h * t * d, DType.Float32); // [N, H, T, D]
        Binary(BinaryOp.Mul, o, oh, g, new Shape(n, h, 1, 1), scaled, oh);
        Permute(scaled, oh, [0, 2, 1, 3], y);
    }

    /// <summary>
    /// The gradients of <see cref="GatedMergeHeadsForward"/> from dy [N, T, H·D]: dO [N, H, T, D] and dg [N, H] (each
    /// optional), as the unfused graph computed them: dy permuted back to [N, H, T, D], times g, and times o summed
    /// over T and D (SumTo).
    /// </summary>
    public virtual void GatedMergeHeadsBackward(Storage o, Storage g, Storage dy, Storage? dO, Storage? dg, int n, int h, int t, int d)
    {
        var oh = new Shape(n, h, t, d);
        int size = n * h * t * d;
        using var back = Allocate(size, DType.Float32); // [N, H, T, D]
        Permute(dy, new Shape(n, t, h, d), [0, 2, 1, 3], back);
        if (dO is not null) Binary(BinaryOp.Mul, back, oh, g, new Shape(n, h, 1, 1), dO, oh);
        if (dg is null) return;
        using var prod = Allocate(size, DType.Float32); // [N, H, T, D]
        Binary(BinaryOp.Mul, back, oh, o, oh, prod, oh);
        SumTo(prod, oh, dg, new Shape(n, h, 1, 1));
    }
}
