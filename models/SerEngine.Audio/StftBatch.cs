using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace SerEngine.Audio;

/// <summary>
/// Receives the spectra of a group of L = <see cref="Vector256{T}.Count"/> consecutive STFT frames
/// (one per lane: four in double precision, eight in single): spec[f] holds |X(f)|^power of frames
/// t0 .. t0 + L − 1 for every bin f; lanes past <c>count</c> are padding to ignore.
/// Called from several threads at once for different groups.
/// </summary>
internal abstract unsafe class FrameSink<T>
    where T : unmanaged
{
    /// <summary>Consumes the group starting at frame <paramref name="t0"/> with <paramref name="count"/> (1–L) valid lanes.</summary>
    public abstract void Consume(int t0, int count, Vector256<T>* spec);
}

/// <summary>
/// The fast STFT: frames are taken L at a time (each a lane of <see cref="Vector256{T}"/>: L = 4 in
/// double precision, 8 in single), the real FFT of length n runs as a batched complex FFT of length
/// n/2 (<see cref="FftBatch{T}"/>) plus the usual split into even and odd parts with precomputed
/// twiddles, and groups of frames are shared among <see cref="FrontEndThreads.Max"/> threads. In
/// double precision the results equal <see cref="FftPlan"/>'s to rounding; in single precision they
/// carry float32 rounding (as torch.stft's). Legend: n = n_fft, h = n/2, bins = h + 1.
/// </summary>
internal static unsafe class StftBatch
{
    /// <summary>True when this path handles the settings (even n_fft whose half is 2/3/5-smooth, 256-bit SIMD).</summary>
    public static bool Supports(StftSettings s) =>
        Vector256.IsHardwareAccelerated && s.NFft >= 4 && s.NFft % 2 == 0 && FftPlan.Get(s.NFft / 2) is { UsesBluestein: false };

