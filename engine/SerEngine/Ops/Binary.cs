using SerEngine.Autograd;
using SerEngine.Backends;

namespace SerEngine;

// Elementwise add, sub, mul, div with NumPy broadcasting.
// Forward: y = a op b, y.shape = broadcast(a.shape, b.shape).
// Backward: each input's gradient is computed at y's shape, then summed down to the input's shape.
public static partial class Ops
{
    /// <summary>a + b (broadcasting).</summary>
    public static Tensor Add(Tensor a, Tensor b) => Binary(BinaryOp.Add, a, b);

    /// <summary>a − b (broadcasting).</summary>
    public static Tensor Sub(Tensor a, Tensor b) => Binary(BinaryOp.Sub, a, b);

    /// <summary>a · b elementwise (broadcasting).</summary>
    public static Tensor Mul(Tensor a, Tensor b) => Binary(BinaryOp.Mul, a, b);

    /// <summary>a / b elementwise (broadcasting).</summary>
    public static Tensor Div(Tensor a, Tensor b) => Binary(BinaryOp.Div, a, b);

    private static Tensor Binary(BinaryOp op, Tensor a, Tensor b)
    {
        string name = op.ToString().ToLowerInvariant();
        var backend = SameBackend(name, a, b);
        RequireFloat(name, a, "a");
        RequireFloat(name, b, "b");
        var shape = Shape.Broadcast(a.Shape, b.Shape);
        var y = NewLike(backend, shape);
        backend.Binary(op, a.Storage, a.Shape, b.Storage, b.Shape, y.Storage, shape);
        return Graph.Record(name, y, [a, b], dy => BinaryBackward(op, a, b, y, dy));
    }

    private static Tensor?[] BinaryBackward(BinaryOp op, Tensor a, Tensor b, Tensor y, Tensor dy)
    {
        var backend = dy.Backend;
        Tensor? da = null, db = null;
        switch (op)
        {
            case BinaryOp.Add:
                if (a.RequiresGrad) da = ReduceTo(dy, a.Shape);
                if (b.RequiresGrad) db = ReduceTo(dy, b.Shape);
                break;
            case BinaryOp.Sub:
                if (a.RequiresGrad) da = ReduceTo(dy, a.Shape);
                if (b.RequiresGrad) db = ReduceTo(Neg(dy), b.Shape);
                break;
            case BinaryOp.Mul:
                if (a.RequiresGrad) da = ReduceTo(Mul(dy, b), a.Shape); // da = dy · b
                if (b.RequiresGrad) db = ReduceTo(Mul(dy, a), b.Shape); // db = dy · a
                break;
            case BinaryOp.Div:
                if (a.RequiresGrad) da = ReduceTo(Div(dy, b), a.Shape);               // da = dy / b
                if (b.RequiresGrad) db = ReduceTo(Neg(Div(Mul(dy, y), b)), b.Shape);  // db = −dy · y / b
                break;
        }
        _ = backend;
        return [da, db];
    }
}
