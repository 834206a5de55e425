using SerEngine.Autograd;

namespace SerEngine;

// Narrow: the slice [start, start + length) of one axis, copied. Backward: dy placed back into a
// zero tensor of x's shape.
public static partial class Ops
{
    /// <summary>Elements start..start+length−1 along <paramref name="axis"/>.</summary>
    public static Tensor Narrow(Tensor x, int axis, int start, int length)
    {
        int ax = x.Shape.NormalizeAxis(axis);
        int size = x.Shape[ax];
        if (start < 0 || length < 0 || start + length > size)
            throw new ArgumentOutOfRangeException(nameof(start), $"narrow: [{start}, {start + length}) is outside axis {axis} of size {size} in {x.Shape}");
        int outer = x.Shape.Product(0, ax), inner = x.Shape.Product(ax + 1, x.Rank);
        var y = Tensor.Empty(x.Shape.With(ax, length), x.DType, x.Backend);
        x.Backend.CopyBlocks(x.Storage, start * inner, size * inner, y.Storage, 0, length * inner, length * inner, outer);
        return Graph.Record("narrow", y, [x], dy =>
        {
            var dx = Tensor.Zeros(x.Shape, dy.Backend);
            dy.Backend.CopyBlocks(dy.Storage, 0, length * inner, dx.Storage, start * inner, size * inner, length * inner, outer);
            return [dx];
        });
    }
}
