namespace SerEngine.Backends.Gpu;

// Launch code for kernels/optim.cl: AdamStep and SgdStep, one work-item per parameter. Adam's scalars
// come from AdamScalars.For, as the CPU backends' do, so the kernel repeats the reference's float operations.
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
        var a = AdamScalars.For(p);
        // param, grad, m, v: [n]
        Launch1D(OptimFile, "adam_step", n, param, grad, m, v, n, a.Decoupled ? 1 : 0, a.Decay, a.WeightDecay,
            a.B1, a.OneMinusB1, a.B2, a.OneMinusB2, a.StepSize, a.Bc2Sqrt, a.Eps);
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
