using System.Numerics.Tensors;
using System.Runtime.Intrinsics;

namespace SerEngine.Audio;

/// <summary>Decibels, DCT and MFCC as torchaudio computes them, in double.</summary>
public static class Cepstrum
{
    /// <summary>
    /// torchaudio.functional.amplitude_to_DB for a 2-D input:
    /// <c>multiplier·log10(max(x, amin)) − multiplier·log10(max(amin, reference))</c>, then, when
    /// <paramref name="topDb"/> is set, floored at (maximum over the whole matrix − top_db).
    /// Use multiplier 10 for power, 20 for magnitude.
    /// </summary>
    public static DoubleMatrix AmplitudeToDb(DoubleMatrix x, double multiplier = 10.0, double amin = 1e-10,
        double reference = 1.0, double? topDb = null)
    {
        if (!(amin > 0)) throw new ArgumentException($"amin must be > 0, got {amin}");
        if (topDb is { } t && !(t >= 0)) throw new ArgumentException($"top_db must be >= 0, got {t}");
        var v = new double[x.Values.Length];
        AmplitudeToDb(x.Values, v, v.Length, multiplier, amin, reference, topDb);
        return new DoubleMatrix(v, x.Rows, x.Columns);
    }

    /// <summary><see cref="AmplitudeToDb(DoubleMatrix, double, double, double, double?)"/> of the first n values of src into v (v may be src: MFCC converts its own mel matrix in place).</summary>
    private static void AmplitudeToDb(double[] src, double[] v, int n, double multiplier, double amin, double reference, double? topDb)
    {
        double offset = multiplier * Math.Log10(Math.Max(amin, reference));
        // chunks in parallel: v = multiplier·log10(max(x, amin)) − offset, and each chunk's maximum
        int chunks = ParallelChunks(n);
        var maxima = new double[chunks];
        ForChunks(n, chunks, (c, start, end) =>
        {
            var dst = v.AsSpan(start, end - start);
            TensorPrimitives.Max(src.AsSpan(start, end - start), amin, dst);
            TensorPrimitives.Log10(dst, dst);
            TensorPrimitives.Multiply(dst, multiplier, dst);
            TensorPrimitives.Subtract(dst, offset, dst);
            maxima[c] = dst.Length > 0 ? TensorPrimitives.Max(dst) : double.NegativeInfinity;
        });
        double max = double.NegativeInfinity;
        foreach (double m in maxima) max = Math.Max(max, m);
        if (topDb is { } top && n > 0)
        {
            double floor = max - top;
            ForChunks(n, chunks, (_, start, end) => TensorPrimitives.Max(v.AsSpan(start, end - start), floor, v.AsSpan(start, end - start)));
        }
    }

    /// <summary>How many chunks to cut n elements of cheap per-element work into (1 below 64 K elements).</summary>
    private static int ParallelChunks(int n) => n < 1 << 16 ? 1 : Math.Min(4 * FrontEndThreads.Max, n >> 14);

    /// <summary>Runs body(chunk, start, end) over [0, n) cut into <paramref name="chunks"/> pieces, in parallel when more than one.</summary>
    private static void ForChunks(int n, int chunks, Action<int, int, int> body)
    {
        if (chunks <= 1)
        {
            body(0, 0, n);
            return;
        }
        Parallel.For(0, chunks, new ParallelOptions { MaxDegreeOfParallelism = FrontEndThreads.Max },
            c => body(c, (int)((long)n * c / chunks), (int)((long)n * (c + 1) / chunks)));
    }

    /// <summary>
    /// torchaudio.functional.create_dct(n_mfcc, n_mels, norm): DCT-II basis
    /// <c>cos(π/n_mels·(n + ½)·k)</c> as <c>[n_mels, n_mfcc]</c>; orthonormal scaling (row k = 0 by
    /// 1/√2, all by √(2/n_mels)) when <paramref name="ortho"/>, else times 2.
    /// </summary>
    public static DoubleMatrix CreateDct(int nMfcc, int nMels, bool ortho = true)
    {
        if (nMfcc < 1 || nMels < 1) throw new ArgumentException($"need n_mfcc >= 1 and n_mels >= 1, got {nMfcc}, {nMels}");
        var d = new double[nMels * nMfcc]; // [n_mels, n_mfcc]
        double scale = ortho ? Math.Sqrt(2.0 / nMels) : 2.0;
        for (int n = 0; n < nMels; n++)
        {
            for (int k = 0; k < nMfcc; k++)
            {
                double c = Math.Cos(Math.PI / nMels * (n + 0.5) * k) * scale;
                d[n * nMfcc + k] = ortho && k == 0 ? c / Math.Sqrt(2.0) : c;
            }
        }
        return new DoubleMatrix(d, nMels, nMfcc);
    }

