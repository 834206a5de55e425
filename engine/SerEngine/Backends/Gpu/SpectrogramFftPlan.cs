using System.Collections.Concurrent;

namespace SerEngine.Backends.Gpu;

/// <summary>
/// The host half of <c>spectrogram_fft</c> (kernels/spectrogram.cl, kernels/fft.h) for one DFT size N:
/// the complex FFT length, whether Bluestein is needed, and the table the kernel reads, all computed
/// in double and rounded once to float.
/// </summary>
/// <remarks>
/// Dimension legend: N = nFft; L = N/2 for even N (the real-input trick: even samples as real parts,
/// odd ones as imaginary parts), else N; M = the power of two ≥ 2L − 1 of Bluestein's convolution, used
/// only when L has a prime factor above 5. Table layout (floats): cos(2πj/N) for j &lt; N, then sin
/// ([2, N]); with Bluestein, then the M-point twiddles [2, M], the chirp e^(−iπm²/L) as cos, sin [2, L],
/// and the chirp spectrum FFT_M(b)/M [2, M] (re, im), b[n] = e^(iπn²/L) for |n| &lt; L wrapped modulo M.
/// </remarks>
internal sealed class SpectrogramFftPlan
{
    /// <summary>Most complex points one work-group transforms in local memory (the kernel's FFT_MAX).</summary>
    public const int MaxPoints = 2048;

    private static readonly ConcurrentDictionary<int, SpectrogramFftPlan> Plans = new();

    /// <summary>The DFT size N.</summary>
    public int NFft { get; }

    /// <summary>The length L of the complex transform (N/2 for even N, else N).</summary>
    public int Length { get; }

    /// <summary>Bluestein's power-of-two length M, or 0 when L is a product of 2, 3 and 5.</summary>
    public int BluesteinM { get; }

    /// <summary>The device table (layout in the remarks).</summary>
    public float[] Table { get; }

    private SpectrogramFftPlan(int nFft)
    {
        NFft = nFft;
        Length = ComplexLength(nFft);
        BluesteinM = BluesteinLength(Length);
        Table = BuildTable(nFft, Length, BluesteinM);
    }

    /// <summary>The plan for <paramref name="nFft"/> (built once per process).</summary>
    /// <exception cref="ArgumentOutOfRangeException">A size that does not <see cref="Fits"/>.</exception>
    public static SpectrogramFftPlan For(int nFft)
    {
        if (!Fits(nFft))
            throw new ArgumentOutOfRangeException(nameof(nFft), $"spectrogram_fft: nFft = {nFft} needs a {FftPoints(nFft)}-point FFT, above its local-memory limit of {MaxPoints} points");
        return Plans.GetOrAdd(nFft, n => new SpectrogramFftPlan(n));
    }

    /// <summary>
    /// Whether one work-group can transform <paramref name="nFft"/>: even N up to 4096 (2·3·5-smooth) or
    /// 2048 (Bluestein), odd N up to 2048 (smooth) or 1024 (Bluestein).
    /// </summary>
    public static bool Fits(int nFft) => nFft >= 1 && FftPoints(nFft) <= MaxPoints;

    /// <summary>Points of the FFT the kernel runs: L, or M for Bluestein.</summary>
    private static long FftPoints(int nFft)
    {
        int l = ComplexLength(nFft);
        return Smooth(l) ? l : NextPowerOfTwo(2L * l - 1);
    }

    private static int ComplexLength(int nFft) => nFft % 2 == 0 ? nFft / 2 : nFft;

    private static int BluesteinLength(int l) => Smooth(l) ? 0 : (int)NextPowerOfTwo(2L * l - 1);

    /// <summary>Whether <paramref name="n"/> has no prime factor above 5 (the kernel's radices).</summary>
    public static bool Smooth(int n)
    {
        foreach (int r in new[] { 2, 3, 5 })
            while (n % r == 0) n /= r;
        return n == 1;
    }

    private static long NextPowerOfTwo(long n)
    {
        long m = 1;
        while (m < n) m <<= 1;
        return m;
    }

    private static float[] BuildTable(int nFft, int l, int m)
    {
        var t = new float[2 * nFft + (m > 0 ? 4 * m + 2 * l : 0)];
        FillTwiddles(t.AsSpan(0, 2 * nFft), nFft);
        if (m == 0) return t;
        FillTwiddles(t.AsSpan(2 * nFft, 2 * m), m);
        var chirp = t.AsSpan(2 * nFft + 2 * m, 2 * l); // [2, L]: cos, sin of π·(m² mod 2L)/L (exact index)
        for (long j = 0; j < l; j++)
        {
            double theta = Math.PI * (j * j % (2L * l)) / l;
            chirp[(int)j] = (float)Math.Cos(theta);
            chirp[l + (int)j] = (float)Math.Sin(theta);
        }
        // b[n] = e^(+iπn²/L) for |n| < L, wrapped modulo M; its DFT over M points by definition, in double
        var bRe = new double[m];
        var bIm = new double[m];
        for (long j = 0; j < l; j++)
        {
            double theta = Math.PI * (j * j % (2L * l)) / l;
            bRe[j] = bRe[(m - j) % m] = Math.Cos(theta);
            bIm[j] = bIm[(m - j) % m] = Math.Sin(theta);
        }
        var cos = new double[m];
        var sin = new double[m];
        for (int j = 0; j < m; j++)
        {
            cos[j] = Math.Cos(2.0 * Math.PI * j / m);
            sin[j] = Math.Sin(2.0 * Math.PI * j / m);
        }
        var spectrum = t.AsSpan(2 * nFft + 2 * m + 2 * l, 2 * m); // [2, M]: re, im of FFT_M(b)/M
        for (int k = 0; k < m; k++)
        {
            double re = 0, im = 0;
            for (int j = 0, idx = 0; j < m; j++, idx = (idx + k) % m) // idx = j·k mod M
            {
                if (bRe[j] == 0 && bIm[j] == 0) continue;
                re += bRe[j] * cos[idx] + bIm[j] * sin[idx];
                im += bIm[j] * cos[idx] - bRe[j] * sin[idx];
            }
            spectrum[k] = (float)(re / m);
            spectrum[m + k] = (float)(im / m);
        }
        return t;
    }

    /// <summary>cos(2πj/n) for j &lt; n, then sin(2πj/n), in double rounded to float.</summary>
    private static void FillTwiddles(Span<float> t, int n)
    {
        for (int j = 0; j < n; j++)
        {
            double theta = 2.0 * Math.PI * j / n;
            t[j] = (float)Math.Cos(theta);
            t[n + j] = (float)Math.Sin(theta);
        }
    }
}
