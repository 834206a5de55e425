using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace SerEngine.Audio;

/// <summary>
/// Receives the spectra of a group of four consecutive STFT frames (one per lane): spec[f] holds
/// |X(f)|^power of frames t0 .. t0 + 3 for every bin f; lanes past <c>count</c> are padding to ignore.
/// Called from several threads at once for different groups.
/// </summary>
internal abstract unsafe class FrameSink
{
    /// <summary>Consumes the group starting at frame <paramref name="t0"/> with <paramref name="count"/> (1–4) valid lanes.</summary>
    public abstract void Consume(int t0, int count, Vector256<double>* spec);
}

/// <summary>
/// The fast STFT: frames are taken four at a time (each a lane of <see cref="Vector256{T}"/>), the
/// real FFT of length n runs as a batched complex FFT of length n/2 (<see cref="FftBatch4"/>) plus
/// the usual split into even and odd parts with precomputed twiddles, and groups of frames are shared
/// among <see cref="FrontEndThreads.Max"/> threads. Everything is double precision; the results equal
/// <see cref="FftPlan"/>'s to rounding. Legend: n = n_fft, h = n/2, bins = h + 1.
/// </summary>
internal static unsafe class StftBatch
{
    /// <summary>True when this path handles the settings (even n_fft whose half is 2/3/5-smooth, 256-bit SIMD).</summary>
    public static bool Supports(StftSettings s) =>
        Vector256.IsHardwareAccelerated && s.NFft >= 4 && s.NFft % 2 == 0 && FftBatch4.Supports(s.NFft / 2);

    /// <summary>
    /// The STFT of <paramref name="samples"/> as <see cref="Stft.Compute"/> frames it (Pad zeros,
    /// centring), each group of four frames handed to the sink that <paramref name="sinkForFrames"/> makes
    /// for the frame count (called once, before any frame); returns the frame count.
    /// The padded signal is only built when there is padding (as floats: the same values as the
    /// doubles the reference path pads, at half the memory).
    /// </summary>
    public static int Run(ReadOnlySpan<float> samples, StftSettings s, Func<int, FrameSink> sinkForFrames)
    {
        s.Validate();
        int frames = s.FrameCount(samples.Length);
        if (frames < 1)
            throw new ArgumentException($"signal of {samples.Length} samples is shorter than n_fft = {s.NFft} (center = {s.Center}): no frame fits");
        var window = Stft.PaddedWindow(s);
        var sink = sinkForFrames(frames);
        if (s.Pad == 0 && !s.Center)
        {
            fixed (float* px = samples) Run(px, frames, s, window, sink);
        }
        else
        {
            var x = Stft.PadSignal(samples, s, static n => new float[n], static v => (float)v);
            fixed (float* px = x) Run(px, frames, s, window, sink);
        }
        return frames;
    }

    /// <summary>
    /// Runs frames 0 .. frames−1 of the padded signal <paramref name="x"/> (frame t starts at t·hop),
    /// windowed by <paramref name="window"/> [n], through the FFT and |·|^power, handing every group of
    /// four to <paramref name="sink"/>. x stays pinned by the caller until this returns.
    /// </summary>
    private static void Run(float* x, int frames, StftSettings s, double[] window, FrameSink sink)
    {
        nint signal = (nint)x;
        int n = s.NFft, h = n / 2, bins = h + 1, hop = s.HopLengthOrDefault;
        var plan = FftBatch4.Get(h);
        var (wr, wi) = HalfTwiddles(n);
        double power = s.Power;
        int groups = (frames + 3) / 4;
        int threads = Math.Max(1, Math.Min(FrontEndThreads.Max, groups / 4));
        int chunks = threads == 1 ? 1 : Math.Min(groups, 4 * threads);
        void Chunk(int c)
        {
            int g0 = (int)((long)groups * c / chunks), g1 = (int)((long)groups * (c + 1) / chunks);
            // [h] re, im, scratch re, scratch im; [bins] spectrum
            var buffer = new Vector256<double>[4 * h + bins];
            fixed (Vector256<double>* pb = buffer)
            fixed (double* pw = window, pwr = wr, pwi = wi)
            {
                Vector256<double>* zr = pb, zi = pb + h, sr = pb + 2 * h, si = pb + 3 * h, spec = pb + 4 * h;
                float* px = (float*)signal;
                for (int g = g0; g < g1; g++)
                {
                    int t0 = 4 * g, count = Math.Min(4, frames - t0);
                    // lanes past the last frame repeat frame t0 (their results are ignored)
                    float* f0 = px + (long)t0 * hop, f1 = count > 1 ? f0 + hop : f0, f2 = count > 2 ? f0 + 2 * hop : f0, f3 = count > 3 ? f0 + 3 * hop : f0;
                    for (int j = 0; j < h; j++)
                    {
                        double we = pw[2 * j], wo = pw[2 * j + 1];
                        zr[j] = Vector256.Create(f0[2 * j], f1[2 * j], f2[2 * j], f3[2 * j]) * Vector256.Create(we);
                        zi[j] = Vector256.Create(f0[2 * j + 1], f1[2 * j + 1], f2[2 * j + 1], f3[2 * j + 1]) * Vector256.Create(wo);
                    }
                    plan.Forward(zr, zi, sr, si);
                    RealSpectrum(zr, zi, pwr, pwi, h, power, spec);
                    sink.Consume(t0, count, spec);
                }
            }
        }
        if (chunks == 1) Chunk(0);
        else Parallel.For(0, chunks, new ParallelOptions { MaxDegreeOfParallelism = threads }, Chunk);
    }

