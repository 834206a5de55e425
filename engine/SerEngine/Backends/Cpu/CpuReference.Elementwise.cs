namespace SerEngine.Backends.Cpu;

// Elementwise primitives: binary with broadcasting, unary and their derivatives, the
// broadcast/sum-to pair (each other's adjoint), permute and the dropout mask.
public partial class CpuReferenceBackend
{
    /// <summary>Strides of <paramref name="src"/> laid against <paramref name="dst"/>'s rank: 0 where src broadcasts.</summary>
    internal static int[] BroadcastStrides(Shape src, Shape dst)
    {
        var strides = new int[dst.Rank];
        var s = src.Strides();
        int offset = dst.Rank - src.Rank;
        for (int i = 0; i < src.Rank; i++)
            strides[i + offset] = src[i] == 1 && dst[i + offset] != 1 ? 0 : s[i];
        return strides;
    }

    /// <summary>Flat source index of flat destination index <paramref name="i"/> under broadcast strides.</summary>
    internal static int SourceIndex(int i, Shape dst, int[] strides)
    {
        int src = 0;
        for (int d = dst.Rank - 1; d >= 0; d--)
        {
            int dim = dst[d];
            src += i % dim * strides[d];
            i /= dim;
        }
        return src;
    }

    /// <inheritdoc/>
    public override void Binary(BinaryOp op, Storage a, Shape aShape, Storage b, Shape bShape, Storage y, Shape yShape)
    {
        float[] av = F(a), bv = F(b), yv = F(y);
        var sa = BroadcastStrides(aShape, yShape);
        var sb = BroadcastStrides(bShape, yShape);
        bool same = aShape == yShape && bShape == yShape;
        for (int i = 0; i < yShape.Size; i++)
        {
            float x1 = same ? av[i] : av[SourceIndex(i, yShape, sa)];
            float x2 = same ? bv[i] : bv[SourceIndex(i, yShape, sb)];
            yv[i] = op switch
            {
                BinaryOp.Add => x1 + x2,
                BinaryOp.Sub => x1 - x2,
                BinaryOp.Mul => x1 * x2,
                BinaryOp.Div => x1 / x2,
                _ => throw new ArgumentOutOfRangeException(nameof(op)),
            };
        }
    }

    /// <inheritdoc/>
    public override void Unary(UnaryOp op, Storage x, Storage y, int n, float alpha)
    {
        float[] xv = F(x), yv = F(y);
        for (int i = 0; i < n; i++)
        {
            float v = xv[i];
            yv[i] = op switch
            {
                UnaryOp.Neg => -v,
                UnaryOp.Relu => v > 0 ? v : 0f,
                UnaryOp.Tanh => MathF.Tanh(v),
                UnaryOp.Sigmoid => 1f / (1f + MathF.Exp(-v)),
                UnaryOp.Exp => MathF.Exp(v),
                UnaryOp.Log => MathF.Log(v),
                UnaryOp.Scale => alpha * v,
                UnaryOp.AddScalar => v + alpha,
                UnaryOp.Square => v * v,
                UnaryOp.Sqrt => MathF.Sqrt(v),
                _ => throw new ArgumentOutOfRangeException(nameof(op)),
            };
        }
    }

    /// <inheritdoc/>
    public override void UnaryBackward(UnaryOp op, Storage x, Storage y, Storage dy, Storage dx, int n, float alpha)
    {
        float[] xv = F(x), yv = F(y), g = F(dy), d = F(dx);
        for (int i = 0; i < n; i++)
        {
            d[i] = op switch
            {
                UnaryOp.Neg => -g[i],
                UnaryOp.Relu => xv[i] > 0 ? g[i] : 0f,
                UnaryOp.Tanh => g[i] * (1f - yv[i] * yv[i]),
                UnaryOp.Sigmoid => g[i] * yv[i] * (1f - yv[i]),
                UnaryOp.Exp => g[i] * yv[i],
                UnaryOp.Log => g[i] / xv[i],
                UnaryOp.Scale => alpha * g[i],
                UnaryOp.AddScalar => g[i],
                UnaryOp.Square => 2f * xv[i] * g[i],
                UnaryOp.Sqrt => g[i] * 0.5f / yv[i],
                _ => throw new ArgumentOutOfRangeException(nameof(op)),
            };
        }
    }

    /// <inheritdoc/>
    public override void SumTo(Storage x, Shape xShape, Storage y, Shape yShape)
    {
        float[] xv = F(x), yv = F(y);
        var sy = BroadcastStrides(yShape, xShape);
        Array.Clear(yv, 0, yShape.Size);
        for (int i = 0; i < xShape.Size; i++) yv[SourceIndex(i, xShape, sy)] += xv[i];
    }

    /// <inheritdoc/>
    public override void BroadcastTo(Storage x, Shape xShape, Storage y, Shape yShape)
    {
        float[] xv = F(x), yv = F(y);
        var sx = BroadcastStrides(xShape, yShape);
        for (int i = 0; i < yShape.Size; i++) yv[i] = xv[SourceIndex(i, yShape, sx)];
    }

    /// <inheritdoc/>
    public override void Permute(Storage x, Shape xShape, int[] perm, Storage y)
    {
        int rank = xShape.Rank;
        var xs = xShape.Strides();
        var yDims = new int[rank];
        var strides = new int[rank]; // stride in x of each y axis
        for (int i = 0; i < rank; i++) { yDims[i] = xShape[perm[i]]; strides[i] = xs[perm[i]]; }
        var yShape = new Shape(yDims);
        if (x.DType == DType.Float32)
        {
            float[] xv = F(x), yv = F(y);
            for (int i = 0; i < yShape.Size; i++) yv[i] = xv[SourceIndex(i, yShape, strides)];
        }
        else
        {
            int[] xv = I(x), yv = I(y);
            for (int i = 0; i < yShape.Size; i++) yv[i] = xv[SourceIndex(i, yShape, strides)];
        }
    }

    /// <inheritdoc/>
    public override void DropoutMask(Storage mask, int n, float p, ulong seed)
    {
        var m = F(mask);
        float keep = 1f / (1f - p);
        for (int i = 0; i < n; i++) m[i] = DropoutUniform(seed, (ulong)i) < p ? 0f : keep;
    }

    /// <summary>
    /// Counter-based uniform in [0, 1) from (seed, index): the same mask on every backend and thread
    /// layout (a SplitMix64 finaliser over seed ⊕ index; GPU kernels use the same formula).
    /// </summary>
    internal static float DropoutUniform(ulong seed, ulong index)
    {
        ulong z = seed + (index + 1) * 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        z ^= z >> 31;
        return (z >> 40) * (1f / (1 << 24));
    }
}
