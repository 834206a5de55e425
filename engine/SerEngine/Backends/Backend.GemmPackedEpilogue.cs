namespace SerEngine.Backends;

// GemmPackedA with the elementwise step that follows it in an eval forward done on each row of C as it is
// finished, so a backend can run it inside the product's own parallel tasks instead of as separate primitives
// (FocusCalibrationAttention.Inference.cs: the token means of Q beside the Q/K/V projection, the focus context cᵀ = tanh(Wfq·Qᵀ + bias), and the network's
// residual, ReLU and mean over the tokens after the output projection). Legend: N items, m rows of the packed
// A (weights), k its depth, n columns of B and C (tokens). Items of B lie strideB apart, items of C, the residual
// and the means back to back. The defaults compose GemmPackedA with the primitives the unfused path used
// (Unary Tanh; CopyBlocks, SumTo, Unary Scale; Binary Add, Unary Relu, SumTo, Unary Scale), so every backend runs them with that path's bits;
// the fast CPU backend does the step in the product's tasks (CpuFast.GemmPackedEpilogue.cs).
public abstract partial class Backend
{
    /// <summary>
    /// C_item [m, n] = tanh(A · B_item + rowBias) for every item (A packed by <see cref="PackGemmA"/>, B_item [k, n]
    /// at item·<paramref name="strideB"/>, rowBias [m] optional, C items back to back).
    /// </summary>
    public virtual void GemmPackedATanh(PackedGemmA a, int batch, int n, Storage b, int strideB, Storage c, Storage? rowBias)
    {
        GemmPackedA(a, false, batch, n, 1f, b, strideB, 0f, c, a.Rows * n, rowBias);
        Unary(UnaryOp.Tanh, c, c, batch * a.Rows * n, 0f);
    }

    /// <summary>
    /// C_item [m, n] = A · B_item + rowBias and means_item [meanRows] = the means over the n columns of C_item's first
    /// <paramref name="meanRows"/> rows, for every item (C items back to back, means [N, meanRows]).
    /// </summary>
    public virtual void GemmPackedARowMeans(PackedGemmA a, int batch, int n, Storage b, int strideB, Storage c, Storage? rowBias,
        Storage means, int meanRows)
    {
        int m = a.Rows;
        if (meanRows < 0 || meanRows > m) throw new ArgumentOutOfRangeException(nameof(meanRows), meanRows, $"gemm: row means of 0..{m} rows");
        GemmPackedA(a, false, batch, n, 1f, b, strideB, 0f, c, m * n, rowBias);
        if (meanRows == 0 || batch <= 0) return;
        using var first = Allocate(batch * meanRows * n, DType.Float32);       // [N, meanRows, n]
        CopyBlocks(c, 0, m * n, first, 0, meanRows * n, meanRows * n, batch);
        SumTo(first, new Shape(batch, meanRows, n), means, new Shape(batch, meanRows, 1));
        if (n != 1) Unary(UnaryOp.Scale, means, means, batch * meanRows, 1f / n);
    }

    /// <summary>
    /// means_item [m] = mean over the n columns of ReLU(residual_item + A · B_item + rowBias) for every item; c [N, m, n]
    /// receives A · B + rowBias (scratch to the caller), residual [N, m, n], rowBias [m] optional, means [N, m].
    /// </summary>
    public virtual void GemmPackedAResidualReluMean(PackedGemmA a, int batch, int n, Storage b, int strideB, Storage c, Storage? rowBias,
        Storage residual, Storage means)
    {
        int m = a.Rows;
        GemmPackedA(a, false, batch, n, 1f, b, strideB, 0f, c, m * n, rowBias);
        var shape = new Shape(batch, m, n);
        Binary(BinaryOp.Add, residual, shape, c, shape, c, shape);
        Unary(UnaryOp.Relu, c, c, batch * m * n, 0f);
        SumTo(c, shape, means, new Shape(batch, m, 1));
        if (n != 1) Unary(UnaryOp.Scale, means, means, batch * m, 1f / n);
    }
}
