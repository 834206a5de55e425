using SerEngine.Backends.Gpu;

namespace SerEngine.Benchmarks.Lab;

/// <summary>
/// kernels/spectrogram.cl: y [K, T] = |STFT|^power of a signal [(T − 1)·hop + N] with a window [N],
/// per variant (naive, tiled, fft). Checks: one frame, odd frame counts, fewer bins than N/2 + 1,
/// powers 1 and 2, the fft variant's mixed-radix sizes (400, 512, 800, 2048) and a Bluestein size
/// (418 = 2·11·19). Timings: the framings of BENCH_CASES.md's spectrogram.60s.800_640_160,
/// melspec.60s.400_160_40 and mfcc.60s (60 s at 16 kHz; the spectrogram kernel only). GFLOP/s are
/// the DFT-as-GEMM's nominal 4·N·K·T for every variant (FFT.md gives the FFT's own count), so the
/// rates compare as times do.
/// </summary>
public sealed class SpectrogramLab : LabOp
{
    /// <inheritdoc/>
    public override string Name => "spectrogram";

    /// <inheritdoc/>
    public override LabUnit Unit => LabUnit.Gflops;

    // (label, N, hop, T, K, power)
    private static readonly (string Label, int NFft, int Hop, int Frames, int NFreq, float Power)[] QuickChecks =
    [
        ("", 400, 160, 1, 201, 2f), ("", 512, 128, 7, 257, 1f), ("", 418, 100, 5, 210, 2f), ("", 800, 160, 9, 200, 1f),
    ];

    private static readonly (string Label, int NFft, int Hop, int Frames, int NFreq, float Power)[] FullChecks =
    [
        .. QuickChecks, ("", 2048, 512, 3, 1025, 2f), ("", 1024, 256, 11, 513, 1f), ("", 77, 20, 4, 39, 2f),
    ];

    // 60 s at 16 kHz: mfcc.60s centred (960000 + 2048 padded), melspec.60s centred (+ 400), spectrogram.60s not centred
    private static readonly (string Label, int NFft, int Hop, int Frames, int NFreq, float Power)[] FullTimings =
    [
        ("spectrogram.60s ", 800, 160, 1 + (960_000 - 800) / 160, 401, 1f),
        ("melspec.60s ", 400, 160, 1 + 960_000 / 160, 201, 2f),
        ("mfcc.60s ", 2048, 512, 1 + 960_000 / 512, 1025, 2f),
    ];

    private static readonly (string Label, int NFft, int Hop, int Frames, int NFreq, float Power)[] QuickTimings =
    [
        ("melspec.1s ", 400, 160, 1 + 16_000 / 160, 201, 2f),
    ];

    /// <inheritdoc/>
    public override IReadOnlyList<LabVariant> Variants(bool quick)
    {
        var checks = quick ? QuickChecks : FullChecks;
        // naive skips mfcc.60s: 16 GFLOP at its few GFLOP/s is a minute per call on PoCL
        IEnumerable<(string Label, int NFft, int Hop, int Frames, int NFreq, float Power)> Timings(string v) =>
            quick ? QuickTimings : v == "naive" ? FullTimings.Where(c => c.NFft != 2048) : FullTimings;
        return [.. GpuBackend.SpectrogramVariants.Select(v => new LabVariant(v,
            [.. checks.Select(c => Case(v, c.Label, c.NFft, c.Hop, c.Frames, c.NFreq, c.Power))],
            [.. Timings(v).Select(c => Case(v, c.Label, c.NFft, c.Hop, c.Frames, c.NFreq, c.Power))],
            gpu => WithSpectrogramVariant(gpu, v)))];
    }

    private static IDisposable WithSpectrogramVariant(GpuBackend gpu, string variant)
    {
        string saved = gpu.SpectrogramVariant;
        gpu.SpectrogramVariant = variant;
        return Restore(() => gpu.SpectrogramVariant = saved);
    }

    private static LabCase Case(string variant, string label, int nFft, int hop, int frames, int nFreq, float power)
    {
        int samples = (frames - 1) * hop + nFft;
        var window = new float[nFft]; // [N]: periodic Hann
        for (int i = 0; i < nFft; i++) window[i] = (float)(0.5 - 0.5 * Math.Cos(2 * Math.PI * i / nFft));
        // |X| of a float DFT is off by about √N ulps of the frame's energy, not of the bin: relative to the largest output
        double tol = power == 2f ? 4e-5 : 2e-5;
        string kernel = variant == "naive" ? "spectrogram_naive" : variant == "fft" && SpectrogramFftPlan.Fits(nFft) ? "spectrogram_fft" : "spectrogram_tiled";
        return new LabCase($"{label}N {nFft} hop {hop} T {frames} K {nFreq} p{power}",
            [
                LabBuffer.Normal("signal", samples, (ulong)(nFft * 31 + frames), 0.3f), // [(T − 1)·hop + N]
                LabBuffer.Floats("window", nFft, () => window),                         // [N]
                LabBuffer.Output("y", nFreq * frames, tol),                              // [K, T]
            ],
            (b, s) => b.SpectrogramForward(s["signal"], s["window"], s["y"], nFft, hop, frames, nFreq, power),
            flops: 4.0 * nFft * nFreq * frames, expectKernel: kernel);
    }
}
