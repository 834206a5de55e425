namespace SerEngine.Backends;

/// <summary>Elementwise binary operations with broadcasting.</summary>
public enum BinaryOp
{
    /// <summary>a + b</summary>
    Add,
    /// <summary>a − b</summary>
    Sub,
    /// <summary>a · b</summary>
    Mul,
    /// <summary>a / b</summary>
    Div,
}

/// <summary>Elementwise unary operations; <c>alpha</c> is the scalar some of them take.</summary>
public enum UnaryOp
{
    /// <summary>−x</summary>
    Neg,
    /// <summary>max(x, 0)</summary>
    Relu,
    /// <summary>tanh(x)</summary>
    Tanh,
    /// <summary>1 / (1 + e^−x)</summary>
    Sigmoid,
    /// <summary>e^x</summary>
    Exp,
    /// <summary>ln x</summary>
    Log,
    /// <summary>alpha · x</summary>
    Scale,
    /// <summary>x + alpha</summary>
    AddScalar,
    /// <summary>x²</summary>
    Square,
    /// <summary>√x</summary>
    Sqrt,
}