    /// <summary><c>out[k, t] = Σ_m dct[m, k]·x[m, t]</c>: <c>[n_mels, n_mfcc]</c>, <c>[n_mels, frames]</c> → <c>[n_mfcc, frames]</c>.</summary>
    public static DoubleMatrix ApplyDct(DoubleMatrix dct, DoubleMatrix x)
    {
        if (dct.Rows != x.Rows) throw new ArgumentException($"DCT [{dct.Rows}, {dct.Columns}] does not fit {x.Rows} mel bands");
        var o = new double[(long)dct.Columns * x.Columns]; // [n_mfcc, frames]
        DctInto(dct.Values, x.Values, dct.Rows, dct.Columns, x.Columns, o);
        return new DoubleMatrix(o, dct.Columns, x.Columns);
    }

    /// <summary><see cref="ApplyDct(DoubleMatrix, DoubleMatrix)"/> on arrays that may be longer than their matrices: d [nM, nK], x [nM, nT] → o [nK, nT].</summary>
    private static void DctInto(double[] d, double[] x, int nM, int nK, int nT, double[] o)
    {
        // blocks of frames are independent; inside one, each output vector sums its n_mels products in
        // registers (m ascending, the same order in every lane at any vector width)
        int blocks = (nT + DctBlock - 1) / DctBlock;
        bool wide = StftBatch.Wide; // read on this thread (tests narrow it here)
        ForChunks(blocks, (long)nK * nM * nT >= 1 << 16 ? Math.Min(blocks, 4 * FrontEndThreads.Max) : 1,
            (_, b0, b1) => DctBlocks(d, x, o, nM, nK, nT, b0 * DctBlock, Math.Min(nT, b1 * DctBlock), wide));
    }

    /// <summary>Frames per block of <see cref="ApplyDct"/> (the block's [n_mels, 64] inputs stay in L1/L2 while every coefficient reads them).</summary>
    private const int DctBlock = 64;

