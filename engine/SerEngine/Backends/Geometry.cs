namespace SerEngine.Backends;

/// <summary>
/// Everything a conv2d kernel needs to know. Input x [N, C, H, W], weight w [K, C, R, S],
/// output y [N, K, OutH, OutW]. Padding may differ on each side (top/bottom, left/right).
/// </summary>
public readonly record struct Conv2dGeometry(
    int N, int C, int H, int W,
    int K, int R, int S,
    int StrideH, int StrideW,
    int PadTop, int PadBottom, int PadLeft, int PadRight,
    int DilationH, int DilationW)
{
    /// <summary>Output height: floor((H + padTop + padBottom − dilH·(R−1) − 1) / strideH) + 1.</summary>
    public int OutH => StrideH <= 0 ? 0 : (H + PadTop + PadBottom - DilationH * (R - 1) - 1) / StrideH + 1;

    /// <summary>Output width: floor((W + padLeft + padRight − dilW·(S−1) − 1) / strideW) + 1.</summary>
    public int OutW => StrideW <= 0 ? 0 : (W + PadLeft + PadRight - DilationW * (S - 1) - 1) / StrideW + 1;

    /// <summary>Multiply-adds of the forward pass.</summary>
    public long Macs => (long)N * K * OutH * OutW * C * R * S;
}

/// <summary>
/// Geometry of a 2-D pooling window. Input x [N, C, H, W], output y [N, C, OutH, OutW];
/// padded positions never win a max.
/// </summary>
public readonly record struct Pool2dGeometry(
    int N, int C, int H, int W,
    int KernelH, int KernelW,
    int StrideH, int StrideW,
    int PadH, int PadW)
{
    /// <summary>Output height: floor((H + 2·padH − kH) / strideH) + 1.</summary>
    public int OutH => StrideH <= 0 ? 0 : (H + 2 * PadH - KernelH) / StrideH + 1;

    /// <summary>Output width: floor((W + 2·padW − kW) / strideW) + 1.</summary>
    public int OutW => StrideW <= 0 ? 0 : (W + 2 * PadW - KernelW) / StrideW + 1;
}

/// <summary>Settings of one Adam/AdamW update, exactly as torch.optim defines them.</summary>
/// <param name="Lr">Learning rate.</param>
/// <param name="Beta1">First-moment decay.</param>
/// <param name="Beta2">Second-moment decay.</param>
/// <param name="Eps">Added to the denominator after the bias-corrected square root.</param>
/// <param name="WeightDecay">L2 coefficient (Adam) or decoupled decay (AdamW).</param>
/// <param name="Decoupled">True for AdamW: param *= 1 − lr·wd before the Adam update.</param>
/// <param name="Step">1-based step count used for bias correction.</param>
public readonly record struct AdamStepParams(float Lr, float Beta1, float Beta2, float Eps, float WeightDecay, bool Decoupled, int Step);

/// <summary>Settings of one SGD update, exactly as torch.optim.SGD defines them.</summary>
/// <param name="Lr">Learning rate.</param>
/// <param name="Momentum">Momentum factor (0 = plain SGD).</param>
/// <param name="Dampening">Dampening for momentum.</param>
/// <param name="WeightDecay">L2 coefficient added to the gradient.</param>
/// <param name="Nesterov">Nesterov momentum.</param>
/// <param name="FirstStep">True on the first step: the momentum buffer is set to the gradient.</param>
public readonly record struct SgdStepParams(float Lr, float Momentum, float Dampening, float WeightDecay, bool Nesterov, bool FirstStep);

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
