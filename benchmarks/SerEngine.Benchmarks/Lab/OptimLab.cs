using SerEngine.Backends;

namespace SerEngine.Benchmarks.Lab;

/// <summary>
/// kernels/optim.cl: adam_step (Adam and AdamW, bias-corrected) and sgd_step (plain, momentum,
/// Nesterov, weight decay), one work-item per parameter, updating param [n] (and m, v or the momentum
/// buffer) in place.
/// </summary>
public sealed class OptimLab : LabOp
{
    /// <inheritdoc/>
    public override string Name => "optim";

    /// <inheritdoc/>
    public override IReadOnlyList<LabVariant> Variants(bool quick)
    {
        int[] sizes = quick ? [1, 4099] : [1, 7, 4099, 100_003];
        int big = quick ? 1 << 20 : 8_000_000;
        var adamw = new AdamStepParams(1e-3f, 0.9f, 0.999f, 1e-8f, 0.01f, Decoupled: true, Step: 10);
        var adam = new AdamStepParams(3e-3f, 0.8f, 0.99f, 1e-6f, 0.1f, Decoupled: false, Step: 1);
        var momentum = new SgdStepParams(0.01f, 0.9f, 0.1f, 1e-4f, Nesterov: false, FirstStep: false);
        var nesterov = new SgdStepParams(0.05f, 0.9f, 0f, 0f, Nesterov: true, FirstStep: true);
        var plain = new SgdStepParams(0.1f, 0f, 0f, 0.01f, Nesterov: false, FirstStep: false);
        return
        [
            new LabVariant("adam_step",
                [.. sizes.SelectMany(n => new[] { Adam(n, adamw, "AdamW step 10"), Adam(n, adam, "Adam step 1") })],
                [Adam(big, adamw, "AdamW")]),
            new LabVariant("sgd_step",
                [.. sizes.SelectMany(n => new[] { Sgd(n, momentum, "momentum"), Sgd(n, nesterov, "nesterov first"), Sgd(n, plain, "plain") })],
                [Sgd(big, momentum, "momentum")]),
        ];
    }

    // the kernels repeat the reference's float operations; a fused multiply-add (NVRTC) may differ by an ulp
    private const double Tol = 1e-6;

    private static LabCase Adam(int n, AdamStepParams p, string label) => new($"{label} n={n}",
        [
            LabBuffer.InOut("param", n, () => LabBuffer.NormalValues(n, (ulong)n, 0.1f), Tol),
            LabBuffer.Normal("grad", n, (ulong)n + 1, 0.01f),
            LabBuffer.InOut("m", n, () => LabBuffer.NormalValues(n, (ulong)n + 2, 0.001f), Tol),
            LabBuffer.InOut("v", n, () => [.. LabBuffer.NormalValues(n, (ulong)n + 3, 1e-5f).Select(Math.Abs)], Tol),
        ],
        (b, s) => b.AdamStep(s["param"], s["grad"], s["m"], s["v"], n, p), expectKernel: "adam_step");

    private static LabCase Sgd(int n, SgdStepParams p, string label)
    {
        var buffers = new List<LabBuffer>
        {
            LabBuffer.InOut("param", n, () => LabBuffer.NormalValues(n, (ulong)n + 4, 0.1f), Tol),
            LabBuffer.Normal("grad", n, (ulong)n + 5, 0.01f),
        };
        if (p.Momentum != 0f) buffers.Add(LabBuffer.InOut("buf", n, () => LabBuffer.NormalValues(n, (ulong)n + 6, 0.01f), Tol));
        return new LabCase($"{label} n={n}", buffers,
            (b, s) => b.SgdStep(s["param"], s["grad"], p.Momentum != 0f ? s["buf"] : null, n, p), expectKernel: "sgd_step");
    }
}