    /// <summary>Columns t0 .. t1 − 1 of <see cref="ApplyDct"/>: o[k, t] = Σ_m d[m·nK + k]·x[m·nT + t] (512-bit vectors when <paramref name="wide"/>; the same bits either way).</summary>
    private static unsafe void DctBlocks(double[] d, double[] x, double[] o, int nM, int nK, int nT, int t0, int t1, bool wide)
    {
        fixed (double* pd = d, px = x, po = o)
        {
            int t = t0;
            if (wide)
            {
                for (; t + 8 <= t1; t += 8)
                {
                    int k = 0;
                    for (; k + 4 <= nK; k += 4) // four independent sums in flight
                    {
                        Vector512<double> a0 = default, a1 = default, a2 = default, a3 = default;
                        for (int m = 0; m < nM; m++)
                        {
                            var xv = Vector512.Load(px + (long)m * nT + t);
                            double* dm = pd + m * nK + k;
                            a0 += xv * Vector512.Create(dm[0]);
                            a1 += xv * Vector512.Create(dm[1]);
                            a2 += xv * Vector512.Create(dm[2]);
                            a3 += xv * Vector512.Create(dm[3]);
                        }
                        a0.Store(po + (long)k * nT + t);
                        a1.Store(po + (long)(k + 1) * nT + t);
                        a2.Store(po + (long)(k + 2) * nT + t);
                        a3.Store(po + (long)(k + 3) * nT + t);
                    }
                    for (; k < nK; k++)
                    {
                        var acc = Vector512<double>.Zero;
                        for (int m = 0; m < nM; m++) acc += Vector512.Load(px + (long)m * nT + t) * Vector512.Create(pd[m * nK + k]);
                        acc.Store(po + (long)k * nT + t);
                    }
                }
            }
            for (; t + 4 <= t1; t += 4)
            {
                int k = 0;
                for (; k + 8 <= nK; k += 8) // eight independent sums in flight (four leave the adds waiting on each other)
                {
                    Vector256<double> a0 = default, a1 = default, a2 = default, a3 = default, a4 = default, a5 = default, a6 = default, a7 = default;
                    for (int m = 0; m < nM; m++)
                    {
                        var xv = Vector256.Load(px + (long)m * nT + t);
                        double* dm = pd + m * nK + k;
                        a0 += xv * Vector256.Create(dm[0]);
                        a1 += xv * Vector256.Create(dm[1]);
                        a2 += xv * Vector256.Create(dm[2]);
                        a3 += xv * Vector256.Create(dm[3]);
                        a4 += xv * Vector256.Create(dm[4]);
                        a5 += xv * Vector256.Create(dm[5]);
                        a6 += xv * Vector256.Create(dm[6]);
                        a7 += xv * Vector256.Create(dm[7]);
                    }
                    a0.Store(po + (long)k * nT + t);
                    a1.Store(po + (long)(k + 1) * nT + t);
                    a2.Store(po + (long)(k + 2) * nT + t);
                    a3.Store(po + (long)(k + 3) * nT + t);
                    a4.Store(po + (long)(k + 4) * nT + t);
                    a5.Store(po + (long)(k + 5) * nT + t);
                    a6.Store(po + (long)(k + 6) * nT + t);
                    a7.Store(po + (long)(k + 7) * nT + t);
                }
                for (; k + 4 <= nK; k += 4)
                {
                    Vector256<double> a0 = default, a1 = default, a2 = default, a3 = default;
                    for (int m = 0; m < nM; m++)
                    {
                        var xv = Vector256.Load(px + (long)m * nT + t);
                        double* dm = pd + m * nK + k;
                        a0 += xv * Vector256.Create(dm[0]);
                        a1 += xv * Vector256.Create(dm[1]);
                        a2 += xv * Vector256.Create(dm[2]);
                        a3 += xv * Vector256.Create(dm[3]);
                    }
                    a0.Store(po + (long)k * nT + t);
                    a1.Store(po + (long)(k + 1) * nT + t);
                    a2.Store(po + (long)(k + 2) * nT + t);
                    a3.Store(po + (long)(k + 3) * nT + t);
                }
                for (; k < nK; k++)
                {
                    var acc = Vector256<double>.Zero;
                    for (int m = 0; m < nM; m++) acc += Vector256.Load(px + (long)m * nT + t) * Vector256.Create(pd[m * nK + k]);
                    acc.Store(po + (long)k * nT + t);
                }
            }
            for (; t < t1; t++)
                for (int k = 0; k < nK; k++)
                {
                    double acc = 0;
                    for (int m = 0; m < nM; m++) acc += px[(long)m * nT + t] * pd[m * nK + k];
                    po[(long)k * nT + t] = acc;
                }
        }
    }

    /// <summary>
    /// torchaudio.transforms.MelSpectrogram: |STFT|^power → mel filterbank, <c>[n_mels, frames]</c>.
    /// </summary>
    public static DoubleMatrix MelSpectrogram(ReadOnlySpan<float> samples, StftSettings stft, MelSettings mel)
    {
        if (!StftBatch.Supports(stft))
        {
            var spec = Stft.Compute(samples, stft);
            return MelFilterbank.Apply(MelFilterbank.Create(stft.FreqBins, mel), spec);
        }
        int count = MelSpectrogramFast(samples, stft, mel, static n => GC.AllocateUninitializedArray<double>(n), out var outv);
        return new DoubleMatrix(outv, mel.NMels, count);
    }

