using SerEngine.Autograd;

namespace SerEngine;

// Concatenation along an axis. With outer = product of dims before the axis and inner = product
// after it, input i is `outer` blocks of size[i]·inner copied into the output at a running offset.
// Backward: the same blocks copied back out of dy.
public static partial class Ops
{
    /// <summary>Joins tensors along <paramref name="axis"/>; all other dims must agree.</summary>
    public static Tensor Concat(IReadOnlyList<Tensor> tensors, int axis)
    {
        if (tensors.Count == 0) throw new ArgumentException("concat: no tensors");
        var first = tensors[0];
        var backend = SameBackend("concat", [.. tensors]);
        int ax = first.Shape.NormalizeAxis(axis);
        int total = 0;
        foreach (var t in tensors)
        {
            if (t.Rank != first.Rank || t.DType != first.DType)
                throw new ArgumentException($"concat: {t.DType} {t.Shape} does not match {first.DType} {first.Shape}");
            for (int d = 0; d < t.Rank; d++)
                if (d != ax && t.Shape[d] != first.Shape[d])
                    throw new ArgumentException($"concat along axis {axis}: shapes {first.Shape} and {t.Shape} differ in dimension {d}");
            total += t.Shape[ax];
        }
        int outer = first.Shape.Product(0, ax), inner = first.Shape.Product(ax + 1, first.Rank);
        var y = Tensor.Empty(first.Shape.With(ax, total), first.DType, backend);
        int offset = 0;
        var offsets = new int[tensors.Count];
        for (int i = 0; i < tensors.Count; i++)
        {
            var t = tensors[i];
            offsets[i] = offset;
            int block = t.Shape[ax] * inner;
            backend.CopyBlocks(t.Storage, 0, block, y.Storage, offset, total * inner, block, outer);
            offset += block;
        }
        return Graph.Record("concat", y, [.. tensors], dy =>
        {
            var grads = new Tensor?[tensors.Count];
            for (int i = 0; i < tensors.Count; i++)
            {
                if (!tensors[i].RequiresGrad) continue;
                int block = tensors[i].Shape[ax] * inner;
                var g = NewLike(dy.Backend, tensors[i].Shape);
                dy.Backend.CopyBlocks(dy.Storage, offsets[i], total * inner, g.Storage, 0, block, block, outer);
                grads[i] = g;
            }
            return grads;
        });
    }
}