    /// <summary>
    /// X[k] for k = 0..h from Z = FFT_h(x[2j] + i·x[2j+1]): E = (Z[k] + conj Z[h−k])/2,
    /// O = (Z[k] − conj Z[h−k])/2i, X = E + W^k·O; then spec[k] = |X|^power.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void RealSpectrum(Vector256<double>* zr, Vector256<double>* zi, double* wr, double* wi, int h, double power, Vector256<double>* spec)
    {
        var half = Vector256.Create(0.5);
        for (int k = 0; k <= h; k++)
        {
            int a = k == h ? 0 : k, b = k == 0 ? 0 : h - k;
            var eRe = half * (zr[a] + zr[b]);
            var eIm = half * (zi[a] - zi[b]);
            var oRe = half * (zi[a] + zi[b]);
            var oIm = half * (zr[b] - zr[a]);
            var vr = Vector256.Create(wr[k]);
            var vi = Vector256.Create(wi[k]);
            var re = eRe + vr * oRe - vi * oIm;
            var im = eIm + vr * oIm + vi * oRe;
            var p = re * re + im * im;
            if (power == 2.0) spec[k] = p;
            else if (power == 1.0) spec[k] = Vector256.Sqrt(p);
            else
                spec[k] = Vector256.Create(Math.Pow(Math.Sqrt(p[0]), power), Math.Pow(Math.Sqrt(p[1]), power),
                    Math.Pow(Math.Sqrt(p[2]), power), Math.Pow(Math.Sqrt(p[3]), power));
        }
    }

    /// <summary>W^k = e^(−2πik/n) for k = 0..n/2 (re, im).</summary>
    private static (double[] Re, double[] Im) HalfTwiddles(int n)
    {
        int h = n / 2;
        var re = new double[h + 1];
        var im = new double[h + 1];
        for (int k = 0; k <= h; k++)
        {
            var (s, c) = Math.SinCos(2 * Math.PI * k / n);
            re[k] = c;
            im[k] = -s;
        }
        return (re, im);
    }
}

/// <summary>Writes each group's spectra into a <c>[bins, frames]</c> matrix (four frames are one 32-byte store per bin).</summary>
internal sealed unsafe class SpectrogramSink(double[] output, int bins, int frames) : FrameSink
{
    /// <inheritdoc/>
    public override void Consume(int t0, int count, Vector256<double>* spec)
    {
        fixed (double* po = output)
        {
            for (int f = 0; f < bins; f++)
            {
                double* dst = po + (long)f * frames + t0;
                if (count == 4) spec[f].Store(dst);
                else for (int l = 0; l < count; l++) dst[l] = spec[f][l];
            }
        }
    }
}

/// <summary>Projects each group's spectra on a sparse mel filterbank into a <c>[n_mels, frames]</c> matrix.</summary>
internal sealed unsafe class MelSink(SparseFilterbank fb, double[] output, int frames) : FrameSink
{
    /// <inheritdoc/>
    public override void Consume(int t0, int count, Vector256<double>* spec)
    {
        fixed (double* po = output, pw = fb.Weights)
        {
            for (int m = 0; m < fb.Mels; m++)
            {
                int lo = fb.Start[m], len = fb.Length[m];
                double* w = pw + fb.Offset[m];
                var acc = Vector256<double>.Zero;
                for (int i = 0; i < len; i++) acc += Vector256.Create(w[i]) * spec[lo + i];
                double* dst = po + (long)m * frames + t0;
                if (count == 4) acc.Store(dst);
                else for (int l = 0; l < count; l++) dst[l] = acc[l];
            }
        }
    }
}

/// <summary>
/// A mel filterbank <c>[n_freqs, n_mels]</c> kept by filter: filter m covers bins
/// Start[m] .. Start[m] + Length[m] − 1 with weights Weights[Offset[m] ..] (its non-zero run).
/// </summary>
internal sealed class SparseFilterbank
{
    /// <summary>Keeps the non-zero run of every column of <paramref name="fb"/> [n_freqs, n_mels].</summary>
    public SparseFilterbank(DoubleMatrix fb)
    {
        int nF = fb.Rows, nM = fb.Columns;
        Mels = nM;
        Start = new int[nM];
        Length = new int[nM];
        Offset = new int[nM];
        var weights = new List<double>();
        for (int m = 0; m < nM; m++)
        {
            int lo = 0, hi = -1;
            for (int f = 0; f < nF; f++)
                if (fb.Values[f * nM + m] != 0)
                {
                    if (hi < 0) lo = f;
                    hi = f;
                }
            Start[m] = lo;
            Length[m] = hi - lo + 1;
            Offset[m] = weights.Count;
            for (int f = lo; f <= hi; f++) weights.Add(fb.Values[f * nM + m]);
        }
        Weights = [.. weights];
    }

    /// <summary>Number of filters.</summary>
    public int Mels { get; }

    /// <summary>First bin of each filter's run.</summary>
    public int[] Start { get; }

    /// <summary>Bins in each filter's run (0 for an all-zero filter).</summary>
    public int[] Length { get; }

    /// <summary>Where each filter's weights start in <see cref="Weights"/>.</summary>
    public int[] Offset { get; }

    /// <summary>The runs' weights, filter after filter.</summary>
    public double[] Weights { get; }
}
