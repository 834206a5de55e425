namespace SerEngine;

// Operator and method sugar over Ops, in PyTorch's spelling.
public sealed partial class Tensor
{
    /// <summary>a + b.</summary>
    public static Tensor operator +(Tensor a, Tensor b) => Ops.Add(a, b);

    /// <summary>a − b.</summary>
    public static Tensor operator -(Tensor a, Tensor b) => Ops.Sub(a, b);

    /// <summary>a · b (elementwise).</summary>
    public static Tensor operator *(Tensor a, Tensor b) => Ops.Mul(a, b);

    /// <summary>a / b (elementwise).</summary>
    public static Tensor operator /(Tensor a, Tensor b) => Ops.Div(a, b);

    /// <summary>−a.</summary>
    public static Tensor operator -(Tensor a) => Ops.Neg(a);

    /// <summary>a + s.</summary>
    public static Tensor operator +(Tensor a, float s) => Ops.AddScalar(a, s);

    /// <summary>a − s.</summary>
    public static Tensor operator -(Tensor a, float s) => Ops.AddScalar(a, -s);

    /// <summary>a · s.</summary>
    public static Tensor operator *(Tensor a, float s) => Ops.Scale(a, s);

    /// <summary>s · a.</summary>
    public static Tensor operator *(float s, Tensor a) => Ops.Scale(a, s);

    /// <summary>a / s.</summary>
    public static Tensor operator /(Tensor a, float s) => Ops.Scale(a, 1f / s);

    /// <summary>Matrix product (see <see cref="Ops.MatMul"/>).</summary>
    public Tensor MatMul(Tensor other) => Ops.MatMul(this, other);

    /// <summary>Same data, new shape (one dim may be −1).</summary>
    public Tensor Reshape(params int[] dims) => Ops.Reshape(this, dims);

    /// <summary>Reorders axes.</summary>
    public Tensor Permute(params int[] perm) => Ops.Permute(this, perm);

    /// <summary>Swaps two axes.</summary>
    public Tensor Transpose(int axis0, int axis1) => Ops.Transpose(this, axis0, axis1);

    /// <summary>Sum of all elements.</summary>
    public Tensor Sum() => Ops.Sum(this);

    /// <summary>Sum over axes.</summary>
    public Tensor Sum(int[] axes, bool keepDim = false) => Ops.Sum(this, axes, keepDim);

    /// <summary>Mean of all elements.</summary>
    public Tensor Mean() => Ops.Mean(this);

    /// <summary>Mean over axes.</summary>
    public Tensor Mean(int[] axes, bool keepDim = false) => Ops.Mean(this, axes, keepDim);

    /// <summary>max(x, 0).</summary>
    public Tensor Relu() => Ops.Relu(this);

    /// <summary>tanh(x).</summary>
    public Tensor Tanh() => Ops.Tanh(this);

    /// <summary>sigmoid(x).</summary>
    public Tensor Sigmoid() => Ops.Sigmoid(this);

    /// <summary>e^x.</summary>
    public Tensor Exp() => Ops.Exp(this);

    /// <summary>ln x.</summary>
    public Tensor Log() => Ops.Log(this);
}
