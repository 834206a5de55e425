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

    /// <summary>
    /// a + b (broadcasting) written into <paramref name="into"/>, whose shape must be the broadcast shape; returns it.
    /// No autograd node is recorded (see <see cref="Mul(Tensor, Tensor, Tensor)"/>).
    /// </summary>
    public static Tensor Add(Tensor a, Tensor b, Tensor into) => BinaryInto(BinaryOp.Add, a, b, into);

    /// <summary>
    /// a · b elementwise (broadcasting) written into <paramref name="into"/>, whose shape must be the broadcast shape of a and b
    /// (it may be a or b itself); returns it. For buffers kept between calls (an inference workspace): no new tensor, and no
    /// autograd node, so it throws when gradients are tracked and a or b requires one.
    /// </summary>
    /// <exception cref="ArgumentException">The shapes do not broadcast to into's shape, or into is not Float32 on the inputs' backend.</exception>
    /// <exception cref="InvalidOperationException">Gradient tracking is on and an input requires a gradient.</exception>
    public static Tensor Mul(Tensor a, Tensor b, Tensor into) => BinaryInto(BinaryOp.Mul, a, b, into);

    private static Tensor BinaryInto(BinaryOp op, Tensor a, Tensor b, Tensor into)
    {
        if (!ReferenceEquals(a.Backend, b.Backend)) SameBackend(op.ToString().ToLowerInvariant(), a, b); // (throws; the array only on failure)
        RequireFloat("binary", a, "a");
        RequireFloat("binary", b, "b");
        RequireInto("binary", a.Backend, into, a, b);
        if (!IsBroadcastOf(into.Shape, a.Shape, b.Shape))
            throw new ArgumentException($"{op.ToString().ToLowerInvariant()}: into {into.Shape} is not the broadcast shape of {a.Shape} and {b.Shape}");
        a.Backend.Binary(op, a.Storage, a.Shape, b.Storage, b.Shape, into.Storage, into.Shape);
        return into;
    }

    /// <summary>Whether <paramref name="y"/> is exactly Shape.Broadcast(a, b) (checked without building it).</summary>
    private static bool IsBroadcastOf(Shape y, Shape a, Shape b)
    {
        if (y.Rank != Math.Max(a.Rank, b.Rank)) return false;
        for (int i = 0; i < y.Rank; i++)
        {
            int da = i - (y.Rank - a.Rank) >= 0 ? a[i - (y.Rank - a.Rank)] : 1;
            int db = i - (y.Rank - b.Rank) >= 0 ? b[i - (y.Rank - b.Rank)] : 1;
            if (da != db && da != 1 && db != 1) return false;
            if (y[i] != (da == 1 ? db : da)) return false;
        }
        return true;
    }

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