    /// <summary>
    /// The fast path of <see cref="MelSpectrogram"/> (<see cref="StftBatch.Supports"/> must hold): each
    /// group of frames is projected on the (cached, sparse) filterbank as it is computed, so the full
    /// spectrogram is never stored. <paramref name="allocate"/>(n) gives the <c>[n_mels, frames]</c>
    /// result's array (at least n values; every one of the first n is written); returns the frame count.
    /// </summary>
    internal static int MelSpectrogramFast(ReadOnlySpan<float> samples, StftSettings stft, MelSettings mel, Func<int, double[]> allocate, out double[] values)
    {
        var fb = MelFilterbank.CreateSparse(stft.FreqBins, mel);
        double[] outv = [];
        int n = samples.Length;
        int count = StftBatch.Run<double>(samples, stft, frames =>
        {
            if ((long)fb.Mels * frames > Array.MaxLength)
                throw new ArgumentException($"{n} samples give a mel spectrogram of {fb.Mels} bands x {frames} frames, more than the {Array.MaxLength} values an array holds");
            outv = allocate(fb.Mels * frames); // [n_mels, frames]
            return new MelSink(fb, outv, frames);
        });
        values = outv;
        return count;
    }

    /// <summary>
    /// torchaudio.transforms.MFCC: the mel spectrogram (its power from <paramref name="stft"/>), then
    /// with <paramref name="logMels"/> false amplitude_to_DB(power, amin 1e-10, ref 1, top_db),
    /// else log(mel + 1e-6); then the DCT-II (orthonormal unless <paramref name="orthoDct"/> is
    /// false) keeping <paramref name="nMfcc"/> coefficients: <c>[n_mfcc, frames]</c>.
    /// </summary>
    public static DoubleMatrix Mfcc(ReadOnlySpan<float> samples, StftSettings stft, MelSettings mel, int nMfcc,
        double? topDb = 80.0, bool logMels = false, bool orthoDct = true)
    {
        double[] o = [];
        int frames = MfccInto(samples, stft, mel, nMfcc, topDb, logMels, orthoDct, n => o = new double[n]);
        return new DoubleMatrix(o, nMfcc, frames);
    }

    /// <summary>
    /// <see cref="Mfcc(ReadOnlySpan{float}, StftSettings, MelSettings, int, double?, bool, bool)"/> into
    /// the array <paramref name="allocate"/>(n) gives (at least n values, the first n written as
    /// <c>[n_mfcc, frames]</c>); returns the frame count. The mel matrix in between comes from the
    /// shared array pool on the fast path, so repeated calls reuse its memory instead of faulting in fresh pages.
    /// </summary>
    internal static int MfccInto(ReadOnlySpan<float> samples, StftSettings stft, MelSettings mel, int nMfcc,
        double? topDb, bool logMels, bool orthoDct, Func<int, double[]> allocate)
    {
        if (nMfcc > mel.NMels) throw new ArgumentException($"n_mfcc ({nMfcc}) cannot exceed n_mels ({mel.NMels})");
        if (!logMels && topDb is { } t && !(t >= 0)) throw new ArgumentException($"top_db must be >= 0, got {t}");
        bool pooled = StftBatch.Supports(stft);
        double[] melv;
        int frames;
        if (pooled) frames = MelSpectrogramFast(samples, stft, mel, System.Buffers.ArrayPool<double>.Shared.Rent, out melv);
        else
        {
            var m = MelSpectrogram(samples, stft, mel);
            (melv, frames) = (m.Values, m.Columns);
        }
        try
        {
            int n = mel.NMels * frames;
            if (logMels)
                for (int i = 0; i < n; i++) melv[i] = Math.Log(melv[i] + 1e-6);
            else
                AmplitudeToDb(melv, melv, n, 10.0, 1e-10, 1.0, topDb); // the mel matrix is ours: in place
            var o = allocate(nMfcc * frames); // [n_mfcc, frames]
            DctInto(Dct(nMfcc, mel.NMels, orthoDct), melv, mel.NMels, nMfcc, frames, o);
            return frames;
        }
        finally
        {
            if (pooled) System.Buffers.ArrayPool<double>.Shared.Return(melv);
        }
    }

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<(int, int, bool), double[]> DctCache = new();

    /// <summary><see cref="CreateDct"/>'s values, built once per shape (a few shapes in practice).</summary>
    private static double[] Dct(int nMfcc, int nMels, bool ortho) =>
        DctCache.GetOrAdd((nMfcc, nMels, ortho), static k => CreateDct(k.Item1, k.Item2, k.Item3).Values);

