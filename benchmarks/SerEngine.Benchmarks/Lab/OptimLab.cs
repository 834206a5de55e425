using SerEngine.Backends;

namespace SerEngine.Benchmarks.Lab;

/// <summary>
/// kernels/optim.cl: adam_step (Adam and AdamW, bias-corrected) and sgd_step (plain, momentum,
/// Nesterov, weight decay), one work-item per parameter, updating param [n] (and m, v or the momentum
/// buffer) in place; adam_step_multi, the same update over a list of tensors, 8 per launch. Both Adam
/// variants are timed on FocusCalibrationNet's 42 parameter tensors, one call each against one list.
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
        int[] model = FocusCalibrationNetSizes.Value;
        int[][] lists = [[1], [7, 33, 1, 4099, 2, 5, 9, 257, 3]]; // one tensor; a full chunk of 8 and one more
        return
        [
            new LabVariant("adam_step",
                [.. sizes.SelectMany(n => new[] { Adam(n, adamw, "AdamW step 10"), Adam(n, adam, "Adam step 1") })],
                [Adam(big, adamw, "AdamW"), AdamEach(model, adamw, "FocusCalibrationNet's")]),
            new LabVariant("adam_step_multi",
                [.. lists.SelectMany(l => new[] { AdamMulti(l, adamw, "AdamW step 10"), AdamMulti(l, adam, "Adam step 1") })],
                [AdamMulti(model, adamw, "FocusCalibrationNet's")]),
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

    /// <summary>The parameter tensor sizes of a default FocusCalibrationNet (4 classes).</summary>
    private static readonly Lazy<int[]> FocusCalibrationNetSizes = new(() =>
    {
        var net = new Models.FocusCalibrationNet(new Models.FocusCalibrationNetConfig(4), new Generator(1), BackendRegistry.Get("cpu-reference"));
        return [.. net.Parameters().Select(p => p.Size)];
    });

    /// <summary>Buffers p{i}, g{i}, m{i}, v{i} [sizes[i]] of a tensor list.</summary>
    private static List<LabBuffer> TensorList(int[] sizes)
    {
        var buffers = new List<LabBuffer>();
        for (int i = 0; i < sizes.Length; i++)
        {
            int n = sizes[i];
            ulong seed = (ulong)(1000 * i + n);
            buffers.Add(LabBuffer.InOut($"p{i}", n, () => LabBuffer.NormalValues(n, seed, 0.1f), Tol));
            buffers.Add(LabBuffer.Normal($"g{i}", n, seed + 1, 0.01f));
            buffers.Add(LabBuffer.InOut($"m{i}", n, () => LabBuffer.NormalValues(n, seed + 2, 0.001f), Tol));
            buffers.Add(LabBuffer.InOut($"v{i}", n, () => [.. LabBuffer.NormalValues(n, seed + 3, 1e-5f).Select(Math.Abs)], Tol));
        }
        return buffers;
    }

    private static LabCase AdamMulti(int[] sizes, AdamStepParams p, string label) => new($"{label} {sizes.Length} tensors, {sizes.Sum()} values",
        TensorList(sizes),
        (b, s) => b.AdamStepMulti([.. sizes.Select((n, i) => new AdamTensors(s[$"p{i}"], s[$"g{i}"], s[$"m{i}"], s[$"v{i}"], n))], p),
        expectKernel: "adam_step_multi");

    private static LabCase AdamEach(int[] sizes, AdamStepParams p, string label) => new($"{label} {sizes.Length} tensors, {sizes.Sum()} values",
        TensorList(sizes),
        (b, s) =>
        {
            for (int i = 0; i < sizes.Length; i++) b.AdamStep(s[$"p{i}"], s[$"g{i}"], s[$"m{i}"], s[$"v{i}"], sizes[i], p);
        },
        expectKernel: "adam_step");

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
