namespace SerEngine.Backends.Gpu;

// Launch code for kernels/optim.cl: AdamStep and SgdStep, one work-item per parameter. The scalars
// are formed here exactly as the CPU reference forms them (in double where it uses double, then
// rounded to float), so the kernel repeats the reference's float operations.
public abstract partial class GpuBackend
{
    private const string OptimFile = "optim.cl";

    /// <inheritdoc/>
    public override void AdamStep(Storage param, Storage grad, Storage m, Storage v, int n, in AdamStepParams p)
    {
        CheckCount(n, "AdamStep", nameof(n));
        CheckBuffer(param, n, DType.Float32, "AdamStep", nameof(param));
        CheckBuffer(grad, n, DType.Float32, "AdamStep", nameof(grad));
        CheckBuffer(m, n, DType.Float32, "AdamStep", nameof(m));
        CheckBuffer(v, n, DType.Float32, "AdamStep", nameof(v));
        double beta1 = p.Beta1, beta2 = p.Beta2;
        float decay = (float)(1.0 - (double)p.Lr * p.WeightDecay);
        float b1 = (float)beta1, oneMinusB1 = (float)(1.0 - beta1);
        float b2 = (float)beta2, oneMinusB2 = (float)(1.0 - beta2);
        double biasCorrection1 = 1.0 - Math.Pow(beta1, p.Step);
        double biasCorrection2 = 1.0 - Math.Pow(beta2, p.Step);
        float stepSize = (float)(p.Lr / biasCorrection1);
        float bc2Sqrt = (float)Math.Sqrt(biasCorrection2);
        // param, grad, m, v: [n]
        Launch1D(OptimFile, "adam_step", n, param, grad, m, v, n, p.Decoupled ? 1 : 0, decay, p.WeightDecay,
            b1, oneMinusB1, b2, oneMinusB2, stepSize, bc2Sqrt, p.Eps);
    }

    /// <inheritdoc/>
    public override void SgdStep(Storage param, Storage grad, Storage? momentumBuffer, int n, in SgdStepParams p)
    {
        CheckCount(n, "SgdStep", nameof(n));
        if (p.Momentum != 0f && momentumBuffer is null)
            throw new ArgumentException("SgdStep: momentum ≠ 0 needs a momentum buffer", nameof(momentumBuffer));
        CheckBuffer(param, n, DType.Float32, "SgdStep", nameof(param));
        CheckBuffer(grad, n, DType.Float32, "SgdStep", nameof(grad));
        if (momentumBuffer is not null) CheckBuffer(momentumBuffer, n, DType.Float32, "SgdStep", nameof(momentumBuffer));
        float oneMinusDampening = (float)(1.0 - p.Dampening);
        // param, grad, momentumBuffer: [n] (grad stands in for a missing momentum buffer, never read)
        Launch1D(OptimFile, "sgd_step", n, param, grad, momentumBuffer ?? grad, n,
            p.Lr, p.Momentum, oneMinusDampening, p.WeightDecay, p.Nesterov ? 1 : 0, p.FirstStep ? 1 : 0);
    }
}
