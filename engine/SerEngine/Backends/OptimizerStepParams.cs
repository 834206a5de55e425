namespace SerEngine.Backends;

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
