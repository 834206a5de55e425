using SerEngine.Autograd;

namespace SerEngine;

// Permute: y.shape[i] = x.shape[perm[i]], materialised (tensors stay contiguous).
// Backward: permute dy by the inverse permutation.
public static partial class Ops
{
    /// <summary>Reorders axes; <paramref name="perm"/> is a permutation of 0..rank−1.</summary>
    public static Tensor Permute(Tensor x, params int[] perm)
    {
        perm = (int[])perm.Clone();
        if (perm.Length != x.Rank) throw new ArgumentException($"permute: {perm.Length} axes given for shape {x.Shape}");
        var seen = new bool[perm.Length];
        var inverse = new int[perm.Length];
        var dims = new int[perm.Length];
        for (int i = 0; i < perm.Length; i++)
        {
            int p = x.Shape.NormalizeAxis(perm[i]);
            if (seen[p]) throw new ArgumentException($"permute: [{string.Join(", ", perm)}] is not a permutation of the axes of {x.Shape}");
            seen[p] = true;
            inverse[p] = i;
            dims[i] = x.Shape[p];
            perm[i] = p;
        }
        var y = Tensor.Empty(new Shape(dims), x.DType, x.Backend);
        x.Backend.Permute(x.Storage, x.Shape, perm, y.Storage);
        return Graph.Record("permute", y, [x], dy =>
        {
            var dx = NewLike(dy.Backend, x.Shape);
            dy.Backend.Permute(dy.Storage, dy.Shape, inverse, dx.Storage);
            return [dx];
        });
    }

    /// <summary>Swaps two axes.</summary>
    public static Tensor Transpose(Tensor x, int axis0, int axis1)
    {
        var perm = Enumerable.Range(0, x.Rank).ToArray();
        int a = x.Shape.NormalizeAxis(axis0), b = x.Shape.NormalizeAxis(axis1);
        (perm[a], perm[b]) = (perm[b], perm[a]);
        return Permute(x, perm);
    }
}
