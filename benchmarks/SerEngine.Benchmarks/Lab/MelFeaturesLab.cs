using SerEngine.Audio;
using SerEngine.Backends;
using SerEngine.Backends.Gpu;

namespace SerEngine.Benchmarks.Lab;

/// <summary>
/// Backend.MelFeatures (kernels/spectrogram.cl's mel epilogue and mel_features_floor): y = the DCT
/// of the scaled mel projection of |STFT|^power, per variant: <c>composed+tiled</c> (the DFT as a GEMM,
/// then the mel GEMM, dB or log, the DCT GEMM: the front end before the FFT), <c>composed</c> (the FFT
/// spectrogram, then the same calls) and <c>fused</c> (one or two launches). Checks: one frame, odd
/// frame counts, n_mels 1/40/128, n_mfcc 1/13/26, top_db on and off, log, dB and plain mel, a
/// Bluestein size. Timings: BENCH_CASES.md's mfcc.60s (its top_db 80 and a log-mel twin) and
/// melspec.60s.400_160_40 (60 s at 16 kHz, the device part only: no host padding or upload).
/// GFLOP/s use the composed FFT path's nominal count (FFT + mel GEMM + DCT GEMM, FFT.md) for every
/// variant, so rates compare as times do.
/// </summary>
public sealed class MelFeaturesLab : LabOp
{
    /// <inheritdoc/>
    public override string Name => "melfeatures";

    /// <inheritdoc/>
    public override LabUnit Unit => LabUnit.Gflops;

    private sealed record Shape(string Label, int NFft, int Hop, int Frames, float Power, int NMels, bool Slaney, int NMfcc, MelFeatureScale Scale, float TopDb);

    private static readonly Shape[] QuickChecks =
    [
        new("", 400, 160, 1, 2f, 40, false, 0, MelFeatureScale.Power, -1f),
        new("", 400, 160, 37, 2f, 40, false, 13, MelFeatureScale.Decibels, 80f),
        new("", 512, 128, 9, 2f, 1, false, 1, MelFeatureScale.Decibels, 80f),
    ];

    private static readonly Shape[] FullChecks =
    [
        .. QuickChecks,
        new("", 400, 160, 37, 2f, 40, false, 13, MelFeatureScale.Decibels, -1f),
        new("", 400, 160, 150, 2f, 40, false, 0, MelFeatureScale.Decibels, 80f),
        new("", 2048, 512, 5, 2f, 128, true, 26, MelFeatureScale.Decibels, 80f),
        new("", 2048, 512, 3, 2f, 128, true, 26, MelFeatureScale.Log, -1f),
        new("", 418, 100, 11, 2f, 40, false, 13, MelFeatureScale.Decibels, 80f),
    ];

    // 60 s at 16 kHz, centred: mfcc.60s (Paper B: N 2048, hop 512, 128 Slaney mels, 26 MFCCs, top_db 80), melspec.60s (N 400, hop 160, 40 HTK mels)
    private static readonly Shape[] FullTimings =
    [
        new("mfcc.60s ", 2048, 512, 1 + 960_000 / 512, 2f, 128, true, 26, MelFeatureScale.Decibels, 80f),
        new("mfcc.60s log-mel ", 2048, 512, 1 + 960_000 / 512, 2f, 128, true, 26, MelFeatureScale.Log, -1f),
        new("melspec.60s ", 400, 160, 1 + 960_000 / 160, 2f, 40, false, 0, MelFeatureScale.Power, -1f),
    ];

    private static readonly Shape[] QuickTimings = [new("melspec.1s ", 400, 160, 1 + 16_000 / 160, 2f, 40, false, 0, MelFeatureScale.Power, -1f)];

    /// <summary>The lab's variants: (name, mel features variant, spectrogram variant).</summary>
    private static readonly (string Name, string Mel, string Spectrogram)[] LabVariants =
        [("composed+tiled", "composed", "tiled"), ("composed", "composed", "fft"), ("fused", "fused", "fft")];

