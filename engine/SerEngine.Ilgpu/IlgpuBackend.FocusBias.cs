using ILGPU;
using ILGPU.Runtime;
using SerEngine.Backends;
using SerEngine.Backends.Gpu;
using SerEngine.Ilgpu.Kernels;

namespace SerEngine.Ilgpu;

// Launch code for Kernels/FocusBiasKernels.cs (the dialect's focus_bias.cl).
public sealed partial class IlgpuBackend
{
    private Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int>? _focusBiasForward;
    private Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, int, int>? _focusBiasBackward;

    /// <inheritdoc/>
    public override void FocusBiasForward(Storage centres, Storage widths, Storage bias, int rows, int t)
    {
        GpuBackend.CheckFocusBias("FocusBiasForward", centres, widths, bias, rows, t);
        if ((long)rows * t == 0) return;
        ArrayView<float> pv = F(centres), wv = F(widths), bv = F(bias); // [rows], [rows], [rows, t]
        Run(ref _focusBiasForward, a => a.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int>(FocusBiasKernels.Forward),
            k => k(Config1D((long)rows * t), pv, wv, bv, rows, t));
    }

    /// <inheritdoc/>
    public override void FocusBiasBackward(Storage centres, Storage widths, Storage dBias, Storage? dCentres, Storage? dWidths, int rows, int t)
    {
        GpuBackend.CheckFocusBias("FocusBiasBackward", centres, widths, dBias, rows, t);
        if (dCentres is not null) GpuBackend.CheckBuffer(dCentres, rows, DType.Float32, "FocusBiasBackward", nameof(dCentres));
        if (dWidths is not null) GpuBackend.CheckBuffer(dWidths, rows, DType.Float32, "FocusBiasBackward", nameof(dWidths));
        if (rows == 0 || (dCentres is null && dWidths is null)) return;
        ArrayView<float> pv = F(centres), wv = F(widths), gv = F(dBias); // [rows], [rows], [rows, t]
        ArrayView<float> dp = dCentres is null ? pv : F(dCentres), dw = dWidths is null ? pv : F(dWidths); // [rows]; centres stands in, never written
        Run(ref _focusBiasBackward, a => a.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, int, int>(FocusBiasKernels.Backward),
            k => k(Config1D(rows), pv, wv, gv, dp, dw, rows, t, dCentres is null ? 0 : 1, dWidths is null ? 0 : 1));
    }
}
