namespace SerEngine.Audio;

/// <summary>How <see cref="Stft"/> pads the signal when centring frames (torch.stft's pad_mode).</summary>
public enum PadMode
{
    /// <summary>Mirror without repeating the edge sample: x[2], x[1] | x[0], x[1], ... (needs n_fft/2 &lt; length).</summary>
    Reflect,
    /// <summary>Zeros.</summary>
    Constant,
    /// <summary>Repeat the edge sample.</summary>
    Replicate,
}

/// <summary>
/// Short-time Fourier transform settings, named as torchaudio.transforms.Spectrogram's arguments.
/// Defaults are torchaudio's (n_fft 400, win_length n_fft, hop win_length/2, periodic Hann, centred
/// with reflect padding, power 2).
/// </summary>
public sealed record StftSettings
{
    /// <summary>DFT size; the output has n_fft/2 + 1 frequency bins.</summary>
    public int NFft { get; init; } = 400;

    /// <summary>Window length (≤ n_fft; the window is zero-padded centred inside n_fft). Null: n_fft.</summary>
    public int? WinLength { get; init; }

    /// <summary>Samples between frame starts. Null: win_length / 2.</summary>
    public int? HopLength { get; init; }

    /// <summary>Window shape.</summary>
    public WindowKind Window { get; init; } = WindowKind.Hann;

    /// <summary>Periodic (true, torch's default) or symmetric window.</summary>
    public bool PeriodicWindow { get; init; } = true;

    /// <summary>Pad n_fft/2 samples on both sides so frame t is centred on sample t·hop.</summary>
    public bool Center { get; init; } = true;

    /// <summary>Padding used when <see cref="Center"/> is true.</summary>
    public PadMode PadMode { get; init; } = PadMode.Reflect;

    /// <summary>Exponent of the magnitude: 1 magnitude, 2 power (computed as re² + im²).</summary>
    public double Power { get; init; } = 2.0;

    /// <summary>Zeros added on both sides before anything else (torchaudio's <c>pad</c>).</summary>
    public int Pad { get; init; }

    /// <summary>Effective window length.</summary>
    public int WinLengthOrDefault => WinLength ?? NFft;

    /// <summary>Effective hop length.</summary>
    public int HopLengthOrDefault => HopLength ?? Math.Max(1, WinLengthOrDefault / 2);

    /// <summary>Frequency bins, n_fft/2 + 1.</summary>
    public int FreqBins => NFft / 2 + 1;

    /// <summary>
    /// Frames produced for a signal of <paramref name="samples"/> samples: 1 + ⌊(padded − n_fft) / hop⌋.
    /// Throws <see cref="ArgumentException"/> when the padded signal or the <c>[bins, frames]</c>
    /// spectrogram would exceed <see cref="Array.MaxLength"/> elements (checked before anything is allocated).
    /// </summary>
    public int FrameCount(int samples)
    {
        long padded = PaddedLength(samples);
        if (padded < NFft) return 0;
        long frames = 1 + (padded - NFft) / HopLengthOrDefault;
        if (frames * FreqBins > Array.MaxLength)
            throw new ArgumentException($"{samples} samples give a spectrogram of {FreqBins} bins x {frames} frames, more than the {Array.MaxLength} values an array holds");
        return (int)frames;
    }

    /// <summary>
    /// Length of the signal once padded (<c>Pad</c> zeros, then n_fft/2 per side when centring); throws
    /// <see cref="ArgumentException"/> when that exceeds <see cref="Array.MaxLength"/> (before anything is allocated).
    /// </summary>
    public long PaddedLength(int samples)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(samples);
        long padded = samples + 2L * Pad + (Center ? 2L * (NFft / 2) : 0);
        if (padded > Array.MaxLength)
            throw new ArgumentException($"{samples} samples padded to {padded} exceed the {Array.MaxLength} an array holds");
        return padded;
    }

    /// <summary>Throws <see cref="ArgumentException"/> naming the first bad setting.</summary>
    public void Validate()
    {
        if (NFft < 1) throw new ArgumentException($"n_fft must be >= 1, got {NFft}");
        if (WinLengthOrDefault < 1 || WinLengthOrDefault > NFft)
            throw new ArgumentException($"win_length must be in 1..n_fft ({NFft}), got {WinLengthOrDefault}");
        if (HopLengthOrDefault < 1) throw new ArgumentException($"hop_length must be >= 1, got {HopLengthOrDefault}");
        if (!(Power > 0) || double.IsInfinity(Power)) throw new ArgumentException($"power must be a positive number, got {Power}");
        if (Pad < 0) throw new ArgumentException($"pad must be >= 0, got {Pad}");
    }
}

/// <summary>
/// The STFT as torch.stft (onesided, normalized=false) followed by |X|^power, as
/// torchaudio.transforms.Spectrogram computes it, in double precision.
/// </summary>
public static class Stft
{
    /// <summary>
    /// The window of length n_fft: the <c>win_length</c> window placed at offset
    /// ⌊(n_fft − win_length)/2⌋, zeros elsewhere (as torch.stft pads it).
    /// </summary>
    public static double[] PaddedWindow(StftSettings s)
    {
        s.Validate();
        int win = s.WinLengthOrDefault;
        var w = Windows.Create(s.Window, win, s.PeriodicWindow);
        var full = new double[s.NFft]; // [n_fft]
        w.CopyTo(full, (s.NFft - win) / 2);
        return full;
    }