    /// <summary>
    /// torchaudio.functional.compute_deltas along frames: with n = (win_length − 1)/2,
    /// <c>d[t] = Σ_{k=−n..n} k·x[t + k] / (n(n+1)(2n+1)/3)</c>, edges replicated.
    /// </summary>
    public static DoubleMatrix Deltas(DoubleMatrix x, int winLength = 5)
    {
        if (winLength < 3) throw new ArgumentException($"win_length must be >= 3, got {winLength}");
        int n = (winLength - 1) / 2, nT = x.Columns;
        double denom = n * (n + 1) * (2.0 * n + 1) / 3.0;
        var o = new double[x.Values.Length]; // [rows, frames]
        for (int r = 0; r < x.Rows; r++)
        {
            var row = x.Values.AsSpan(r * nT, nT);
            for (int t = 0; t < nT; t++)
            {
                double s = 0;
                for (int k = -n; k <= n; k++) s += k * row[Math.Clamp(t + k, 0, nT - 1)];
                o[r * nT + t] = s / denom;
            }
        }
        return new DoubleMatrix(o, x.Rows, x.Columns);
    }

    /// <summary>
    /// Per-utterance mean and variance normalisation: <c>(x − mean) / max(std, eps)</c> with the
    /// population standard deviation, over each row's frames (<paramref name="perRow"/>) or over the
    /// whole matrix.
    /// </summary>
    public static DoubleMatrix MeanVarianceNormalize(DoubleMatrix x, bool perRow = true, double eps = 1e-5)
    {
        var o = new double[x.Values.Length];
        int groups = perRow ? x.Rows : 1, len = perRow ? x.Columns : x.Values.Length;
        int g = 0;
        // four rows at a time: four independent add chains instead of one (each row still summed in order, so the same bits)
        if (len > 0)
            for (; g + 4 <= groups; g += 4) NormalizeFourRows(x.Values, o, g * len, len, eps);
        for (; g < groups && len > 0; g++)
        {
            var src = x.Values.AsSpan(g * len, len);
            double mean = 0;
            foreach (double v in src) mean += v;
            mean /= len;
            double var = 0;
            foreach (double v in src) var += (v - mean) * (v - mean);
            double inv = 1.0 / Math.Max(Math.Sqrt(var / len), eps);
            for (int i = 0; i < len; i++) o[g * len + i] = (src[i] - mean) * inv;
        }
        return new DoubleMatrix(o, x.Rows, x.Columns);
    }

    /// <summary>MeanVarianceNormalize's per-row arithmetic on rows <paramref name="from"/>/len … +3, their sums interleaved.</summary>
    private static void NormalizeFourRows(double[] x, double[] o, int from, int len, double eps)
    {
        ReadOnlySpan<double> r0 = x.AsSpan(from, len), r1 = x.AsSpan(from + len, len), r2 = x.AsSpan(from + 2 * len, len), r3 = x.AsSpan(from + 3 * len, len);
        double m0 = 0, m1 = 0, m2 = 0, m3 = 0;
        for (int i = 0; i < len; i++)
        {
            m0 += r0[i];
            m1 += r1[i];
            m2 += r2[i];
            m3 += r3[i];
        }
        m0 /= len;
        m1 /= len;
        m2 /= len;
        m3 /= len;
        double v0 = 0, v1 = 0, v2 = 0, v3 = 0;
        for (int i = 0; i < len; i++)
        {
            v0 += (r0[i] - m0) * (r0[i] - m0);
            v1 += (r1[i] - m1) * (r1[i] - m1);
            v2 += (r2[i] - m2) * (r2[i] - m2);
            v3 += (r3[i] - m3) * (r3[i] - m3);
        }
        Scale(r0, o.AsSpan(from, len), m0, 1.0 / Math.Max(Math.Sqrt(v0 / len), eps));
        Scale(r1, o.AsSpan(from + len, len), m1, 1.0 / Math.Max(Math.Sqrt(v1 / len), eps));
        Scale(r2, o.AsSpan(from + 2 * len, len), m2, 1.0 / Math.Max(Math.Sqrt(v2 / len), eps));
        Scale(r3, o.AsSpan(from + 3 * len, len), m3, 1.0 / Math.Max(Math.Sqrt(v3 / len), eps));

        static void Scale(ReadOnlySpan<double> src, Span<double> dst, double mean, double inv)
        {
            for (int i = 0; i < src.Length; i++) dst[i] = (src[i] - mean) * inv;
        }
    }
}
