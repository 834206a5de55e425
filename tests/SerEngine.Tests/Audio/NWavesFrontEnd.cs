using NWaves.FeatureExtractors;
using NWaves.FeatureExtractors.Options;
using NWaves.Filters.Fda;
using NWaves.Signals;
using NWaves.Transforms;
using SerEngine.Audio;
using NwWindow = NWaves.Windows.Window;
using NwWindowType = NWaves.Windows.WindowType;

namespace SerEngine.Tests.Audio;

/// <summary>
/// The front end's quantities computed with NWaves 0.9.6 (the library the design card names), for
/// <see cref="NWavesComparisonTests"/>. Two ways per component: "as shipped" (NWaves' own class with
/// its own conventions) and "closest" (NWaves' pieces configured and composed to reproduce
/// torchaudio as far as they can). Nothing here is used by the engine.
/// </summary>
internal static class NWavesFrontEnd
{
    // ---- windows ---------------------------------------------------------------------------------

    /// <summary>NWaves' window of <paramref name="length"/> as shipped (symmetric: cos(2πn/(N−1))).</summary>
    public static float[] Window(WindowKind kind, int length) => kind switch
    {
        WindowKind.Hann => NwWindow.Hann(length),
        WindowKind.Hamming => NwWindow.Hamming(length),
        _ => NwWindow.Rectangular(length),
    };

    /// <summary>torch's periodic window built from NWaves: its symmetric window of N+1 points without the last.</summary>
    public static float[] PeriodicWindow(WindowKind kind, int length) => Window(kind, length + 1)[..length];

    /// <summary>The STFT settings' window from NWaves (periodic through N+1 when the settings ask for it).</summary>
    public static float[] WindowFor(StftSettings s) =>
        s.PeriodicWindow ? PeriodicWindow(s.Window, s.WinLengthOrDefault) : Window(s.Window, s.WinLengthOrDefault);

    // ---- spectrogram -----------------------------------------------------------------------------

    /// <summary>The signal as torch.stft sees it: center padding (reflect/constant/replicate) of n_fft/2 each side.</summary>
    public static float[] TorchPadded(float[] x, StftSettings s)
    {
        if (!s.Center) return x;
        int p = s.NFft / 2;
        var y = new float[x.Length + 2 * p];
        x.CopyTo(y, p);
        for (int i = 0; i < p; i++)
        {
            (y[p - 1 - i], y[p + x.Length + i]) = s.PadMode switch
            {
                PadMode.Reflect => (x[i + 1], x[x.Length - 2 - i]),
                PadMode.Replicate => (x[0], x[^1]),
                _ => (0f, 0f),
            };
        }
        return y;
    }

    /// <summary>
    /// Closest configuration: torch's framing (center padding, window centred in n_fft, 1 + (len − n_fft)/hop
    /// frames), NWaves' periodic window and NWaves' double-precision real FFT → |X|^power <c>[bins, frames]</c>.
    /// NWaves' FFT takes powers of two only, so other n_fft throw.
    /// </summary>
    public static DoubleMatrix Spectrogram(float[] wave, StftSettings s)
    {
        var fft = new RealFft64(s.NFft); // throws for n_fft that is not a power of two
        var x = TorchPadded(wave, s);
        var w = WindowFor(s);
        int nFft = s.NFft, hop = s.HopLengthOrDefault, bins = nFft / 2 + 1, off = (nFft - w.Length) / 2;
        int frames = 1 + (x.Length - nFft) / hop;
        var outp = new double[bins * frames]; // [bins, frames]
        var frame = new double[nFft];
        var re = new double[nFft];
        var im = new double[nFft];
        for (int t = 0; t < frames; t++)
        {
            Array.Clear(frame);
            for (int i = 0; i < w.Length; i++) frame[off + i] = x[t * hop + off + i] * (double)w[i];
            fft.Direct(frame, re, im);
            for (int k = 0; k < bins; k++)
            {
                double p = re[k] * re[k] + im[k] * im[k];
                outp[k * frames + t] = s.Power == 2 ? p : Math.Pow(Math.Sqrt(p), s.Power);
            }
        }
        return new DoubleMatrix(outp, bins, frames);
    }

    /// <summary>
    /// As shipped: NWaves' <see cref="Stft"/> class (symmetric window of win_length at the start of each
    /// frame, zero-padded to n_fft; frames while a whole window fits) on torch's center-padded signal,
    /// |X|^power <c>[bins, frames]</c>.
    /// </summary>
    public static DoubleMatrix StftClass(float[] wave, StftSettings s)
    {
        var type = s.Window switch { WindowKind.Hann => NwWindowType.Hann, WindowKind.Hamming => NwWindowType.Hamming, _ => NwWindowType.Rectangular };
        var stft = new NWaves.Transforms.Stft(s.WinLengthOrDefault, s.HopLengthOrDefault, type, s.NFft);
        var spectra = stft.Spectrogram(TorchPadded(wave, s), normalize: false); // frames × [bins] power
        int bins = s.NFft / 2 + 1, frames = spectra.Count;
        var outp = new double[bins * frames];
        for (int t = 0; t < frames; t++)
            for (int k = 0; k < bins; k++) outp[k * frames + t] = s.Power == 2 ? spectra[t][k] : Math.Pow(Math.Sqrt(spectra[t][k]), s.Power);
        return new DoubleMatrix(outp, bins, frames);
    }

    // ---- mel filterbank --------------------------------------------------------------------------

