namespace SerEngine.Audio;

/// <summary>Hz ↔ mel conversion.</summary>
public enum MelScale
{
    /// <summary>HTK: mel = 2595·log10(1 + f/700).</summary>
    Htk,
    /// <summary>Slaney (Auditory Toolbox): linear below 1 kHz (one mel per 200/3 Hz), logarithmic above.</summary>
    Slaney,
}

/// <summary>Filter normalisation.</summary>
public enum MelNorm
{
    /// <summary>Triangles peak at 1.</summary>
    None,
    /// <summary>Each triangle scaled by 2 / (its width in Hz): constant energy per channel.</summary>
    Slaney,
}

/// <summary>Mel filterbank settings (torchaudio.transforms.MelScale / MelSpectrogram's mel arguments).</summary>
public sealed record MelSettings
{
    /// <summary>Sample rate of the signal in Hz.</summary>
    public int SampleRate { get; init; } = 16000;

    /// <summary>Number of mel bands.</summary>
    public int NMels { get; init; } = 128;

    /// <summary>Lowest frequency in Hz.</summary>
    public double FMin { get; init; }

    /// <summary>Highest frequency in Hz. Null: sample_rate / 2 (as a float, like torchaudio).</summary>
    public double? FMax { get; init; }

    /// <summary>Mel scale.</summary>
    public MelScale Scale { get; init; } = MelScale.Htk;

    /// <summary>Filter normalisation.</summary>
    public MelNorm Norm { get; init; } = MelNorm.None;

    /// <summary>Effective f_max.</summary>
    public double FMaxOrDefault => FMax ?? SampleRate / 2.0;
}

/// <summary>Triangular mel filterbanks exactly as torchaudio.functional.melscale_fbanks (torchaudio 0.13), in double.</summary>
public static class MelFilterbank
{
    private const double SlaneyFSp = 200.0 / 3, SlaneyMinLogHz = 1000.0, SlaneyMinLogMel = SlaneyMinLogHz / SlaneyFSp;
    private static readonly double SlaneyLogStep = Math.Log(6.4) / 27.0;

    /// <summary>Hz to mel.</summary>
    public static double HzToMel(double hz, MelScale scale) => scale == MelScale.Htk
        ? 2595.0 * Math.Log10(1.0 + hz / 700.0)
        : hz >= SlaneyMinLogHz ? SlaneyMinLogMel + Math.Log(hz / SlaneyMinLogHz) / SlaneyLogStep : hz / SlaneyFSp;

    /// <summary>Mel to Hz.</summary>
    public static double MelToHz(double mel, MelScale scale) => scale == MelScale.Htk
        ? 700.0 * (Math.Pow(10.0, mel / 2595.0) - 1.0)
        : mel >= SlaneyMinLogMel ? SlaneyMinLogHz * Math.Exp(SlaneyLogStep * (mel - SlaneyMinLogMel)) : SlaneyFSp * mel;

    /// <summary>torch.linspace(start, end, steps) as its CPU kernel computes it (from both ends).</summary>
    public static double[] Linspace(double start, double end, int steps)
    {
        var v = new double[steps];
        if (steps == 1) v[0] = start;
        if (steps <= 1) return v;
        double step = (end - start) / (steps - 1);
        int half = steps / 2;
        for (int i = 0; i < steps; i++) v[i] = i < half ? start + step * i : end - step * (steps - i - 1);
        return v;
    }

