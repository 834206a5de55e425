namespace SerEngine.Optim;

// TODO(stub): Adam with L2 added to the gradient.
/// <summary>Adam as torch.optim.Adam (weight decay as L2 added to the gradient).</summary>
public class Adam(IEnumerable<Tensor> parameters, float lr = 1e-3f, (float Beta1, float Beta2)? betas = null, float eps = 1e-8f, float weightDecay = 0f)
    : Optimizer(parameters, lr)
{
    /// <summary>(β1, β2).</summary>
    public (float Beta1, float Beta2) Betas { get; } = betas ?? (0.9f, 0.999f);

    /// <summary>Denominator term.</summary>
    public float Eps { get; } = eps;

    /// <summary>Weight decay coefficient.</summary>
    public float WeightDecay { get; } = weightDecay;

    /// <summary>The moment buffers and step count of <paramref name="parameter"/>, or null before its first step.</summary>
    public (Tensor ExpAvg, Tensor ExpAvgSq, int Step)? GetState(Tensor parameter) => throw new NotImplementedException();

    /// <inheritdoc/>
    public override void Step() => throw new NotImplementedException();
}

/// <summary>AdamW as torch.optim.AdamW (decoupled weight decay: param *= 1 − lr·wd).</summary>
public sealed class AdamW(IEnumerable<Tensor> parameters, float lr = 1e-3f, (float Beta1, float Beta2)? betas = null, float eps = 1e-8f, float weightDecay = 1e-2f)
    : Adam(parameters, lr, betas, eps, weightDecay);
