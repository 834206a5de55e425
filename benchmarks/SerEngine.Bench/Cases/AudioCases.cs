using SerEngine.Audio;
using SerEngine.Backends;
using SerEngine.Backends.Cpu;

namespace SerEngine.Bench;

/// <summary>
/// The audio front end on <paramref name="seconds"/> of random normal 16 kHz samples (host code):
/// <c>mfcc.60s</c> (Paper B's 26 MFCCs) and <c>melspec.60s.400_160_40</c> (power mel spectrogram,
/// 40 HTK mels, centred with reflect padding) in double precision, and
/// <c>spectrogram.60s.800_640_160</c> (magnitude, Hamming 640 inside n_fft 800, not centred) in
/// single precision, as torch.stft computes it (<see cref="Stft.ComputeSingle"/>). On the cpu backend
/// each call returns a float32 tensor of the backend's buffer pool (<see cref="DeviceFeatures"/>), as
/// torchaudio returns a tensor from PyTorch's allocator; on other backends the host functions return arrays.
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
        var b = FeatureSettings.PaperB;
        var mfccMel = b.Mel with { SampleRate = b.SampleRate };
        // on the cpu backend the result is a tensor of the backend's buffer pool (as PyTorch's comes from
        // its allocator), so a call does not fault in a fresh result array; other backends time the host code
        Action run = backend is CpuBackend
            ? kind switch
            {
                "mfcc" => () => DeviceFeatures.Mfcc(backend, samples, b.Stft, mfccMel, b.NMfcc, b.TopDb).Dispose(),
                "melspec" => () => DeviceFeatures.MelSpectrogram(backend, samples, MelSpecStft, MelSpecMel).Dispose(),
                _ => () => DeviceFeatures.Spectrogram(backend, samples, SpectrogramStft).Dispose(),
            }
            : kind switch
            {
                "mfcc" => () => AudioFeatures.Mfcc(samples),
                "melspec" => () => Cepstrum.MelSpectrogram(samples, MelSpecStft, MelSpecMel),
                _ => () => Stft.ComputeSingle(samples, SpectrogramStft),
            };
        _ = Name; // validates the kind
        return new BenchStep(run);
    }
}
