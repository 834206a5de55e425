namespace SerEngine.Bench;

/// <summary>Every case of shared/docs/BENCH_CASES.md, in its order.</summary>
public static class BenchCases
{
    /// <summary>The cases.</summary>
    public static IReadOnlyList<BenchCase> All { get; } =
    [
        new AttentionFcnTrainStepCase(16, 200, 300),
        new AttentionFcnInferCase(1, 200, 300),
        new FocusCalibrationNetTrainStepCase(32, 26, 63),
        new FocusCalibrationNetInferCase(1, 26, 63),
        new Conv2dCase(true, 16, 64, 24, 36, 5, 192),
        new Conv2dCase(false, 16, 64, 24, 36, 5, 192),
        new BiasedSoftmaxCase(32, 4, 128, 100),
        new AudioCase("mfcc", 60),
        new AudioCase("melspec", 60),
        new AudioCase("spectrogram", 60),
        new SgemmCase(1024),
    ];

    /// <summary>
    /// Machine probes (no PyTorch peer, not in <c>--case all</c>): the FMA peak and the memory bandwidth the cases are
    /// measured against, and the GEMM tile kernel alone (sgemm.1024's ceiling on a core with its operands in L1).
    /// </summary>
    public static IReadOnlyList<BenchCase> Probes { get; } =
        [new FmaPeakCase(512), new FmaPeakCase(256), new StreamTriadCase(256), new GemmTileCase(512), new GemmTileCase(256)];

    /// <summary>
    /// The case called <paramref name="name"/>, or null. A model case may name other sizes than the
    /// listed ones (<c>attention_fcn.train_step.b2.40x60</c>), for quick runs on slow devices; the
    /// attention kernel case is found by name too (<c>attention.fwd_bwd.32x4x15x64</c>, <see cref="AttentionCase"/>), and so are conv2d cases
    /// of other shapes (<c>conv2d.fwd.32x16x25x62.k3x32</c>, FocusCalibrationNet's conv2; <see cref="Conv2dCase.Parse"/>), and the
    /// GEMM tile probe at other row strides (<c>gemm.tile.v512.lda260</c>, <see cref="GemmTileCase.Parse"/>).
    /// </summary>
    public static BenchCase? Find(string name) => All.Concat(Probes).FirstOrDefault(c => c.Name == name) ?? SizedModelCase(name) ?? (BenchCase?)AttentionCase.Parse(name) ?? (BenchCase?)Conv2dCase.Parse(name)
        ?? GemmTileCase.Parse(name);

    private static BenchCase? SizedModelCase(string name)
    {
        var m = System.Text.RegularExpressions.Regex.Match(name, @"^(attention_fcn|focus_calibration_net)\.(train_step|scratch_step|infer)\.b([1-9]\d{0,3})\.([1-9]\d{0,3})x([1-9]\d{0,4})$");
        if (!m.Success) return null;
        int n = int.Parse(m.Groups[3].Value, System.Globalization.CultureInfo.InvariantCulture);
        int f = int.Parse(m.Groups[4].Value, System.Globalization.CultureInfo.InvariantCulture);
        int t = int.Parse(m.Groups[5].Value, System.Globalization.CultureInfo.InvariantCulture);
        return (m.Groups[1].Value, m.Groups[2].Value) switch
        {
            ("attention_fcn", "train_step") => new AttentionFcnTrainStepCase(n, f, t),
            ("attention_fcn", "scratch_step") => new AttentionFcnScratchStepCase(n, f, t),
            ("attention_fcn", _) => new AttentionFcnInferCase(n, f, t),
            ("focus_calibration_net", "train_step") => new FocusCalibrationNetTrainStepCase(n, f, t),
            ("focus_calibration_net", "scratch_step") => null, // the scratch recipe is AttentionFcn's
            _ => new FocusCalibrationNetInferCase(n, f, t),
        };
    }
}
