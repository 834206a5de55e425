using SerEngine.Backends;

namespace SerEngine.Benchmarks.Lab;

/// <summary>
/// kernels/focus_bias.cl: FocusCalibrationNet's focus bias, forward (bias [R, T] = −2 (j − P_r)² / W_r²,
/// one work-item per element) and backward (dP, dW [R] from dBias, one work-item per row), on one key,
/// odd key counts and the model's training step (batch 32, 4 heads, 15 queries and keys).
/// </summary>
public sealed class FocusBiasLab : LabOp
{
    /// <inheritdoc/>
    public override string Name => "focusbias";

    /// <inheritdoc/>
    public override IReadOnlyList<LabVariant> Variants(bool quick)
    {
        (int Rows, int T)[] checks = [(1, 1), (7, 15), (5, 33), (1920, 15)];
        (int Rows, int T) step = quick ? (1920, 15) : (32 * 4 * 15, 15);
        return
        [
            new LabVariant("focus_bias",
                [.. checks.SelectMany(c => new[] { Forward(c.Rows, c.T), Backward(c.Rows, c.T) })],
                [Forward(step.Rows, step.T), Backward(step.Rows, step.T)]),
        ];
    }

    // centres in [0, T), widths in (0.5, T + 0.5): the model's T·sigmoid ranges
    private static LabBuffer Centres(int rows, int t) =>
        LabBuffer.Floats("centres", rows, () => [.. LabBuffer.NormalValues(rows, (ulong)(rows + t)).Select(z => t / (1f + MathF.Exp(-z)))]);

    private static LabBuffer Widths(int rows, int t) =>
        LabBuffer.Floats("widths", rows, () => [.. LabBuffer.NormalValues(rows, (ulong)(3 * rows + t)).Select(z => 0.5f + t / (1f + MathF.Exp(-z)))]);

    private static LabCase Forward(int rows, int t) => new($"fwd [{rows}, {t}]",
        [Centres(rows, t), Widths(rows, t), LabBuffer.Output("bias", rows * t, 1e-6)],
        (b, s) => b.FocusBiasForward(s["centres"], s["widths"], s["bias"], rows, t), expectKernel: "focus_bias_forward");

    private static LabCase Backward(int rows, int t) => new($"bwd [{rows}, {t}]",
        [Centres(rows, t), Widths(rows, t), LabBuffer.Normal("dBias", rows * t, (ulong)(7 * rows + t)),
         LabBuffer.Output("dCentres", rows, 1e-4), LabBuffer.Output("dWidths", rows, 1e-4)],
        (b, s) => b.FocusBiasBackward(s["centres"], s["widths"], s["dBias"], s["dCentres"], s["dWidths"], rows, t), expectKernel: "focus_bias_backward");
}
