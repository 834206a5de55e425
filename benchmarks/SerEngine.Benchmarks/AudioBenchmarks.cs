using BenchmarkDotNet.Attributes;
using SerEngine.Audio;

namespace SerEngine.Benchmarks;

/// <summary>
/// The audio front end on 60 s of 16 kHz noise (frames in parallel): the three audio cases of
/// BENCH_CASES.md (<c>spectrogram.60s.800_640_160</c> in single precision as <c>ser bench</c> times
/// it, and in double; <c>melspec.60s.400_160_40</c>, <c>mfcc.60s</c>) and Paper A's log
/// spectrogram, each with every thread and with one.
/// Run: <c>dotnet run -c Release --project benchmarks/SerEngine.Benchmarks -- --filter '*AudioBenchmarks*'</c>.
/// </summary>
public class AudioBenchmarks
{
    private readonly float[] _samples = new float[60 * 16000];
    private IDisposable? _limit;

    private static readonly StftSettings Spectrogram = new() { NFft = 800, WinLength = 640, HopLength = 160, Window = WindowKind.Hamming, Center = false, Power = 1.0 };
    private static readonly StftSettings MelStft = new() { NFft = 400, HopLength = 160, Window = WindowKind.Hann, Center = true, PadMode = PadMode.Reflect, Power = 2.0 };
    private static readonly MelSettings Mel40 = new() { NMels = 40, Scale = MelScale.Htk, Norm = MelNorm.None, SampleRate = 16000 };

    /// <summary>Threads the front end may use (1, or every processor).</summary>
    [Params(1, 0)]
    public int Threads { get; set; }

    /// <summary>Random normal samples; the thread limit.</summary>
    [GlobalSetup]
    public void Setup()
    {
        var rng = new Generator(1);
        for (int i = 0; i < _samples.Length; i++) _samples[i] = rng.NextNormal();
        _limit = FrontEndThreads.Limit(Threads == 0 ? Environment.ProcessorCount : Threads);
    }

    /// <summary>Restores the thread limit.</summary>
    [GlobalCleanup]
    public void Cleanup() => _limit?.Dispose();

    /// <summary>Magnitude spectrogram, n_fft 800, Hamming 640, hop 160, not centred, in float32: [401, 5997].</summary>
    [Benchmark]
    public FeatureMatrix SpectrogramNfft800Single() => Stft.ComputeSingle(_samples, Spectrogram);

    /// <summary>The same in double precision.</summary>
    [Benchmark]
    public DoubleMatrix SpectrogramNfft800() => Stft.Compute(_samples, Spectrogram);

    /// <summary>Power mel spectrogram, n_fft 400, hop 160, 40 HTK mels, centred: [40, 6001].</summary>
    [Benchmark]
    public DoubleMatrix MelSpec400x40() => Cepstrum.MelSpectrogram(_samples, MelStft, Mel40);

    /// <summary>Paper B's 26 MFCCs: [26, 1876].</summary>
    [Benchmark]
    public FeatureMatrix Mfcc() => AudioFeatures.Mfcc(_samples);

    /// <summary>Paper A's normalised log spectrogram: [200, 5997].</summary>
    [Benchmark]
    public FeatureMatrix LogSpectrogramPaperA() => AudioFeatures.LogSpectrogram(_samples);
}
