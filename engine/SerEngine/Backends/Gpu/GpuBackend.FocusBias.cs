namespace SerEngine.Backends.Gpu;

// Launch code for kernels/focus_bias.cl: the forward one work-item per bias element, the backward one per row.
public abstract partial class GpuBackend
{
    private const string FocusBiasFile = "focus_bias.cl";

    /// <inheritdoc/>
    public override void FocusBiasForward(Storage centres, Storage widths, Storage bias, int rows, int t)
    {
        CheckFocusBias("FocusBiasForward", centres, widths, bias, rows, t);
        // centres, widths: [rows]; bias: [rows, t]
        Launch1D(FocusBiasFile, "focus_bias_forward", (long)rows * t, centres, widths, bias, rows, t);
    }

    /// <inheritdoc/>
    public override void FocusBiasBackward(Storage centres, Storage widths, Storage dBias, Storage? dCentres, Storage? dWidths, int rows, int t)
    {
        CheckFocusBias("FocusBiasBackward", centres, widths, dBias, rows, t);
        if (dCentres is not null) CheckBuffer(dCentres, rows, DType.Float32, "FocusBiasBackward", nameof(dCentres));
        if (dWidths is not null) CheckBuffer(dWidths, rows, DType.Float32, "FocusBiasBackward", nameof(dWidths));
        if (dCentres is null && dWidths is null) return;
        // centres, widths, dCentres, dWidths: [rows]; dBias: [rows, t] (centres stands in for a missing output, never written)
        Launch1D(FocusBiasFile, "focus_bias_backward", rows, centres, widths, dBias, dCentres ?? centres, dWidths ?? centres,
            rows, t, dCentres is null ? 0 : 1, dWidths is null ? 0 : 1);
    }

    /// <summary>The focus bias's sizes and buffers (shared with the ILGPU backend).</summary>
    internal static void CheckFocusBias(string op, Storage centres, Storage widths, Storage bias, int rows, int t)
    {
        CheckCount(rows, op, nameof(rows));
        CheckCount(t, op, nameof(t));
        if ((long)rows * t > int.MaxValue) throw new ArgumentException($"{op}: {rows} rows × {t} keys is more than 2^31 − 1 elements");
        CheckBuffer(centres, rows, DType.Float32, op, nameof(centres));
        CheckBuffer(widths, rows, DType.Float32, op, nameof(widths));
        CheckBuffer(bias, (long)rows * t, DType.Float32, op, "bias");
    }
}
