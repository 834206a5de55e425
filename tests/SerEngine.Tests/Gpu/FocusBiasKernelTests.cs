using SerEngine.Backends;

namespace SerEngine.Tests.Gpu;

/// <summary>
/// kernels/focus_bias.cl (and the ILGPU twin) against the CPU reference: one key, FocusCalibrationNet's
/// 15, odd and longer key counts, one row and a step's 1920 rows; outputs pre-filled with NaN and
/// sentinels after them; the backward with both gradients and with each alone.
/// </summary>
public class FocusBiasKernelTests(ITestOutputHelper output)
{
    private static readonly (int Rows, int T)[] Sizes = [(1, 1), (7, 15), (1, 33), (1920, 15), (5, 130)];

    [Theory]
    [InlineData("opencl")]
    [InlineData("cuda")]
    [InlineData("ilgpu-cpu")]
    [InlineData("ilgpu")]
    public void FocusBiasMatchesReference(string device)
    {
        if (KernelTwin.Device(device, output) is not { } be) return;
        var cpu = KernelTwin.Reference;
        foreach (var (rows, t) in Sizes)
        {
            string what = $"focus bias rows {rows} T {t}";
            // centres anywhere in [0, T), widths in (0.5, T + 0.5): the model's T·sigmoid(·) ranges
            using var centres = KernelTwin.Of(be, [.. KernelTwin.Normal(rows, rows + t).Select(z => t / (1f + MathF.Exp(-z)))]);
            using var widths = KernelTwin.Of(be, [.. KernelTwin.Normal(rows, rows * 3 + t).Select(z => 0.5f + t / (1f + MathF.Exp(-z)))]);
            using var bias = KernelTwin.Output(be, rows * t);
            be.FocusBiasForward(centres.Gpu, widths.Gpu, bias.Gpu, rows, t);
            cpu.FocusBiasForward(centres.Cpu, widths.Cpu, bias.Cpu, rows, t);
            bias.AssertClose(1e-6, 1e-6, what + " bias");

            using var dBias = KernelTwin.Of(be, KernelTwin.Normal(rows * t, rows * 7 + t));
            foreach (var (withP, withW) in new[] { (true, true), (true, false), (false, true) })
            {
                using var dp = KernelTwin.Output(be, rows);
                using var dw = KernelTwin.Output(be, rows);
                be.FocusBiasBackward(centres.Gpu, widths.Gpu, dBias.Gpu, withP ? dp.Gpu : null, withW ? dw.Gpu : null, rows, t);
                cpu.FocusBiasBackward(centres.Cpu, widths.Cpu, dBias.Cpu, withP ? dp.Cpu : null, withW ? dw.Cpu : null, rows, t);
                // the kernels sum T products in float, the reference in double
                dp.AssertClose(1e-4, 1e-5, $"{what} dCentres ({withP}, {withW})");
                dw.AssertClose(1e-4, 1e-5, $"{what} dWidths ({withP}, {withW})");
            }
        }
    }
}
