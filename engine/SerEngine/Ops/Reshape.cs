using SerEngine.Autograd;

namespace SerEngine;

// Reshape: a view of the same data with another shape (no copy). Backward: reshape dy back.
public static partial class Ops
{
    /// <summary>Same data, new shape; one dimension may be −1 (inferred).</summary>
    public static Tensor Reshape(Tensor x, params int[] dims)
    {
        var shape = InferShape(x.Shape, dims);
        var y = x.View(shape);
        return Graph.Record("reshape", y, [x], dy => [dy.View(x.Shape)]);
    }

    /// <summary>Merges axes <paramref name="start"/>..<paramref name="end"/> (inclusive) into one.</summary>
    public static Tensor Flatten(Tensor x, int start = 0, int end = -1)
    {
        int s = x.Shape.NormalizeAxis(start), e = x.Shape.NormalizeAxis(end);
        if (e < s) throw new ArgumentException($"flatten: end axis {end} is before start axis {start} for shape {x.Shape}");
        var dims = new List<int>();
        for (int i = 0; i < s; i++) dims.Add(x.Shape[i]);
        dims.Add(x.Shape.Product(s, e + 1));
        for (int i = e + 1; i < x.Rank; i++) dims.Add(x.Shape[i]);
        return Reshape(x, [.. dims]);
    }

    private static Shape InferShape(Shape from, int[] dims)
    {
        int infer = -1, known = 1;
        for (int i = 0; i < dims.Length; i++)
        {
            if (dims[i] == -1)
            {
                if (infer >= 0) throw new ArgumentException($"reshape {from} to [{string.Join(", ", dims)}]: only one dimension can be -1");
                infer = i;
            }
            else if (dims[i] < 0) throw new ArgumentException($"reshape {from} to [{string.Join(", ", dims)}]: negative dimension");
            else known *= dims[i];
        }
        var d = (int[])dims.Clone();
        if (infer >= 0)
        {
            if (known == 0 || from.Size % known != 0)
                throw new ArgumentException($"reshape {from} ({from.Size} elements) to [{string.Join(", ", dims)}]: sizes do not divide");
            d[infer] = from.Size / known;
        }
        var shape = new Shape(d);
        if (shape.Size != from.Size)
            throw new ArgumentException($"reshape {from} ({from.Size} elements) to {shape} ({shape.Size} elements): sizes differ");
        return shape;
    }
}
