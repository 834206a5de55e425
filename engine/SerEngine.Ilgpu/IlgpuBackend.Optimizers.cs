using ILGPU;
using ILGPU.Runtime;
using SerEngine.Backends;
using SerEngine.Backends.Gpu;
using SerEngine.Ilgpu.Kernels;

namespace SerEngine.Ilgpu;

// Launch code for Kernels/OptimKernels.cs: AdamStep (scalars from AdamScalars.For, as every backend) and SgdStep.
public sealed partial class IlgpuBackend
{
    private Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, AdamArgs>? _adamStep;
    private Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, SgdArgs>? _sgdStep;

    /// <inheritdoc/>
    public override void AdamStep(Storage param, Storage grad, Storage m, Storage v, int n, in AdamStepParams p)
    {
        GpuBackend.CheckCount(n, "AdamStep", nameof(n));
        GpuBackend.CheckBuffer(param, n, DType.Float32, "AdamStep", nameof(param));
        GpuBackend.CheckBuffer(grad, n, DType.Float32, "AdamStep", nameof(grad));
        GpuBackend.CheckBuffer(m, n, DType.Float32, "AdamStep", nameof(m));
        GpuBackend.CheckBuffer(v, n, DType.Float32, "AdamStep", nameof(v));
        if (n == 0) return;
        var s = AdamScalars.For(p);
        var args = new AdamArgs(n, s.Decoupled ? 1 : 0, s.Decay, s.WeightDecay, s.B1, s.OneMinusB1, s.B2, s.OneMinusB2, s.StepSize, s.Bc2Sqrt, s.Eps);
        ArrayView<float> pv = F(param), gv = F(grad), mv = F(m), vv = F(v); // [n]
        Run(ref _adamStep, a => a.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, AdamArgs>(OptimKernels.Adam),
            k => k(Config1D(n), pv, gv, mv, vv, args));
    }

    /// <inheritdoc/>
    public override void SgdStep(Storage param, Storage grad, Storage? momentumBuffer, int n, in SgdStepParams p)
    {
        GpuBackend.CheckCount(n, "SgdStep", nameof(n));
        if (p.Momentum != 0f && momentumBuffer is null)
            throw new ArgumentException("SgdStep: momentum ≠ 0 needs a momentum buffer", nameof(momentumBuffer));
        GpuBackend.CheckBuffer(param, n, DType.Float32, "SgdStep", nameof(param));
        GpuBackend.CheckBuffer(grad, n, DType.Float32, "SgdStep", nameof(grad));
        if (momentumBuffer is not null) GpuBackend.CheckBuffer(momentumBuffer, n, DType.Float32, "SgdStep", nameof(momentumBuffer));
        if (n == 0) return;
        var args = new SgdArgs(n, p.Lr, p.Momentum, (float)(1.0 - p.Dampening), p.WeightDecay, p.Nesterov ? 1 : 0, p.FirstStep ? 1 : 0);
        ArrayView<float> pv = F(param), gv = F(grad), bv = momentumBuffer is null ? gv : F(momentumBuffer); // [n]; grad stands in for a missing buffer
        Run(ref _sgdStep, a => a.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, SgdArgs>(OptimKernels.Sgd),
            k => k(Config1D(n), pv, gv, bv, args));
    }
}
