namespace SerEngine.Audio;

/// <summary>
/// Band-limited sample-rate conversion by a rational ratio (up L, down M after dividing both rates
/// by their gcd), as a polyphase windowed-sinc filter: output sample n sits at input time
/// t = n·M/L and is <c>y[n] = Σₖ x[k]·h(t − k)</c> with <c>h(t) = fc·sinc(fc·t)·kaiser(t / W)</c>,
/// cutoff <c>fc = rolloff·min(1, L/M)</c> (as a fraction of the input Nyquist rate) and half-width
/// <c>W = zeroCrossings / fc</c> input samples. Samples outside the signal are zero. The L phases'
/// taps are tabulated once (or computed per sample when the table would exceed 4 M taps).
/// Arithmetic is double precision. Both rates must lie in <see cref="SampleRates.Min"/>..<see cref="SampleRates.Max"/>,
/// which bounds the ratio (and so the output length and the filter size) before anything is allocated.
/// </summary>
public sealed class Resampler
{
    private const long MaxTableTaps = 1 << 22;

    /// <summary>The most filter taps one output sample may use (the default filter needs at most 52 014, at 768 kHz → 1 kHz).</summary>
    public const int MaxTapsPerOutput = 1 << 20;
    private readonly double _fc, _halfWidth, _beta, _i0Beta;
    private readonly int _k; // taps per phase = 2·_k
    private readonly double[]? _table; // [L, 2K]

    /// <summary>Builds a resampler.</summary>
    /// <param name="fromRate">Input rate in Hz.</param>
    /// <param name="toRate">Output rate in Hz.</param>
    /// <param name="zeroCrossings">Sinc zero crossings on each side of the centre (filter length).</param>
    /// <param name="rolloff">Cutoff as a fraction of the lower Nyquist rate (below 1 leaves room for the transition band).</param>
    /// <param name="kaiserBeta">Kaiser window β (about 9 gives ≈ 90 dB stop-band attenuation).</param>
    public Resampler(int fromRate, int toRate, int zeroCrossings = 32, double rolloff = 0.945, double kaiserBeta = 9.0)
    {
        SampleRates.ThrowIfUnsupported(fromRate, nameof(fromRate));
        SampleRates.ThrowIfUnsupported(toRate, nameof(toRate));
        if (zeroCrossings < 1) throw new ArgumentOutOfRangeException(nameof(zeroCrossings), zeroCrossings, "must be >= 1");
        if (!(rolloff > 0 && rolloff <= 1)) throw new ArgumentOutOfRangeException(nameof(rolloff), rolloff, "must be in (0, 1]");
        if (!(kaiserBeta >= 0)) throw new ArgumentOutOfRangeException(nameof(kaiserBeta), kaiserBeta, "must be >= 0");
        FromRate = fromRate;
        ToRate = toRate;
        int g = Gcd(fromRate, toRate);
        Up = toRate / g;
        Down = fromRate / g;
        _fc = rolloff * Math.Min(1.0, (double)Up / Down);
        _halfWidth = zeroCrossings / _fc;
        double taps = 2 * (Math.Floor(_halfWidth) + 1); // in double: an int could wrap for a huge zeroCrossings
        if (taps > MaxTapsPerOutput)
            throw new ArgumentOutOfRangeException(nameof(zeroCrossings), zeroCrossings,
                $"{zeroCrossings} zero crossings at {fromRate} Hz -> {toRate} Hz need {taps} filter taps per output sample, at most {MaxTapsPerOutput} are allowed");
        _beta = kaiserBeta;
        _i0Beta = BesselI0(kaiserBeta);
        _k = (int)Math.Floor(_halfWidth) + 1;
        if (Up != Down && (long)Up * 2 * _k <= MaxTableTaps)
        {
            _table = new double[Up * 2 * _k];
            for (int p = 0; p < Up; p++) FillTaps(p, _table.AsSpan(p * 2 * _k, 2 * _k));
        }
    }

    /// <summary>Input rate in Hz.</summary>
    public int FromRate { get; }

