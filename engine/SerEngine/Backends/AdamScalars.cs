namespace SerEngine.Backends;

/// <summary>
/// The float scalars of one Adam/AdamW update, formed once from <see cref="AdamStepParams"/> for every
/// backend (cpu-reference, cpu, the GPU launch), so their updates repeat the same float operations.
/// They are computed in double, as torch.optim does in Python, then rounded to float.
/// </summary>
/// <param name="Decay">1 − lr·wd: AdamW's decoupled decay factor.</param>
/// <param name="WeightDecay">wd: AdamW's decay, or Adam's L2 coefficient added to the gradient.</param>
/// <param name="B1">β1.</param>
/// <param name="OneMinusB1">1 − β1.</param>
/// <param name="B2">β2.</param>
/// <param name="OneMinusB2">1 − β2.</param>
/// <param name="StepSize">lr / (1 − β1^t): the first bias correction folded into the learning rate.</param>
/// <param name="Bc2Sqrt">√(1 − β2^t): the second bias correction, divided out of √v.</param>
/// <param name="Eps">Added to the denominator after the bias-corrected square root.</param>
/// <param name="Decoupled">True for AdamW.</param>
public readonly record struct AdamScalars(float Decay, float WeightDecay, float B1, float OneMinusB1, float B2, float OneMinusB2,
    float StepSize, float Bc2Sqrt, float Eps, bool Decoupled)
{
    /// <summary>
    /// The scalars of the update <paramref name="p"/>; each update then runs, in float:
    /// AdamW <c>w *= Decay</c> or Adam <c>g += WeightDecay·w</c>; <c>m = m·B1 + OneMinusB1·g</c>;
    /// <c>v = v·B2 + OneMinusB2·g·g</c>; <c>w −= StepSize·(m / (√v / Bc2Sqrt + Eps))</c>.
    /// </summary>
    public static AdamScalars For(in AdamStepParams p)
    {
        double beta1 = p.Beta1, beta2 = p.Beta2;
        return new AdamScalars(
            Decay: (float)(1.0 - (double)p.Lr * p.WeightDecay),
            WeightDecay: p.WeightDecay,
            B1: (float)beta1,
            OneMinusB1: (float)(1.0 - beta1),
            B2: (float)beta2,
            OneMinusB2: (float)(1.0 - beta2),
            StepSize: (float)(p.Lr / (1.0 - Math.Pow(beta1, p.Step))),
            Bc2Sqrt: (float)Math.Sqrt(1.0 - Math.Pow(beta2, p.Step)),
            Eps: p.Eps,
            Decoupled: p.Decoupled);
    }
}