    /// <inheritdoc/>
    public override IReadOnlyList<LabVariant> Variants(bool quick) =>
        [.. LabVariants.Select(v => new LabVariant(v.Name,
            [.. (quick ? QuickChecks : FullChecks).Select(c => Case(v.Mel, c))],
            [.. (quick ? QuickTimings : FullTimings).Select(c => Case(v.Mel, c))],
            gpu => With(gpu, v.Mel, v.Spectrogram)))];

    private static IDisposable With(GpuBackend gpu, string mel, string spectrogram)
    {
        (string savedMel, string savedSpec) = (gpu.MelFeaturesVariant, gpu.SpectrogramVariant);
        gpu.MelFeaturesVariant = mel;
        gpu.SpectrogramVariant = spectrogram;
        return Restore(() => (gpu.MelFeaturesVariant, gpu.SpectrogramVariant) = (savedMel, savedSpec));
    }

    private static LabCase Case(string melVariant, Shape c)
    {
        var plan = Plan(c);
        int samples = (c.Frames - 1) * c.Hop + c.NFft;
        var window = Array.ConvertAll(Windows.Hann(c.NFft), v => (float)v); // [N]
        int rows = plan.OutputRows, bins = c.NFft / 2 + 1;
        double fft = (5.0 * (c.NFft / 2) * Math.Log2(c.NFft / 2) + 20.0 * bins) * c.Frames;
        double flops = fft + 2.0 * c.NMels * bins * c.Frames + 2.0 * c.NMfcc * c.NMels * c.Frames;
        // the dB outputs reach ~100 while float spectra are good to ~1e-6 of the frame's energy
        double tol = c.Scale == MelFeatureScale.Power ? 1e-4 : 5e-4;
        string? kernel = melVariant != "fused" ? null : plan.NeedsUtteranceMax ? "mel_features_floor" : "spectrogram_fft";
        string what = c.Scale switch { MelFeatureScale.Log => "log", MelFeatureScale.Decibels => c.TopDb >= 0 ? $"dB top {c.TopDb}" : "dB", _ => "mel" };
        return new LabCase($"{c.Label}N {c.NFft} T {c.Frames} M {c.NMels} C {c.NMfcc} {what}",
            [
                LabBuffer.Normal("signal", samples, (ulong)(c.NFft * 17 + c.Frames), 0.3f), // [(T − 1)·hop + N]
                LabBuffer.Floats("window", c.NFft, () => window),                           // [N]
                LabBuffer.Output("y", rows * c.Frames, tol),                                 // [C or M, T]
            ],
            (b, s) => b.MelFeatures(s["signal"], s["window"], s["y"], c.NFft, c.Hop, c.Frames, c.Power, plan),
            flops: flops, expectKernel: kernel);
    }

    private static readonly Dictionary<Shape, MelFeaturePlan> Plans = [];

    /// <summary>One plan per shape (so the device tables are uploaded once, as DeviceFeatures does).</summary>
    private static MelFeaturePlan Plan(Shape c)
    {
        lock (Plans)
        {
            if (Plans.TryGetValue(c, out var p)) return p;
            var mel = new MelSettings { NMels = c.NMels, SampleRate = 16000, Scale = c.Slaney ? MelScale.Slaney : MelScale.Htk, Norm = c.Slaney ? MelNorm.Slaney : MelNorm.None };
            var fb = MelFilterbank.Create(c.NFft / 2 + 1, mel);
            float[]? dct = c.NMfcc > 0 ? Array.ConvertAll(Cepstrum.CreateDct(c.NMfcc, c.NMels).Values, v => (float)v) : null;
            return Plans[c] = new MelFeaturePlan(fb.Rows, fb.Columns, Array.ConvertAll(fb.Values, v => (float)v), dct, c.NMfcc, c.Scale,
                logOffset: 1e-6f, multiplier: 10f, amin: 1e-10f, dbMultiplier: 0f, topDb: c.TopDb);
        }
    }
}
