namespace SerEngine.Backends;

// Per-head dot products (Ops/HeadDot.cs) as two primitives. Legend: N batch, T tokens, H heads, D head size.
//   forward:  y[n, h, t] = Σ_d x[n, t, h, d] · u[h, d]                 x [N, T, H, D], u [H, D], y [N, H, T]
//   backward: dx[n, t, h, d] = dy[n, h, t] · u[h, d],   du[h, d] = Σ_n Σ_t dy[n, h, t] · x[n, t, h, d]
// The defaults compose the primitives the unfused graph ran (Permute, Binary Mul, SumTo, BroadcastTo), so every
// backend gives that graph's bits; the CPU backend overrides them with one pass each (CpuFast.HeadDot.cs).
public abstract partial class Backend
{
    /// <summary>
    /// y [N, H, T] = Σ_d x[n, t, h, d]·u[h, d] for x [N, T, H, D], u [H, D]: the float result of permuting x to
    /// [N, H, T, D], multiplying by u broadcast over N and T, and summing the last axis (SumTo).
    /// </summary>
    public virtual void HeadDotForward(Storage x, Storage u, Storage y, int n, int t, int h, int d)
    {
        var xh = new Shape(n, h, t, d);
        using var perm = Allocate(n * t * h * d, DType.Float32); // [N, H, T, D]
        Permute(x, new Shape(n, t, h, d), [0, 2, 1, 3], perm);
        using var prod = Allocate(n * t * h * d, DType.Float32); // [N, H, T, D]
        Binary(BinaryOp.Mul, perm, xh, u, new Shape(1, h, 1, d), prod, xh);
        SumTo(prod, xh, y, new Shape(n, h, t, 1));
    }

    /// <summary>
    /// The gradients of <see cref="HeadDotForward"/> from dy [N, H, T]: dx [N, T, H, D] and du [H, D] (each optional),
    /// as the unfused graph computed them: dy broadcast over D, times u (then permuted back), and times x summed over N and T.
    /// </summary>
    public virtual void HeadDotBackward(Storage x, Storage u, Storage dy, Storage? dx, Storage? du, int n, int t, int h, int d)
    {
        var xh = new Shape(n, h, t, d);
        int size = n * t * h * d;
        using var g = Allocate(size, DType.Float32); // [N, H, T, D]: dy along D
        BroadcastTo(dy, new Shape(n, h, t, 1), g, xh);
        using var prod = Allocate(size, DType.Float32); // [N, H, T, D]
        if (dx is not null)
        {
            Binary(BinaryOp.Mul, g, xh, u, new Shape(1, h, 1, d), prod, xh);
            Permute(prod, xh, [0, 2, 1, 3], dx);
        }
        if (du is not null)
        {
            using var perm = Allocate(size, DType.Float32); // [N, H, T, D]
            Permute(x, new Shape(n, t, h, d), [0, 2, 1, 3], perm);
            Binary(BinaryOp.Mul, g, xh, perm, xh, prod, xh);
            SumTo(prod, xh, du, new Shape(1, h, 1, d));
        }
    }
}