    /// <summary>
    /// Closest configuration of NWaves' mel filters, <c>[n_mels][n_freqs]</c>: htk → FilterBanks.Triangular over
    /// MelBands, slaney norm → FilterBanks.Normalize; slaney scale → FilterBanks.MelBankSlaney (normalizeGain = norm).
    /// </summary>
    public static float[][] MelBank(int nFreqs, MelSettings m)
    {
        int fftSize = 2 * (nFreqs - 1);
        double fMax = m.FMax ?? m.SampleRate / 2.0;
        if (m.Scale == MelScale.Slaney)
            return FilterBanks.MelBankSlaney(m.NMels, fftSize, m.SampleRate, m.FMin, fMax, m.Norm == MelNorm.Slaney);
        var bands = FilterBanks.MelBands(m.NMels, m.SampleRate, m.FMin, fMax, true);
        var fb = FilterBanks.Triangular(fftSize, m.SampleRate, bands);
        if (m.Norm == MelNorm.Slaney) FilterBanks.Normalize(m.NMels, bands, fb);
        return fb;
    }

    /// <summary><c>[n_freqs, n_mels]</c> as torchaudio lays out melscale_fbanks.</summary>
    public static DoubleMatrix AsTorchLayout(float[][] bank)
    {
        int mels = bank.Length, freqs = bank[0].Length;
        var v = new double[freqs * mels];
        for (int m = 0; m < mels; m++)
            for (int f = 0; f < freqs; f++) v[f * mels + m] = bank[m][f];
        return new DoubleMatrix(v, freqs, mels);
    }

    /// <summary>bank <c>[n_mels][bins]</c> × spec <c>[bins, frames]</c> → <c>[n_mels, frames]</c>.</summary>
    public static DoubleMatrix ApplyBank(float[][] bank, DoubleMatrix spec)
    {
        int mels = bank.Length, frames = spec.Columns;
        var v = new double[mels * frames];
        for (int m = 0; m < mels; m++)
            for (int k = 0; k < spec.Rows; k++)
            {
                double w = bank[m][k];
                if (w == 0) continue;
                for (int t = 0; t < frames; t++) v[m * frames + t] += w * spec.Values[k * frames + t];
            }
        return new DoubleMatrix(v, mels, frames);
    }

    /// <summary>Closest configuration of the mel spectrogram: <see cref="Spectrogram"/> then <see cref="MelBank"/>.</summary>
    public static DoubleMatrix MelSpectrogram(float[] wave, StftSettings s, MelSettings m) =>
        ApplyBank(MelBank(s.FreqBins, m), Spectrogram(wave, s));

    // ---- MFCC ------------------------------------------------------------------------------------

    /// <summary>
    /// Closest configuration of torchaudio's MFCC: NWaves mel spectrogram, 10·log10(max(x, 1e-10)) floored at
    /// max − top_db (NWaves has no top_db; written here), NWaves' normalised DCT-II (Dct2.DirectNorm) → <c>[n_mfcc, frames]</c>.
    /// </summary>
    public static DoubleMatrix Mfcc(float[] wave, StftSettings s, MelSettings m, int nMfcc, double? topDb)
    {
        var mel = MelSpectrogram(wave, s, m);
        var db = mel.Values.Select(v => 10 * Math.Log10(Math.Max(v, 1e-10))).ToArray();
        if (topDb is { } t) { double floor = db.Max() - t; for (int i = 0; i < db.Length; i++) db[i] = Math.Max(db[i], floor); }
        return DctColumns(db, mel.Rows, mel.Columns, nMfcc);
    }

    /// <summary>NWaves' Dct2.DirectNorm of every column of <c>x [rows, cols]</c>, the first <paramref name="keep"/> coefficients.</summary>
    public static DoubleMatrix DctColumns(double[] x, int rows, int cols, int keep)
    {
        var dct = new Dct2(rows);
        var input = new float[rows];
        var output = new float[rows];
        var v = new double[keep * cols];
        for (int t = 0; t < cols; t++)
        {
            for (int r = 0; r < rows; r++) input[r] = (float)x[r * cols + t];
            dct.DirectNorm(input, output);
            for (int c = 0; c < keep; c++) v[c * cols + t] = output[c];
        }
        return new DoubleMatrix(v, keep, cols);
    }

    /// <summary>
    /// As shipped: NWaves' <see cref="MfccExtractor"/> (its own framing, no center padding, power spectrum,
    /// ToDecibel with log floor 1e-10, "2N" DCT, no top_db) with the closest mel bank, on torch's padded signal.
    /// </summary>
    public static DoubleMatrix MfccExtractor(float[] wave, StftSettings s, MelSettings m, int nMfcc)
    {
        var options = new MfccOptions
        {
            SamplingRate = m.SampleRate,
            FeatureCount = nMfcc,
            FrameSize = s.WinLengthOrDefault,
            HopSize = s.HopLengthOrDefault,
            FftSize = s.NFft,
            FilterBank = MelBank(s.FreqBins, m),
            Window = s.Window == WindowKind.Hamming ? NwWindowType.Hamming : NwWindowType.Hann,
            SpectrumType = SpectrumType.Power,
            NonLinearity = NonLinearityType.ToDecibel,
            LogFloor = 1e-10f,
            DctType = "2N",
        };
        var vectors = new NWaves.FeatureExtractors.MfccExtractor(options).ComputeFrom(TorchPadded(wave, s));
        int frames = vectors.Count;
        var v = new double[nMfcc * frames];
        for (int t = 0; t < frames; t++)
            for (int c = 0; c < nMfcc; c++) v[c * frames + t] = vectors[t][c];
        return new DoubleMatrix(v, nMfcc, frames);
    }

    // ---- resampling ------------------------------------------------------------------------------

    /// <summary>NWaves' band-limited resampler as shipped (Operation.Resample, its default filter and order).</summary>
    public static float[] Resample(float[] x, int from, int to) =>
        NWaves.Operations.Operation.Resample(new DiscreteSignal(from, x), to).Samples;
}
