using SerEngine.Autograd;
using SerEngine.Backends;

namespace SerEngine;

// Elementwise unary functions: y = f(x), dx = dy · f'(x), with f' taken from x or y (see
// Backend.UnaryBackward). Scale and AddScalar carry their scalar in alpha.
public static partial class Ops
{
    /// <summary>max(x, 0).</summary>
    public static Tensor Relu(Tensor x) => Unary(UnaryOp.Relu, x);

    /// <summary>tanh(x).</summary>
    public static Tensor Tanh(Tensor x) => Unary(UnaryOp.Tanh, x);

    /// <summary>1 / (1 + e^−x).</summary>
    public static Tensor Sigmoid(Tensor x) => Unary(UnaryOp.Sigmoid, x);

    /// <summary>e^x.</summary>
    public static Tensor Exp(Tensor x) => Unary(UnaryOp.Exp, x);

    /// <summary>ln x.</summary>
    public static Tensor Log(Tensor x) => Unary(UnaryOp.Log, x);

    /// <summary>−x.</summary>
    public static Tensor Neg(Tensor x) => Unary(UnaryOp.Neg, x);

    /// <summary>x².</summary>
    public static Tensor Square(Tensor x) => Unary(UnaryOp.Square, x);

    /// <summary>√x.</summary>
    public static Tensor Sqrt(Tensor x) => Unary(UnaryOp.Sqrt, x);

    /// <summary>alpha · x.</summary>
    public static Tensor Scale(Tensor x, float alpha) => Unary(UnaryOp.Scale, x, alpha);

    /// <summary>x + alpha.</summary>
    public static Tensor AddScalar(Tensor x, float alpha) => Unary(UnaryOp.AddScalar, x, alpha);

    /// <summary>
    /// 1 / (1 + e^−x) written into <paramref name="into"/> (x's shape; it may be x itself); returns it. No autograd node:
    /// it throws when gradients are tracked and x requires one (see <see cref="Mul(Tensor, Tensor, Tensor)"/>).
    /// </summary>
    /// <exception cref="ArgumentException">into's shape is not x's, or into is not Float32 on x's backend.</exception>
    /// <exception cref="InvalidOperationException">Gradient tracking is on and x requires a gradient.</exception>
    public static Tensor Sigmoid(Tensor x, Tensor into)
    {
        RequireFloat("sigmoid", x, "x");
        RequireInto("sigmoid", x.Backend, into, x);
        if (into.Shape != x.Shape) throw new ArgumentException($"sigmoid: into {into.Shape} is not x's shape {x.Shape}");
        x.Backend.Unary(UnaryOp.Sigmoid, x.Storage, into.Storage, x.Size, 0f);
        return into;
    }

    private static Tensor Unary(UnaryOp op, Tensor x, float alpha = 0f)
    {
        if (x.DType != DType.Float32) RequireFloat(op.ToString().ToLowerInvariant(), x, "x");
        var y = NewLike(x.Backend, x.Shape);
        x.Backend.Unary(op, x.Storage, y.Storage, x.Size, alpha);
        return Graph.IsGradEnabled ? RecordUnary(op, x, y, alpha) : y; // without tracking: no name, inputs or closure to build
    }

    private static Tensor RecordUnary(UnaryOp op, Tensor x, Tensor y, float alpha)
    {
        return Graph.Record(op.ToString().ToLowerInvariant(), y, [x], dy =>
        {
            var dx = NewLike(dy.Backend, x.Shape);
            dy.Backend.UnaryBackward(op, x.Storage, y.Storage, dy.Storage, dx.Storage, x.Size, alpha);
            return [dx];
        });
    }
}
