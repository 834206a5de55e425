using SerEngine.Audio;
using SerEngine.Backends;

namespace SerEngine.Cli.Bench;

/// <summary>
/// The audio front end on <paramref name="seconds"/> of random normal 16 kHz samples (host code; the
/// backend plays no part): <c>mfcc.60s</c> (Paper B's 26 MFCCs) and <c>melspec.60s.400_160_40</c>
/// (power mel spectrogram, 40 HTK mels, centred with reflect padding) in double precision, and
/// <c>spectrogram.60s.800_640_160</c> (magnitude, Hamming 640 inside n_fft 800, not centred) in
/// single precision with a float32 result, as torch.stft computes it (<see cref="Stft.ComputeSingle"/>).
/// </summary>
/// <param name="kind"><c>mfcc</c>, <c>melspec</c> or <c>spectrogram</c>.</param>
/// <param name="seconds">Signal length in seconds.</param>
public sealed class AudioCase(string kind, int seconds) : BenchCase
{
    /// <summary>The STFT of <c>melspec.*.400_160_40</c>.</summary>
    public static StftSettings MelSpecStft { get; } = new() { NFft = 400, HopLength = 160, Window = WindowKind.Hann, Center = true, PadMode = PadMode.Reflect, Power = 2.0 };

    /// <summary>The mel bands of <c>melspec.*.400_160_40</c>.</summary>
    public static MelSettings MelSpecMel { get; } = new() { NMels = 40, Scale = MelScale.Htk, Norm = MelNorm.None, SampleRate = 16000 };

    /// <summary>The STFT of <c>spectrogram.*.800_640_160</c>.</summary>
    public static StftSettings SpectrogramStft { get; } = new() { NFft = 800, WinLength = 640, HopLength = 160, Window = WindowKind.Hamming, Center = false, Power = 1.0 };

    /// <inheritdoc/>
    public override string Name => kind switch
    {
        "mfcc" => $"mfcc.{seconds}s",
        "melspec" => $"melspec.{seconds}s.400_160_40",
        "spectrogram" => $"spectrogram.{seconds}s.800_640_160",
        _ => throw new ArgumentException($"unknown audio case kind '{kind}'"),
    };

    /// <inheritdoc/>
    public override string Description => kind switch
    {
        "mfcc" => $"26 MFCCs of {seconds} s at 16 kHz (n_fft 2048, hop 512, 128 Slaney mels, top_db 80, ortho DCT)",
        "melspec" => $"power mel spectrogram of {seconds} s (n_fft 400, hop 160, 40 HTK mels, centred reflect)",
        _ => $"magnitude spectrogram of {seconds} s (n_fft 800, Hamming 640, hop 160, not centred)",
    };

    /// <inheritdoc/>
    public override BenchStep Prepare(Backend backend)
    {
        var rng = new Generator(6);
        var samples = new float[seconds * 16000];
        for (int i = 0; i < samples.Length; i++) samples[i] = rng.NextNormal();
        Action run = kind switch
        {
            "mfcc" => () => AudioFeatures.Mfcc(samples),
            "melspec" => () => Cepstrum.MelSpectrogram(samples, MelSpecStft, MelSpecMel),
            _ => () => Stft.ComputeSingle(samples, SpectrogramStft),
        };
        _ = Name; // validates the kind
        return new BenchStep(run);
    }
}

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
    /// The case called <paramref name="name"/>, or null. A model case may name other sizes than the
    /// listed ones (<c>attention_fcn.train_step.b2.40x60</c>), for quick runs on slow devices.
    /// </summary>
    public static BenchCase? Find(string name) => All.FirstOrDefault(c => c.Name == name) ?? SizedModelCase(name);

    private static BenchCase? SizedModelCase(string name)
    {
        var m = System.Text.RegularExpressions.Regex.Match(name, @"^(attention_fcn|focus_calibration_net)\.(train_step|infer)\.b([1-9]\d{0,3})\.([1-9]\d{0,3})x([1-9]\d{0,4})$");
        if (!m.Success) return null;
        int n = int.Parse(m.Groups[3].Value, System.Globalization.CultureInfo.InvariantCulture);
        int f = int.Parse(m.Groups[4].Value, System.Globalization.CultureInfo.InvariantCulture);
        int t = int.Parse(m.Groups[5].Value, System.Globalization.CultureInfo.InvariantCulture);
        return (m.Groups[1].Value, m.Groups[2].Value) switch
        {
            ("attention_fcn", "train_step") => new AttentionFcnTrainStepCase(n, f, t),
            ("attention_fcn", _) => new AttentionFcnInferCase(n, f, t),
            (_, "train_step") => new FocusCalibrationNetTrainStepCase(n, f, t),
            _ => new FocusCalibrationNetInferCase(n, f, t),
        };
    }
}