    /// <summary>
    /// |STFT|^power of <paramref name="samples"/>: <c>[n_fft/2 + 1, frames]</c>. Throws
    /// <see cref="ArgumentException"/> when the signal is too short for one frame or for reflect padding.
    /// </summary>
    public static DoubleMatrix Compute(ReadOnlySpan<float> samples, StftSettings s)
    {
        s.Validate();
        int nFft = s.NFft, hop = s.HopLengthOrDefault, bins = s.FreqBins;
        if (StftBatch.Supports(s))
        {
            double[] result = [];
            int count = StftBatch.Run<double>(samples, s, frames =>
            {
                result = GC.AllocateUninitializedArray<double>(bins * frames); // [bins, frames], every element written
                return new SpectrogramSink<double>(result, bins, frames);
            });
            return new DoubleMatrix(result, bins, count);
        }
        int frames = s.FrameCount(samples.Length); // bounds the padded signal and the output before they are allocated
        if (frames < 1)
            throw new ArgumentException($"signal of {samples.Length} samples is shorter than n_fft = {nFft} (center = {s.Center}): no frame fits");
        var x = PadSignal(samples, s, static n => new double[n], static v => v); // [padded]
        var window = PaddedWindow(s);
        var outv = new double[(long)bins * frames]; // [bins, frames]
        var plan = FftPlan.Get(nFft);
        var frame = new double[nFft]; // [n_fft]
        var re = new double[bins];
        var im = new double[bins];
        bool square = s.Power == 2.0, magnitude = s.Power == 1.0;
        for (int t = 0; t < frames; t++)
        {
            int start = t * hop;
            for (int i = 0; i < nFft; i++) frame[i] = x[start + i] * window[i];
            plan.RealForward(frame, re, im);
            for (int f = 0; f < bins; f++)
            {
                double p = re[f] * re[f] + im[f] * im[f];
                outv[(long)f * frames + t] = square ? p : magnitude ? Math.Sqrt(p) : Math.Pow(Math.Sqrt(p), s.Power);
            }
        }
        return new DoubleMatrix(outv, bins, frames);
    }

    /// <summary>
    /// |STFT|^power of <paramref name="samples"/> in single precision, as torch.stft computes it on
    /// float32 input: <c>[n_fft/2 + 1, frames]</c>. Sixteen frames run per 512-bit vector (eight per 256-bit one, with the same bits), so this is
    /// about twice as fast as <see cref="Compute"/> and its result half the size; the values differ
    /// from <see cref="Compute"/>'s by float32 rounding (a relative error of order 1e-6 of the
    /// spectrum's norm). Settings the SIMD path does not handle fall back to <see cref="Compute"/>,
    /// rounded. Throws <see cref="ArgumentException"/> as <see cref="Compute"/> does.
    /// </summary>
    public static FeatureMatrix ComputeSingle(ReadOnlySpan<float> samples, StftSettings s)
    {
        s.Validate();
        if (!StftBatch.Supports(s)) return Compute(samples, s).ToFeatureMatrix();
        int bins = s.FreqBins;
        float[] result = [];
        int count = StftBatch.Run<float>(samples, s, frames =>
        {
            result = GC.AllocateUninitializedArray<float>(bins * frames); // [bins, frames], every element written
            return new SpectrogramSink<float>(result, bins, frames);
        });
        return new FeatureMatrix(result, bins, count);
    }

    /// <summary>
    /// The signal as doubles with <c>Pad</c> zeros on both sides, then (when centring) n_fft/2 more
    /// samples on each side by <see cref="StftSettings.PadMode"/>, built in one array.
    /// </summary>
    internal static T[] PadSignal<T>(ReadOnlySpan<float> samples, StftSettings s, Func<int, T[]> allocate, Func<float, T> convert)
        where T : struct
    {
        s.PaddedLength(samples.Length); // the bound, before the ints below could wrap
        int n0 = samples.Length + 2 * s.Pad;
        int p = s.Center ? s.NFft / 2 : 0;
        if (s.Center && n0 == 0) throw new ArgumentException("cannot centre frames on an empty signal");
        if (s.Center && s.PadMode == PadMode.Reflect && p >= n0)
            throw new ArgumentException($"reflect padding of {p} samples needs a signal longer than {p}, got {n0} samples");
        var x = allocate(n0 + 2 * p); // [padded]: p | Pad zeros | samples | Pad zeros | p (zero-filled)
        int o = p + s.Pad;
        for (int i = 0; i < samples.Length; i++) x[o + i] = convert(samples[i]);
        if (!s.Center) return x;
        // x0[i] = x[p + i] is the zero-padded signal of n0 samples
        for (int i = 1; i <= p; i++)
        {
            (x[p - i], x[p + n0 - 1 + i]) = s.PadMode switch
            {
                PadMode.Reflect => (x[p + i], x[p + n0 - 1 - i]),
                PadMode.Replicate => (x[p], x[p + n0 - 1]),
                _ => (default, default),
            };
        }
        return x;
    }
}
