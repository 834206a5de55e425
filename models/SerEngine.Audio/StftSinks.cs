using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace SerEngine.Audio;

/// <summary>
/// Receives the spectra of a group of L consecutive STFT frames (one per vector lane: L = 4 or 8 in
/// double precision, 8 or 16 in single, by the vector width <see cref="StftBatch"/> runs with):
/// spec[f·L + l] holds |X(f)|^power of frame t0 + l for every bin f; lanes past <c>count</c> are
/// padding to ignore. Called from several threads at once for different groups.
/// </summary>
internal abstract unsafe class FrameSink<T>
    where T : unmanaged
{
    /// <summary>Consumes the group starting at frame <paramref name="t0"/> with <paramref name="count"/> (1–<paramref name="lanes"/>) valid lanes.</summary>
    public abstract void Consume(int t0, int count, int lanes, T* spec);

    /// <summary>Called before the group at frame <paramref name="t0"/> is transformed: a hint to fetch what its <see cref="Consume"/> will write.</summary>
    public virtual void Prepare(int t0, int lanes)
    {
    }
}

/// <summary>Writes each group's spectra into a <c>[bins, frames]</c> matrix (a group is one 32- or 64-byte store per bin).</summary>
internal sealed unsafe class SpectrogramSink<T>(T[] output, int bins, int frames) : FrameSink<T>
    where T : unmanaged
{
    /// <inheritdoc/>
    public override void Consume(int t0, int count, int lanes, T* spec)
    {
        fixed (T* po = output)
            Write(po, bins, frames, t0, count, lanes, spec);
    }

    /// <inheritdoc/>
    public override void Prepare(int t0, int lanes)
    {
        if (!Sse.IsSupported || t0 + lanes > frames) return;
        // a group's stores miss one new line per row (the rows are frames apart): asked for now, into L2,
        // those lines arrive while the frames are transformed instead of stalling the stores
        fixed (T* po = output)
        {
            T* p = po + t0 + lanes - 1;
            for (int f = 0; f < bins; f++) Sse.Prefetch1(p + (long)f * frames);
        }
    }

    /// <summary>The group into <paramref name="po"/> <c>[bins, frames]</c>, row by row.</summary>
    internal static void Write(T* po, int bins, int frames, int t0, int count, int lanes, T* spec)
    {
        int bytes = lanes * sizeof(T);
        for (int f = 0; f < bins; f++)
        {
            T* dst = po + (long)f * frames + t0;
            T* src = spec + f * lanes;
            if (count == lanes && bytes == 64) Vector512.Store(Vector512.Load((byte*)src), (byte*)dst);
            else if (count == lanes && bytes == 32) Vector256.Store(Vector256.Load((byte*)src), (byte*)dst);
            else for (int l = 0; l < count; l++) dst[l] = src[l];
        }
    }
}

/// <summary>Projects each group's spectra on a sparse mel filterbank into a <c>[n_mels, frames]</c> matrix.</summary>
internal sealed unsafe class MelSink(SparseFilterbank fb, double[] output, int frames) : FrameSink<double>
{
    /// <inheritdoc/>
    public override void Consume(int t0, int count, int lanes, double* spec)
    {
        fixed (double* po = output, pw = fb.Weights)
        {
            if (lanes == 4)
            {
                Consume4(t0, count, spec, po, pw);
                return;
            }
            for (int m = 0; m < fb.Mels; m++)
            {
                int lo = fb.Start[m], len = fb.Length[m];
                double* w = pw + fb.Offset[m];
                double* dst = po + (long)m * frames + t0;
                // the same products and sums in the same order in every lane, at either width (eight-frame groups here)
                var acc = Vector512<double>.Zero;
                for (int i = 0; i < len; i++) acc += Vector512.Create(w[i]) * Vector512.Load(spec + (lo + i) * 8);
                if (count == 8) acc.Store(dst);
                else for (int l = 0; l < count; l++) dst[l] = acc[l];
            }
        }
    }

    /// <summary>
    /// <see cref="Consume"/> with four-frame groups (256-bit vectors): four filters at a time, their sums
    /// interleaved over the bins they all cover, so four add chains are in flight instead of one (each
    /// filter still sums its bins in order, so the same bits).
    /// </summary>
    private void Consume4(int t0, int count, double* spec, double* po, double* pw)
    {
        int m = 0;
        for (; m + 4 <= fb.Mels; m += 4)
        {
            int lo0 = fb.Start[m], lo1 = fb.Start[m + 1], lo2 = fb.Start[m + 2], lo3 = fb.Start[m + 3];
            int len0 = fb.Length[m], len1 = fb.Length[m + 1], len2 = fb.Length[m + 2], len3 = fb.Length[m + 3];
            double* w0 = pw + fb.Offset[m], w1 = pw + fb.Offset[m + 1], w2 = pw + fb.Offset[m + 2], w3 = pw + fb.Offset[m + 3];
            double* s0 = spec + lo0 * 4, s1 = spec + lo1 * 4, s2 = spec + lo2 * 4, s3 = spec + lo3 * 4;
            var a0 = Vector256<double>.Zero; var a1 = a0; var a2 = a0; var a3 = a0;
            int common = Math.Min(Math.Min(len0, len1), Math.Min(len2, len3)), i = 0;
            for (; i < common; i++)
            {
                a0 += Vector256.Create(w0[i]) * Vector256.Load(s0 + i * 4);
                a1 += Vector256.Create(w1[i]) * Vector256.Load(s1 + i * 4);
                a2 += Vector256.Create(w2[i]) * Vector256.Load(s2 + i * 4);
                a3 += Vector256.Create(w3[i]) * Vector256.Load(s3 + i * 4);
            }
            for (int j = i; j < len0; j++) a0 += Vector256.Create(w0[j]) * Vector256.Load(s0 + j * 4);
            for (int j = i; j < len1; j++) a1 += Vector256.Create(w1[j]) * Vector256.Load(s1 + j * 4);
            for (int j = i; j < len2; j++) a2 += Vector256.Create(w2[j]) * Vector256.Load(s2 + j * 4);
            for (int j = i; j < len3; j++) a3 += Vector256.Create(w3[j]) * Vector256.Load(s3 + j * 4);
            Store4(po + (long)m * frames + t0, a0, count);
            Store4(po + (long)(m + 1) * frames + t0, a1, count);
            Store4(po + (long)(m + 2) * frames + t0, a2, count);
            Store4(po + (long)(m + 3) * frames + t0, a3, count);
        }
        for (; m < fb.Mels; m++)
        {
            int lo = fb.Start[m], len = fb.Length[m];
            double* w = pw + fb.Offset[m];
            var acc = Vector256<double>.Zero;
            for (int i = 0; i < len; i++) acc += Vector256.Create(w[i]) * Vector256.Load(spec + (lo + i) * 4);
            Store4(po + (long)m * frames + t0, acc, count);
        }
    }

    /// <summary>The first <paramref name="count"/> lanes of <paramref name="acc"/> to <paramref name="dst"/>.</summary>
    private static void Store4(double* dst, Vector256<double> acc, int count)
    {
        if (count == 4) acc.Store(dst);
        else for (int l = 0; l < count; l++) dst[l] = acc[l];
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
