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

    private static Tensor Unary(UnaryOp op, Tensor x, float alpha = 0f)
    {
        string name = op.ToString().ToLowerInvariant();
        RequireFloat(name, x, "x");
        var y = NewLike(x.Backend, x.Shape);
        x.Backend.Unary(op, x.Storage, y.Storage, x.Size, alpha);
        return Graph.Record(name, y, [x], dy =>
        {
            var dx = NewLike(dy.Backend, x.Shape);
            dy.Backend.UnaryBackward(op, x.Storage, y.Storage, dy.Storage, dx.Storage, x.Size, alpha);
            return [dx];
        });
    }
}