    /// <summary>
    /// The STFT of <paramref name="samples"/> as <see cref="Stft.Compute"/> frames it (Pad zeros,
    /// centring), each group of L frames handed to the sink that <paramref name="sinkForFrames"/> makes
    /// for the frame count (called once, before any frame); returns the frame count.
    /// The padded signal is never built: frames inside the signal read it in place, and only the few
    /// frames that reach into the padding read small copies of the padded head and tail.
    /// </summary>
    public static int Run<T>(ReadOnlySpan<float> samples, StftSettings s, Func<int, FrameSink<T>> sinkForFrames)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        s.Validate();
        int frames = s.FrameCount(samples.Length);
        if (frames < 1)
            throw new ArgumentException($"signal of {samples.Length} samples is shorter than n_fft = {s.NFft} (center = {s.Center}): no frame fits");
        var edges = new PaddedEdges(samples, s, frames); // checks the padding before the sink allocates
        var window = Array.ConvertAll(Stft.PaddedWindow(s), T.CreateTruncating); // [n]
        var sink = sinkForFrames(frames);
        fixed (float* px = samples, ph = edges.Head, pt = edges.Tail)
            Run(new FrameStarts(px - edges.Offset, edges.HeadFrames, ph, edges.TailFrame, pt, s.HopLengthOrDefault), frames, s, window, sink);
        return frames;
    }

    /// <summary>
    /// Where frame t's n samples start: in the signal itself (at t·hop − offset) for the frames that
    /// lie inside it, in the head copy for t &lt; HeadFrames, in the tail copy for t ≥ TailFrame.
    /// </summary>
    private readonly struct FrameStarts(float* shifted, int headFrames, float* head, int tailFrame, float* tail, int hop)
    {
        public float* this[int t] =>
            t < headFrames ? head + (long)t * hop
            : t >= tailFrame ? tail + (long)(t - tailFrame) * hop
            : shifted + (long)t * hop;
    }

    /// <summary>
    /// The padded signal's first and last frames as small copies (Pad zeros, then n_fft/2 samples per
    /// side by <see cref="StftSettings.PadMode"/> when centring), so the padded signal is never built.
    /// Offset: where the signal starts in the padded one (Pad + n_fft/2 when centred).
    /// </summary>
    private sealed class PaddedEdges
    {
        public PaddedEdges(ReadOnlySpan<float> samples, StftSettings s, int frames)
        {
            int n = s.NFft, hop = s.HopLengthOrDefault, len = samples.Length;
            int p = s.Center ? n / 2 : 0, n0 = len + 2 * s.Pad;
            if (s.Center && n0 == 0) throw new ArgumentException("cannot centre frames on an empty signal");
            if (s.Center && s.PadMode == PadMode.Reflect && p >= n0)
                throw new ArgumentException($"reflect padding of {p} samples needs a signal longer than {p}, got {n0} samples");
            Offset = p + s.Pad;
            // head: frames starting before the signal; tail: frames ending past it (at least every frame from the head on)
            HeadFrames = Math.Min(frames, (Offset + hop - 1) / hop);
            long lastInside = ((long)Offset + len - n) / hop; // the last frame that ends inside the signal
            TailFrame = (int)Math.Clamp(lastInside + 1, HeadFrames, frames);
            Head = Copy(samples, s, p, n0, 0, HeadFrames == 0 ? 0 : (HeadFrames - 1) * hop + n);
            Tail = Copy(samples, s, p, n0, (long)TailFrame * hop, TailFrame == frames ? 0 : (frames - 1 - TailFrame) * hop + n);
        }

        public int Offset { get; }

        public int HeadFrames { get; }

        public int TailFrame { get; }

        public float[] Head { get; }

        public float[] Tail { get; }

        /// <summary>Padded samples start .. start + count − 1 (one extra element so an empty copy still pins).</summary>
        private static float[] Copy(ReadOnlySpan<float> samples, StftSettings s, int p, int n0, long start, int count)
        {
            var c = new float[count + 1];
            for (int i = 0; i < count; i++)
            {
                // j indexes the zero-padded signal x0 of n0 samples (Pad zeros | samples | Pad zeros)
                long j = start + i - p;
                if (j < 0 || j >= n0)
                {
                    if (s.PadMode == PadMode.Constant) continue;
                    j = s.PadMode == PadMode.Reflect ? (j < 0 ? -j : 2L * (n0 - 1) - j) : Math.Clamp(j, 0, n0 - 1);
                }
                long k = j - s.Pad;
                c[i] = k >= 0 && k < samples.Length ? samples[(int)k] : 0f;
            }
            return c;
        }
    }

    /// <summary>One thread's FFT workspace, kept between calls so no call allocates it (grown as needed).</summary>
    [ThreadStatic]
    private static byte[]? _workspace;

    /// <summary>
    /// Runs frames 0 .. frames−1 (frame t's samples start at <paramref name="starts"/>[t]), windowed by
    /// <paramref name="window"/> [n], through the FFT and |·|^power, handing every group of L to
    /// <paramref name="sink"/>. The samples stay pinned by the caller until this returns.
    /// </summary>
    private static void Run<T>(FrameStarts starts, int frames, StftSettings s, T[] window, FrameSink<T> sink)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = s.NFft, h = n / 2, bins = h + 1, lanes = Vector256<T>.Count;
        var plan = FftBatch<T>.Get(h);
        var (wr, wi) = HalfTwiddles<T>(n);
        double power = s.Power;
        int groups = (frames + lanes - 1) / lanes;
        int threads = Math.Max(1, Math.Min(FrontEndThreads.Max, groups / 4));
        int chunks = threads == 1 ? 1 : Math.Min(groups, 4 * threads);
        void Chunk(int c)
        {
            int g0 = (int)((long)groups * c / chunks), g1 = (int)((long)groups * (c + 1) / chunks);
            // [h] re, im, scratch re, scratch im; [bins] spectrum (64-byte aligned inside the workspace)
            int bytes = (4 * h + bins) * sizeof(Vector256<T>) + 64;
            if (_workspace is not { } buffer || buffer.Length < bytes) _workspace = buffer = GC.AllocateUninitializedArray<byte>(bytes, pinned: true);
            var pf = stackalloc nint[lanes];
            fixed (byte* pbytes = buffer)
            fixed (T* pw = window, pwr = wr, pwi = wi)
            {
                var pb = (Vector256<T>*)(((nint)pbytes + 63) & ~(nint)63);
                Vector256<T>* zr = pb, zi = pb + h, sr = pb + 2 * h, si = pb + 3 * h, spec = pb + 4 * h;
                for (int g = g0; g < g1; g++)
                {
                    int t0 = lanes * g, count = Math.Min(lanes, frames - t0);
                    // lanes past the last frame repeat frame t0 (their results are ignored)
                    for (int l = 0; l < lanes; l++) pf[l] = (nint)starts[t0 + (l < count ? l : 0)];
                    if (typeof(T) == typeof(float)) LoadFrames8((float**)pf, (float*)pw, n, (Vector256<float>*)zr, (Vector256<float>*)zi);
                    else LoadFrames4((float**)pf, (double*)pw, n, (Vector256<double>*)zr, (Vector256<double>*)zi);
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
    /// zr[j] = (x_l[2j]·w[2j])_l and zi[j] = (x_l[2j+1]·w[2j+1])_l for the four frames x_0..x_3 at
    /// <paramref name="f"/>, j = 0..n/2 − 1, widened to double.
    /// </summary>
    private static void LoadFrames4(float** f, double* w, int n, Vector256<double>* zr, Vector256<double>* zi)
    {
        float* f0 = f[0], f1 = f[1], f2 = f[2], f3 = f[3];
        for (int j = 0; j < n / 2; j++)
        {
            zr[j] = Vector256.Create(f0[2 * j], f1[2 * j], f2[2 * j], f3[2 * j]) * Vector256.Create(w[2 * j]);
            zi[j] = Vector256.Create(f0[2 * j + 1], f1[2 * j + 1], f2[2 * j + 1], f3[2 * j + 1]) * Vector256.Create(w[2 * j + 1]);
        }
    }

    /// <summary>
    /// The same for the eight frames at <paramref name="f"/> in single precision: eight samples of
    /// each frame are loaded as one vector and the 8×8 block is transposed in registers, so sample
    /// i of all frames becomes one vector (even i go to zr, odd i to zi).
    /// </summary>
    private static void LoadFrames8(float** f, float* w, int n, Vector256<float>* zr, Vector256<float>* zi)
    {
        int i = 0;
        if (Avx.IsSupported)
        {
            for (; i + 8 <= n; i += 8)
            {
                Transpose8(Vector256.Load(f[0] + i), Vector256.Load(f[1] + i), Vector256.Load(f[2] + i), Vector256.Load(f[3] + i),
                    Vector256.Load(f[4] + i), Vector256.Load(f[5] + i), Vector256.Load(f[6] + i), Vector256.Load(f[7] + i),
                    out var s0, out var s1, out var s2, out var s3, out var s4, out var s5, out var s6, out var s7);
                int j = i / 2;
                zr[j] = s0 * Vector256.Create(w[i]);
                zi[j] = s1 * Vector256.Create(w[i + 1]);
                zr[j + 1] = s2 * Vector256.Create(w[i + 2]);
                zi[j + 1] = s3 * Vector256.Create(w[i + 3]);
                zr[j + 2] = s4 * Vector256.Create(w[i + 4]);
                zi[j + 2] = s5 * Vector256.Create(w[i + 5]);
                zr[j + 3] = s6 * Vector256.Create(w[i + 6]);
                zi[j + 3] = s7 * Vector256.Create(w[i + 7]);
            }
        }
        for (; i < n; i += 2)
        {
            zr[i / 2] = Vector256.Create(f[0][i], f[1][i], f[2][i], f[3][i], f[4][i], f[5][i], f[6][i], f[7][i]) * Vector256.Create(w[i]);
            zi[i / 2] = Vector256.Create(f[0][i + 1], f[1][i + 1], f[2][i + 1], f[3][i + 1], f[4][i + 1], f[5][i + 1], f[6][i + 1], f[7][i + 1])
                * Vector256.Create(w[i + 1]);
        }
    }

    /// <summary>Transposes the 8×8 block whose rows are r0..r7 into columns c0..c7 (cK[l] = rL[K]).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Transpose8(Vector256<float> r0, Vector256<float> r1, Vector256<float> r2, Vector256<float> r3,
        Vector256<float> r4, Vector256<float> r5, Vector256<float> r6, Vector256<float> r7,
        out Vector256<float> c0, out Vector256<float> c1, out Vector256<float> c2, out Vector256<float> c3,
        out Vector256<float> c4, out Vector256<float> c5, out Vector256<float> c6, out Vector256<float> c7)
    {
        // pairs: a01 = r0[0] r1[0] r0[1] r1[1] | r0[4] r1[4] r0[5] r1[5], and so on
        var a01 = Avx.UnpackLow(r0, r1); var b01 = Avx.UnpackHigh(r0, r1);
        var a23 = Avx.UnpackLow(r2, r3); var b23 = Avx.UnpackHigh(r2, r3);
        var a45 = Avx.UnpackLow(r4, r5); var b45 = Avx.UnpackHigh(r4, r5);
        var a67 = Avx.UnpackLow(r6, r7); var b67 = Avx.UnpackHigh(r6, r7);
        // quads: q0 = column 0 of rows 0-3 | column 4 of rows 0-3, and so on
        var q0 = Avx.Shuffle(a01, a23, 0x44); var q1 = Avx.Shuffle(a01, a23, 0xEE);
        var q2 = Avx.Shuffle(b01, b23, 0x44); var q3 = Avx.Shuffle(b01, b23, 0xEE);
        var p0 = Avx.Shuffle(a45, a67, 0x44); var p1 = Avx.Shuffle(a45, a67, 0xEE);
        var p2 = Avx.Shuffle(b45, b67, 0x44); var p3 = Avx.Shuffle(b45, b67, 0xEE);
        // halves: low 128 bits hold columns 0-3, high 128 bits columns 4-7
        c0 = Avx.Permute2x128(q0, p0, 0x20); c4 = Avx.Permute2x128(q0, p0, 0x31);
        c1 = Avx.Permute2x128(q1, p1, 0x20); c5 = Avx.Permute2x128(q1, p1, 0x31);
        c2 = Avx.Permute2x128(q2, p2, 0x20); c6 = Avx.Permute2x128(q2, p2, 0x31);
        c3 = Avx.Permute2x128(q3, p3, 0x20); c7 = Avx.Permute2x128(q3, p3, 0x31);
    }

    /// <summary>
    /// X[k] for k = 0..h from Z = FFT_h(x[2j] + i·x[2j+1]): E = (Z[k] + conj Z[h−k])/2,
    /// O = (Z[k] − conj Z[h−k])/2i, X = E + W^k·O; then spec[k] = |X|^power.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void RealSpectrum<T>(Vector256<T>* zr, Vector256<T>* zi, T* wr, T* wi, int h, double power, Vector256<T>* spec)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var half = Vector256.Create(T.CreateTruncating(0.5));
        var lanes = stackalloc T[Vector256<T>.Count]; // one general power, lane by lane
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
            {
                for (int l = 0; l < Vector256<T>.Count; l++)
                    lanes[l] = T.CreateTruncating(Math.Pow(Math.Sqrt(double.CreateTruncating(p.GetElement(l))), power));
                spec[k] = Vector256.Load(lanes);
            }
        }
    }

    /// <summary>W^k = e^(−2πik/n) for k = 0..n/2 (re, im), computed in double and rounded to T.</summary>
    private static (T[] Re, T[] Im) HalfTwiddles<T>(int n)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int h = n / 2;
        var re = new T[h + 1];
        var im = new T[h + 1];
        for (int k = 0; k <= h; k++)
        {
            var (s, c) = Math.SinCos(2 * Math.PI * k / n);
            re[k] = T.CreateTruncating(c);
            im[k] = T.CreateTruncating(-s);
        }
        return (re, im);
    }
}

/// <summary>Writes each group's spectra into a <c>[bins, frames]</c> matrix (a group is one 32-byte store per bin).</summary>
internal sealed unsafe class SpectrogramSink<T>(T[] output, int bins, int frames) : FrameSink<T>
    where T : unmanaged
{
    /// <inheritdoc/>
    public override void Consume(int t0, int count, Vector256<T>* spec)
    {
        fixed (T* po = output)
        {
            for (int f = 0; f < bins; f++)
            {
                T* dst = po + (long)f * frames + t0;
                if (count == Vector256<T>.Count) spec[f].Store(dst);
                else for (int l = 0; l < count; l++) dst[l] = spec[f][l];
            }
        }
    }
}

/// <summary>Projects each group's spectra on a sparse mel filterbank into a <c>[n_mels, frames]</c> matrix.</summary>
internal sealed unsafe class MelSink(SparseFilterbank fb, double[] output, int frames) : FrameSink<double>
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
