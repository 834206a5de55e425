using SerEngine.Autograd;

namespace SerEngine;

// Sum and mean over axes. Forward: SumTo into the kept-dims shape (then view without the axes
// unless keepDim). Backward: broadcast dy back up to x's shape (scaled by 1/count for the mean).
public static partial class Ops
{
    /// <summary>Sum of every element, shape [].</summary>
    public static Tensor Sum(Tensor x) => Sum(x, [.. Enumerable.Range(0, x.Rank)], keepDim: false);

    /// <summary>Sum over <paramref name="axes"/> (negative axes count from the end).</summary>
    public static Tensor Sum(Tensor x, int[] axes, bool keepDim = false) => Reduce("sum", x, axes, keepDim, mean: false);

    /// <summary>Mean of every element, shape [].</summary>
    public static Tensor Mean(Tensor x) => Mean(x, [.. Enumerable.Range(0, x.Rank)], keepDim: false);

    /// <summary>Mean over <paramref name="axes"/> (negative axes count from the end).</summary>
    public static Tensor Mean(Tensor x, int[] axes, bool keepDim = false) => Reduce("mean", x, axes, keepDim, mean: true);

    private static Tensor Reduce(string name, Tensor x, int[] axes, bool keepDim, bool mean)
    {
        RequireFloat(name, x, "x");
        var reduced = new bool[x.Rank];
        foreach (var a in axes)
        {
            int n = x.Shape.NormalizeAxis(a);
            if (reduced[n]) throw new ArgumentException($"{name}: axis {a} given twice for shape {x.Shape}");
            reduced[n] = true;
        }
        var keptDims = new int[x.Rank];
        var outDims = new List<int>();
        int count = 1;
        for (int i = 0; i < x.Rank; i++)
        {
            keptDims[i] = reduced[i] ? 1 : x.Shape[i];
            if (reduced[i]) count *= x.Shape[i];
            if (!reduced[i] || keepDim) outDims.Add(keptDims[i]);
        }
        var kept = new Shape(keptDims);
        var outShape = new Shape([.. outDims]);
        var backend = x.Backend;
        var y = NewLike(backend, outShape);
        backend.SumTo(x.Storage, x.Shape, y.Storage, kept);
        if (mean && count != 1) backend.Unary(Backends.UnaryOp.Scale, y.Storage, y.Storage, y.Size, 1f / count);
        return Graph.Record(name, y, [x], dy =>
        {
            var dx = NewLike(dy.Backend, x.Shape);
            dy.Backend.BroadcastTo(dy.Storage, kept, dx.Storage, x.Shape);
            if (mean && count != 1) dy.Backend.Unary(Backends.UnaryOp.Scale, dx.Storage, dx.Storage, dx.Size, 1f / count);
            return [dx];
        });
    }
}
