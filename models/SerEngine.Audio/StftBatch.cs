using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace SerEngine.Audio;

/// <summary>
/// The fast STFT: frames are taken L at a time (each a lane of one vector: L = 8 in double precision
/// and 16 in single with 512-bit vectors, half that with 256-bit ones), the real FFT of length n runs as a batched complex FFT of length
/// n/2 (<see cref="FftBatch{T}"/>) plus the usual split into even and odd parts with precomputed
/// twiddles, and groups of frames are shared among <see cref="FrontEndThreads.Max"/> threads. In
/// double precision the results equal <see cref="FftPlan"/>'s to rounding; in single precision they
/// carry float32 rounding (as torch.stft's). Every lane runs the same operations at either width,
/// so the results do not depend on it. Legend: n = n_fft, h = n/2, bins = h + 1.
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
        var window = WindowCache<T>.Get(s); // [n]
        var sink = sinkForFrames(frames);
        fixed (float* px = samples, ph = edges.Head, pt = edges.Tail)
            Run(new FrameStarts(px - edges.Offset, edges.HeadFrames, ph, edges.TailFrame, pt, s.HopLengthOrDefault), frames, s, window, sink);
        return frames;
    }

    /// <summary>
    /// The padded window in T per settings, made once (a corpus runs this for every file; its n cosines were a few
    /// percent of the features' time). Shared read-only: the batch only reads it.
    /// </summary>
    private static class WindowCache<T>
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        private static readonly System.Collections.Concurrent.ConcurrentDictionary<StftSettings, T[]> Cache = new();

        public static T[] Get(StftSettings s) => Cache.GetOrAdd(s, static k => Array.ConvertAll(Stft.PaddedWindow(k), T.CreateTruncating));
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

    /// <summary>Set on a thread to run its STFTs with 256-bit vectors even where 512-bit ones are fast (tests compare the two).</summary>
    [ThreadStatic]
    internal static bool NarrowVectors;

    /// <summary>True when this thread's STFTs run with 512-bit vectors.</summary>
    internal static bool Wide => Vector512.IsHardwareAccelerated && !NarrowVectors;

    /// <summary>
    /// Runs frames 0 .. frames−1 (frame t's samples start at <paramref name="starts"/>[t]), windowed by
    /// <paramref name="window"/> [n], through the FFT and |·|^power, handing every group of L to
    /// <paramref name="sink"/>. The samples stay pinned by the caller until this returns.
    /// </summary>
    private static void Run<T>(FrameStarts starts, int frames, StftSettings s, T[] window, FrameSink<T> sink)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (Wide) Run<T, Lanes512<T>>(starts, frames, s, window, sink);
        else Run<T, Lanes256<T>>(starts, frames, s, window, sink);
    }

    /// <summary><see cref="Run{T}(FrameStarts, int, StftSettings, T[], FrameSink{T})"/> with vectors of type TV (L = TV.Count lanes).</summary>
    private static void Run<T, TV>(FrameStarts starts, int frames, StftSettings s, T[] window, FrameSink<T> sink)
        where T : unmanaged, IFloatingPointIeee754<T>
        where TV : unmanaged, ILaneVector<TV, T>
    {
        int n = s.NFft, h = n / 2, bins = h + 1, lanes = TV.Count;
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
            int bytes = (4 * h + bins) * sizeof(TV) + 64;
            if (_workspace is not { } buffer || buffer.Length < bytes) _workspace = buffer = GC.AllocateUninitializedArray<byte>(bytes, pinned: true);
            var pf = stackalloc nint[lanes];
            fixed (byte* pbytes = buffer)
            fixed (T* pw = window, pwr = wr, pwi = wi)
            {
                var pb = (TV*)(((nint)pbytes + 63) & ~(nint)63);
                TV* zr = pb, zi = pb + h, sr = pb + 2 * h, si = pb + 3 * h, spec = pb + 4 * h;
                for (int g = g0; g < g1; g++)
                {
                    int t0 = lanes * g, count = Math.Min(lanes, frames - t0);
                    // lanes past the last frame repeat frame t0 (their results are ignored)
                    for (int l = 0; l < lanes; l++) pf[l] = (nint)starts[t0 + (l < count ? l : 0)];
                    sink.Prepare(t0, lanes);
                    LoadFrames((float**)pf, pw, n, zr, zi);
                    plan.Forward(zr, zi, sr, si, out var xr, out var xi);
                    RealSpectrum(xr, xi, pwr, pwi, h, power, spec);
                    sink.Consume(t0, count, lanes, (T*)spec);
                }
            }
        }
        if (chunks == 1) Chunk(0);
        else Parallel.For(0, chunks, new ParallelOptions { MaxDegreeOfParallelism = threads }, Chunk);
    }

    /// <summary>
    /// zr[j] = (x_l[2j]·w[2j])_l and zi[j] = (x_l[2j+1]·w[2j+1])_l for the L frames x_l at
    /// <paramref name="f"/>, j = 0..n/2 − 1 (samples widened to T first).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void LoadFrames<T, TV>(float** f, T* w, int n, TV* zr, TV* zi)
        where T : unmanaged, IFloatingPointIeee754<T>
        where TV : unmanaged, ILaneVector<TV, T>
    {
        if (typeof(TV) == typeof(Lanes256<float>)) LoadFrames8(f, (float*)w, n, (Vector256<float>*)zr, (Vector256<float>*)zi);
        else if (typeof(TV) == typeof(Lanes512<float>)) LoadFrames16(f, (float*)w, n, (Vector512<float>*)zr, (Vector512<float>*)zi);
        else if (typeof(TV) == typeof(Lanes256<double>)) LoadFrames4(f, (double*)w, n, (Vector256<double>*)zr, (Vector256<double>*)zi);
        else LoadFrames8Wide(f, (double*)w, n, (Vector512<double>*)zr, (Vector512<double>*)zi);
    }

    /// <summary>
    /// zr[j] = (x_l[2j]·w[2j])_l and zi[j] = (x_l[2j+1]·w[2j+1])_l for the four frames x_0..x_3 at
    /// <paramref name="f"/>, j = 0..n/2 − 1, widened to double.
    /// </summary>
    private static void LoadFrames4(float** f, double* w, int n, Vector256<double>* zr, Vector256<double>* zi)
    {
        float* f0 = f[0], f1 = f[1], f2 = f[2], f3 = f[3];
        int j = 0;
        if (Avx.IsSupported)
        {
            // eight samples of each frame as one float vector, the 4×8 block transposed in registers (as
            // LoadFrames8Wide does with 512-bit vectors), each column widened to double exactly
            for (; 2 * j + 8 <= n; j += 4)
            {
                int i = 2 * j;
                var r0 = Vector256.Load(f0 + i);
                var r1 = Vector256.Load(f1 + i);
                var r2 = Vector256.Load(f2 + i);
                var r3 = Vector256.Load(f3 + i);
                // a01 = r0[0] r1[0] r0[1] r1[1] | r0[4] r1[4] r0[5] r1[5]; b01 the same for samples 2, 3 | 6, 7
                var a01 = Avx.UnpackLow(r0, r1); var b01 = Avx.UnpackHigh(r0, r1);
                var a23 = Avx.UnpackLow(r2, r3); var b23 = Avx.UnpackHigh(r2, r3);
                // qK = sample K of the four frames | sample K + 4
                var q0 = Avx.Shuffle(a01, a23, 0x44); var q1 = Avx.Shuffle(a01, a23, 0xEE);
                var q2 = Avx.Shuffle(b01, b23, 0x44); var q3 = Avx.Shuffle(b01, b23, 0xEE);
                zr[j] = Avx.ConvertToVector256Double(q0.GetLower()) * Vector256.Create(w[i]);
                zi[j] = Avx.ConvertToVector256Double(q1.GetLower()) * Vector256.Create(w[i + 1]);
                zr[j + 1] = Avx.ConvertToVector256Double(q2.GetLower()) * Vector256.Create(w[i + 2]);
                zi[j + 1] = Avx.ConvertToVector256Double(q3.GetLower()) * Vector256.Create(w[i + 3]);
                zr[j + 2] = Avx.ConvertToVector256Double(q0.GetUpper()) * Vector256.Create(w[i + 4]);
                zi[j + 2] = Avx.ConvertToVector256Double(q1.GetUpper()) * Vector256.Create(w[i + 5]);
                zr[j + 3] = Avx.ConvertToVector256Double(q2.GetUpper()) * Vector256.Create(w[i + 6]);
                zi[j + 3] = Avx.ConvertToVector256Double(q3.GetUpper()) * Vector256.Create(w[i + 7]);
            }
        }
        for (; j < n / 2; j++)
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

    /// <summary>
    /// The same for sixteen frames with 512-bit vectors: frames 0–7 and 8–15 are transposed as two
    /// 8×8 blocks, whose columns become the low and high halves of each vector.
    /// </summary>
    private static void LoadFrames16(float** f, float* w, int n, Vector512<float>* zr, Vector512<float>* zi)
    {
        var c = stackalloc Vector512<float>[8];
        int i = 0;
        for (; i + 8 <= n; i += 8)
        {
            Transpose8(Vector256.Load(f[0] + i), Vector256.Load(f[1] + i), Vector256.Load(f[2] + i), Vector256.Load(f[3] + i),
                Vector256.Load(f[4] + i), Vector256.Load(f[5] + i), Vector256.Load(f[6] + i), Vector256.Load(f[7] + i),
                out var a0, out var a1, out var a2, out var a3, out var a4, out var a5, out var a6, out var a7);
            Transpose8(Vector256.Load(f[8] + i), Vector256.Load(f[9] + i), Vector256.Load(f[10] + i), Vector256.Load(f[11] + i),
                Vector256.Load(f[12] + i), Vector256.Load(f[13] + i), Vector256.Load(f[14] + i), Vector256.Load(f[15] + i),
                out var b0, out var b1, out var b2, out var b3, out var b4, out var b5, out var b6, out var b7);
            int j = i / 2;
            zr[j] = Vector512.Create(a0, b0) * Vector512.Create(w[i]);
            zi[j] = Vector512.Create(a1, b1) * Vector512.Create(w[i + 1]);
            zr[j + 1] = Vector512.Create(a2, b2) * Vector512.Create(w[i + 2]);
            zi[j + 1] = Vector512.Create(a3, b3) * Vector512.Create(w[i + 3]);
            zr[j + 2] = Vector512.Create(a4, b4) * Vector512.Create(w[i + 4]);
            zi[j + 2] = Vector512.Create(a5, b5) * Vector512.Create(w[i + 5]);
            zr[j + 3] = Vector512.Create(a6, b6) * Vector512.Create(w[i + 6]);
            zi[j + 3] = Vector512.Create(a7, b7) * Vector512.Create(w[i + 7]);
        }
        var lane = (float*)c;
        for (; i < n; i += 2)
        {
            for (int l = 0; l < 16; l++) lane[l] = f[l][i];
            zr[i / 2] = c[0] * Vector512.Create(w[i]);
            for (int l = 0; l < 16; l++) lane[l] = f[l][i + 1];
            zi[i / 2] = c[0] * Vector512.Create(w[i + 1]);
        }
    }

    /// <summary>
    /// The same for eight frames in double precision with 512-bit vectors: the 8×8 float block is
    /// transposed as in <see cref="LoadFrames8"/>, then each column is widened to double (exactly)
    /// before the window multiplies it, as <see cref="LoadFrames4"/> does lane by lane.
    /// </summary>
    private static void LoadFrames8Wide(float** f, double* w, int n, Vector512<double>* zr, Vector512<double>* zi)
    {
        int i = 0;
        for (; i + 8 <= n; i += 8)
        {
            Transpose8(Vector256.Load(f[0] + i), Vector256.Load(f[1] + i), Vector256.Load(f[2] + i), Vector256.Load(f[3] + i),
                Vector256.Load(f[4] + i), Vector256.Load(f[5] + i), Vector256.Load(f[6] + i), Vector256.Load(f[7] + i),
                out var s0, out var s1, out var s2, out var s3, out var s4, out var s5, out var s6, out var s7);
            int j = i / 2;
            zr[j] = Avx512F.ConvertToVector512Double(s0) * Vector512.Create(w[i]);
            zi[j] = Avx512F.ConvertToVector512Double(s1) * Vector512.Create(w[i + 1]);
            zr[j + 1] = Avx512F.ConvertToVector512Double(s2) * Vector512.Create(w[i + 2]);
            zi[j + 1] = Avx512F.ConvertToVector512Double(s3) * Vector512.Create(w[i + 3]);
            zr[j + 2] = Avx512F.ConvertToVector512Double(s4) * Vector512.Create(w[i + 4]);
            zi[j + 2] = Avx512F.ConvertToVector512Double(s5) * Vector512.Create(w[i + 5]);
            zr[j + 3] = Avx512F.ConvertToVector512Double(s6) * Vector512.Create(w[i + 6]);
            zi[j + 3] = Avx512F.ConvertToVector512Double(s7) * Vector512.Create(w[i + 7]);
        }
        for (; i < n; i += 2)
        {
            zr[i / 2] = Vector512.Create(f[0][i], f[1][i], f[2][i], f[3][i], f[4][i], f[5][i], f[6][i], f[7][i]) * Vector512.Create(w[i]);
            zi[i / 2] = Vector512.Create(f[0][i + 1], f[1][i + 1], f[2][i + 1], f[3][i + 1], f[4][i + 1], f[5][i + 1], f[6][i + 1], f[7][i + 1])
                * Vector512.Create(w[i + 1]);
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
    /// O = (Z[k] − conj Z[h−k])/2i, X = E + W^k·O; then spec[k] = |X|^power. Bins k and h − k read the
    /// same two values of Z, so they are formed together (each by its own formula, as if alone); the power
    /// is chosen once per call, not per bin (a per-bin branch to the general power's call kept the loop's
    /// values in memory instead of registers).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void RealSpectrum<T, TV>(TV* zr, TV* zi, T* wr, T* wi, int h, double power, TV* spec)
        where T : unmanaged, IFloatingPointIeee754<T>
        where TV : unmanaged, ILaneVector<TV, T>
    {
        if (power == 1.0) RealSpectrum<T, TV, Magnitude<TV, T>>(zr, zi, wr, wi, h, spec);
        else
        {
            RealSpectrum<T, TV, Squared<TV, T>>(zr, zi, wr, wi, h, spec);
            if (power != 2.0)
            {
                // one general power, lane by lane, of |X|² rounded to T (as the bins were stored)
                var lanes = (T*)spec;
                for (long l = 0; l < (long)(h + 1) * TV.Count; l++)
                    lanes[l] = T.CreateTruncating(Math.Pow(Math.Sqrt(double.CreateTruncating(lanes[l])), power));
            }
        }
    }

    /// <summary><see cref="RealSpectrum{T, TV}(TV*, TV*, T*, T*, int, double, TV*)"/> with |X|² turned into the bin's value by TP.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void RealSpectrum<T, TV, TP>(TV* zr, TV* zi, T* wr, T* wi, int h, TV* spec)
        where T : unmanaged, IFloatingPointIeee754<T>
        where TV : unmanaged, ILaneVector<TV, T>
        where TP : struct, ISpectrumPower<TV>
    {
        var half = TV.Broadcast(T.CreateTruncating(0.5));
        // k = 0 and k = h both read Z[0] twice
        spec[0] = TP.Apply(Bin(zr[0], zr[0], zi[0], zi[0], wr[0], wi[0], half));
        spec[h] = TP.Apply(Bin(zr[0], zr[0], zi[0], zi[0], wr[h], wi[h], half));
        for (int k = 1, b = h - 1; k <= b; k++, b--)
        {
            TV ra = zr[k], rb = zr[b], ia = zi[k], ib = zi[b];
            spec[k] = TP.Apply(Bin(ra, rb, ia, ib, wr[k], wi[k], half));
            if (k != b) spec[b] = TP.Apply(Bin(rb, ra, ib, ia, wr[b], wi[b], half));
        }
    }

    /// <summary>|X[k]|² from a = Z[k], b = Z[h − k] and W^k = (wr, wi).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static TV Bin<T, TV>(TV zra, TV zrb, TV zia, TV zib, T wr, T wi, TV half)
        where T : unmanaged, IFloatingPointIeee754<T>
        where TV : unmanaged, ILaneVector<TV, T>
    {
        var eRe = half * (zra + zrb);
        var eIm = half * (zia - zib);
        var oRe = half * (zia + zib);
        var oIm = half * (zrb - zra);
        var vr = TV.Broadcast(wr);
        var vi = TV.Broadcast(wi);
        var re = eRe + vr * oRe - vi * oIm;
        var im = eIm + vr * oIm + vi * oRe;
        return re * re + im * im;
    }

    /// <summary>What a spectrum bin keeps of |X|²: itself (power 2, and the general power's first step) or its square root (power 1).</summary>
    private interface ISpectrumPower<TV>
    {
        static abstract TV Apply(TV squared);
    }

    private readonly struct Squared<TV, T> : ISpectrumPower<TV>
        where TV : unmanaged, ILaneVector<TV, T>
        where T : unmanaged
    {
        public static TV Apply(TV squared) => squared;
    }

    private readonly struct Magnitude<TV, T> : ISpectrumPower<TV>
        where TV : unmanaged, ILaneVector<TV, T>
        where T : unmanaged
    {
        public static TV Apply(TV squared) => TV.Sqrt(squared);
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