    /// <summary>Output rate in Hz.</summary>
    public int ToRate { get; }

    /// <summary>Interpolation factor L = toRate / gcd.</summary>
    public int Up { get; }

    /// <summary>Decimation factor M = fromRate / gcd.</summary>
    public int Down { get; }

    /// <summary>True when the phases' taps are tabulated (false: computed per output sample).</summary>
    internal bool IsTabulated => _table is not null;

    /// <summary>Filter taps used per output sample.</summary>
    public int TapsPerOutput => 2 * _k;

    /// <summary>Output length for <paramref name="inputLength"/> samples: ⌈n·L/M⌉ (as torchaudio), computed without overflow.</summary>
    public long OutputLength(long inputLength)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(inputLength);
        var n = ((Int128)inputLength * Up + Down - 1) / Down;
        return n > long.MaxValue ? long.MaxValue : (long)n;
    }

    /// <summary>Converts <paramref name="rateFrom"/> to <paramref name="rateTo"/> with the default filter (both rates in <see cref="SampleRates"/>' range).</summary>
    public static float[] Resample(ReadOnlySpan<float> input, int rateFrom, int rateTo)
    {
        SampleRates.ThrowIfUnsupported(rateFrom, nameof(rateFrom));
        SampleRates.ThrowIfUnsupported(rateTo, nameof(rateTo));
        return rateFrom == rateTo ? input.ToArray() : new Resampler(rateFrom, rateTo).Process(input);
    }

    /// <summary>Resamples a whole signal.</summary>
    public float[] Process(ReadOnlySpan<float> input)
    {
        if (Up == Down) return input.ToArray();
        long outLen = OutputLength(input.Length);
        if (outLen > Array.MaxLength) // checked before allocating: the rate range bounds the ratio, this bounds the array
            throw new ArgumentException($"{input.Length} samples at {FromRate} Hz give {outLen} at {ToRate} Hz, more than the {Array.MaxLength} an array holds");
        var y = new float[outLen]; // [outLen]
        int taps = 2 * _k;
        Span<double> scratch = _table is null ? new double[taps] : default;
        for (long n = 0; n < outLen; n++)
        {
            long pos = n * Down;
            long i = pos / Up;
            int phase = (int)(pos % Up);
            ReadOnlySpan<double> h;
            if (_table is not null)
            {
                h = _table.AsSpan(phase * taps, taps);
            }
            else
            {
                FillTaps(phase, scratch);
                h = scratch;
            }
            long k0 = i - _k + 1; // tap j multiplies x[k0 + j]
            int jLo = (int)Math.Max(0, -k0), jHi = (int)Math.Min(taps, input.Length - k0);
            double acc = 0;
            for (int j = jLo; j < jHi; j++) acc += h[j] * input[(int)(k0 + j)];
            y[n] = (float)acc;
        }
        return y;
    }

    /// <summary>Taps of phase p: tap j is h(K − 1 − j + p/L).</summary>
    private void FillTaps(int phase, Span<double> dst)
    {
        double frac = (double)phase / Up;
        for (int j = 0; j < dst.Length; j++)
        {
            double t = _k - 1 - j + frac;
            if (Math.Abs(t) >= _halfWidth)
            {
                dst[j] = 0;
                continue;
            }
            double x = _fc * t;
            double sinc = x == 0 ? 1 : Math.Sin(Math.PI * x) / (Math.PI * x);
            double r = t / _halfWidth;
            dst[j] = _fc * sinc * BesselI0(_beta * Math.Sqrt(1 - r * r)) / _i0Beta;
        }
    }

    /// <summary>Modified Bessel function of the first kind, order 0 (power series).</summary>
    public static double BesselI0(double x)
    {
        double sum = 1, term = 1, q = x * x / 4;
        for (int k = 1; k < 500; k++)
        {
            term *= q / ((double)k * k);
            sum += term;
            if (term < 1e-17 * sum) break;
        }
        return sum;
    }

    private static int Gcd(int a, int b)
    {
        while (b != 0) (a, b) = (b, a % b);
        return a;
    }
}
