namespace SerEngine.Backends;

// The forward of a linear layer as one primitive, y [M, out] = x [M, in] · wᵀ + b, so that a backend can add
// the bias as its GEMM stores each block of y (while the block is in cache) instead of in a second pass over y.
// The default is the two primitives Ops.Linear ran before: Gemm, then a broadcast Binary add of b.
// LinearForwardMany runs several layers on the same x (attention's query, key and value projections), so that a
// backend can prepare x for its GEMM once for all of them; the default runs LinearForward for each.
// LinearBackwardInputAdd lets a backend add a layer's dx into the gradient x already has (x feeding several layers and
// a residual) as its GEMM stores, instead of a product then a Binary add over dx.
public abstract partial class Backend
{
    /// <summary>
    /// y [m, outF] = x [m, inF] · w [outF, inF]ᵀ, then y[i, j] = y[i, j] + b[j] when <paramref name="bias"/> is given:
    /// the product is exactly <see cref="Gemm"/>'s and the bias one float add per element, as a separate
    /// <see cref="Binary"/> add gives.
    /// </summary>
    public virtual void LinearForward(Storage x, Storage w, Storage? bias, Storage y, int m, int outF, int inF)
    {
        Gemm(false, true, 1, m, outF, inF, 1f, x, 0, w, 0, 0f, y, 0);
        if (bias is not null)
            Binary(BinaryOp.Add, y, new Shape(m, outF), bias, new Shape(1, outF), y, new Shape(m, outF));
    }

    /// <summary>
    /// dx [m, inF] = dx + dy [m, outF] · w [outF, inF], in one pass, when this backend can make every element exactly the
    /// float add of <see cref="Gemm"/>'s product to dx (as a separate product then a <see cref="Binary"/> add give): returns
    /// true, or false and leaves dx alone (the default: the caller then runs the product and the add).
    /// </summary>
    public virtual bool LinearBackwardInputAdd(Storage dy, Storage w, Storage dx, int m, int outF, int inF) => false;

    /// <summary>
    /// y_l [m, outF] = x [m, inF] · w_l [outF, inF]ᵀ + b_l for every layer l: each exactly <see cref="LinearForward"/>
    /// of that layer, in order (a backend may share the work on x among them, never the arithmetic).
    /// </summary>
    public virtual void LinearForwardMany(Storage x, IReadOnlyList<Storage> weights, IReadOnlyList<Storage?> biases, IReadOnlyList<Storage> ys, int m, int outF, int inF)
    {
        for (int l = 0; l < weights.Count; l++) LinearForward(x, weights[l], biases[l], ys[l], m, outF, inF);
    }
}