    /// <summary>
    /// The filterbank <c>[n_freqs, n_mels]</c>: bin frequencies linspace(0, ⌊sample_rate/2⌋, n_freqs),
    /// n_mels + 2 points equally spaced on the mel scale from f_min to f_max, triangles
    /// max(0, min(rising, falling)), optional Slaney area normalisation.
    /// </summary>
    public static DoubleMatrix Create(int nFreqs, double fMin, double fMax, int nMels, int sampleRate,
        MelNorm norm = MelNorm.None, MelScale scale = MelScale.Htk)
    {
        if (nFreqs < 1) throw new ArgumentException($"n_freqs must be >= 1, got {nFreqs}");
        if (nMels < 1) throw new ArgumentException($"n_mels must be >= 1, got {nMels}");
        if (sampleRate < 1) throw new ArgumentException($"sample_rate must be >= 1, got {sampleRate}");
        if (!(fMin >= 0 && fMin < fMax)) throw new ArgumentException($"need 0 <= f_min < f_max, got f_min {fMin}, f_max {fMax}");
        var allFreqs = Linspace(0, sampleRate / 2, nFreqs); // [n_freqs], integer Nyquist as torchaudio
        var mPts = Linspace(HzToMel(fMin, scale), HzToMel(fMax, scale), nMels + 2);
        var fPts = mPts.Select(m => MelToHz(m, scale)).ToArray(); // [n_mels + 2]
        var fb = new double[nFreqs * nMels]; // [n_freqs, n_mels]
        for (int m = 0; m < nMels; m++)
        {
            double lower = fPts[m + 1] - fPts[m], upper = fPts[m + 2] - fPts[m + 1];
            double enorm = norm == MelNorm.Slaney ? 2.0 / (fPts[m + 2] - fPts[m]) : 1.0;
            for (int f = 0; f < nFreqs; f++)
            {
                double down = (allFreqs[f] - fPts[m]) / lower;
                double up = (fPts[m + 2] - allFreqs[f]) / upper;
                double v = Math.Max(0.0, Math.Min(down, up));
                fb[f * nMels + m] = norm == MelNorm.Slaney ? v * enorm : v;
            }
        }
        return new DoubleMatrix(fb, nFreqs, nMels);
    }

    /// <summary>The filterbank for an STFT's bins and the given mel settings.</summary>
    public static DoubleMatrix Create(int nFreqs, MelSettings mel) =>
        Create(nFreqs, mel.FMin, mel.FMaxOrDefault, mel.NMels, mel.SampleRate, mel.Norm, mel.Scale);

    // a Lazy per settings: the feature threads starting together build one filterbank, not one each (GetOrAdd alone runs every racer's factory)
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<(int, MelSettings), Lazy<SparseFilterbank>> SparseCache = new();

    /// <summary>The filterbank of <see cref="Create(int, MelSettings)"/> kept by filter (its non-zero run), built once per settings.</summary>
    internal static SparseFilterbank CreateSparse(int nFreqs, MelSettings mel) =>
        SparseCache.GetOrAdd((nFreqs, mel), static key => new Lazy<SparseFilterbank>(() => new SparseFilterbank(Create(key.Item1, key.Item2)))).Value;

    /// <summary>
    /// <c>mel[m, t] = Σ_f fbanks[f, m]·spec[f, t]</c>: <c>[n_freqs, n_mels]</c> × <c>[n_freqs, frames]</c>
    /// → <c>[n_mels, frames]</c>. Only each filter's non-zero bins are visited.
    /// </summary>
    public static DoubleMatrix Apply(DoubleMatrix fbanks, DoubleMatrix spec)
    {
        if (fbanks.Rows != spec.Rows)
            throw new ArgumentException($"filterbank [{fbanks.Rows}, {fbanks.Columns}] does not fit a spectrogram with {spec.Rows} bins");
        int nF = fbanks.Rows, nM = fbanks.Columns, nT = spec.Columns;
        var outv = new double[(long)nM * nT]; // [n_mels, frames]
        for (int m = 0; m < nM; m++)
        {
            var row = outv.AsSpan(m * nT, nT);
            for (int f = 0; f < nF; f++)
            {
                double w = fbanks.Values[f * nM + m];
                if (w == 0) continue;
                var src = spec.Values.AsSpan(f * nT, nT);
                for (int t = 0; t < nT; t++) row[t] += w * src[t];
            }
        }
        return new DoubleMatrix(outv, nM, nT);
    }
}
