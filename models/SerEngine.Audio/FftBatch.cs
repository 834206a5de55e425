using System.Collections.Concurrent;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace SerEngine.Audio;

/// <summary>
/// L complex DFTs of one length m at once (L = the lanes of the vector type TV of <see cref="Forward"/>:
/// 4 or 8 in double precision, 8 or 16 in single): every value is one TV whose lanes belong to independent
/// transforms (consecutive STFT frames), so every butterfly of every stage is a plain vector
/// operation with no shuffles. The twiddles are computed in double precision and rounded to T.
/// Mixed-radix Stockham autosort (radix 4, 2, 3, 5 stages, as <see cref="FftPlan"/>), with each
/// stage's twiddles precomputed in the order the stage reads them and the radix-3/5 butterflies
/// written out (not as small DFTs). Lengths must be 2/3/5-smooth (<see cref="Supports"/>).
/// Plans are cached per length and safe to share between threads (they hold no scratch).
/// Legend: m complex points; re, im, scratch [m] vectors; X[k] = Σⱼ x[j]·e^(−2πi·jk/m) per lane.
/// </summary>
internal sealed class FftBatch<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private static readonly ConcurrentDictionary<int, FftBatch<T>> Cache = new();

    private readonly Stage[] _stages;

    /// <summary>One Stockham stage: radix R after ns points already combined; twiddles [ns][R − 1] (re, im).</summary>
    private sealed record Stage(int Radix, int Ns, T[] TwRe, T[] TwIm);

    private FftBatch(int m)
    {
        Length = m;
        var radices = FftPlan.Get(m).Radices;
        var stages = new List<Stage>();
        int ns = 1;
        foreach (int r in radices)
        {
            var twRe = new T[ns * (r - 1)];
            var twIm = new T[ns * (r - 1)];
            for (int jm = 0; jm < ns; jm++)
                for (int q = 1; q < r; q++)
                {
                    // W^(q·jm·m/(ns·R)) = e^(−2πi·q·jm/(ns·R)), from FftPlan's exact table
                    long e = (long)q * jm * (m / (ns * r)) % m;
                    var (s, c) = Math.SinCos(2 * Math.PI * e / m);
                    twRe[jm * (r - 1) + q - 1] = T.CreateTruncating(c);
                    twIm[jm * (r - 1) + q - 1] = T.CreateTruncating(-s);
                }
            stages.Add(new Stage(r, ns, twRe, twIm));
            ns *= r;
        }
        _stages = [.. stages];
    }

    /// <summary>The transform length m.</summary>
    public int Length { get; }

    /// <summary>True when m ≥ 1 has no prime factor other than 2, 3 and 5.</summary>
    public static bool Supports(int m) => m >= 1 && !FftPlan.Get(m).UsesBluestein;

    /// <summary>The cached plan for length <paramref name="m"/> (<see cref="Supports"/> must hold).</summary>
    public static FftBatch<T> Get(int m) => Cache.GetOrAdd(m, static k => Supports(k)
        ? new FftBatch<T>(k) : throw new ArgumentException($"batched FFT needs a 2/3/5-smooth length, got {k}"));

    /// <summary>
    /// Forward transform of every lane of <paramref name="re"/> + i·<paramref name="im"/> ([m] each),
    /// using <paramref name="sRe"/>, <paramref name="sIm"/> (same length) as the other half of each
    /// stage's ping-pong: the result is left in whichever pair the last stage wrote, returned in
    /// <paramref name="outRe"/>, <paramref name="outIm"/> (no copy back; the other pair is clobbered).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public unsafe void Forward<TV>(TV* re, TV* im, TV* sRe, TV* sIm, out TV* outRe, out TV* outIm)
        where TV : unmanaged, ILaneVector<TV, T>
    {
        int m = Length;
        TV* xr = re, xi = im, yr = sRe, yi = sIm;
        foreach (var st in _stages)
        {
            fixed (T* twr = st.TwRe, twi = st.TwIm)
            {
                switch (st.Radix)
                {
                    case 4: Radix4<TV>(m, st.Ns, twr, twi, xr, xi, yr, yi); break;
                    case 2: Radix2<TV>(m, st.Ns, twr, twi, xr, xi, yr, yi); break;
                    case 3: Radix3<TV>(m, st.Ns, twr, twi, xr, xi, yr, yi); break;
                    default: Radix5<TV>(m, st.Ns, twr, twi, xr, xi, yr, yi); break;
                }
            }
            var tr = xr; xr = yr; yr = tr;
            var ti = xi; xi = yi; yi = ti;
        }
        outRe = xr;
        outIm = xi;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Twiddle<TV>(ref TV r, ref TV i, T wr, T wi)
        where TV : unmanaged, ILaneVector<TV, T>
    {
        var a = r;
        var vr = TV.Broadcast(wr);
        var vi = TV.Broadcast(wi);
        r = a * vr - i * vi;
        i = a * vi + i * vr;
    }

    // Stage layout (Stockham): for j = blk·ns + jm, inputs x[j + q·m/R], outputs y[blk·ns·R + jm + k·ns].

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void Radix2<TV>(int m, int ns, T* twr, T* twi, TV* xr, TV* xi, TV* yr, TV* yi)
        where TV : unmanaged, ILaneVector<TV, T>
    {
        int stride = m / 2;
        for (int j = 0, blk = 0; j < stride; blk++)
            for (int jm = 0; jm < ns; jm++, j++)
            {
                var r0 = xr[j]; var i0 = xi[j];
                var r1 = xr[j + stride]; var i1 = xi[j + stride];
                if (jm != 0) Twiddle(ref r1, ref i1, twr[jm], twi[jm]);
                int d = blk * ns * 2 + jm;
                yr[d] = r0 + r1; yi[d] = i0 + i1;
                yr[d + ns] = r0 - r1; yi[d + ns] = i0 - i1;
            }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void Radix4<TV>(int m, int ns, T* twr, T* twi, TV* xr, TV* xi, TV* yr, TV* yi)
        where TV : unmanaged, ILaneVector<TV, T>
    {
        int stride = m / 4;
        for (int j = 0, blk = 0; j < stride; blk++)
            for (int jm = 0; jm < ns; jm++, j++)
            {
                var r0 = xr[j]; var i0 = xi[j];
                var r1 = xr[j + stride]; var i1 = xi[j + stride];
                var r2 = xr[j + 2 * stride]; var i2 = xi[j + 2 * stride];
                var r3 = xr[j + 3 * stride]; var i3 = xi[j + 3 * stride];
                if (jm != 0)
                {
                    T* wr = twr + jm * 3, wi = twi + jm * 3;
                    Twiddle(ref r1, ref i1, wr[0], wi[0]);
                    Twiddle(ref r2, ref i2, wr[1], wi[1]);
                    Twiddle(ref r3, ref i3, wr[2], wi[2]);
                }
                var s0r = r0 + r2; var s0i = i0 + i2; var d0r = r0 - r2; var d0i = i0 - i2;
                var s1r = r1 + r3; var s1i = i1 + i3; var d1r = r1 - r3; var d1i = i1 - i3;
                int d = blk * ns * 4 + jm;
                yr[d] = s0r + s1r; yi[d] = s0i + s1i;
                yr[d + 2 * ns] = s0r - s1r; yi[d + 2 * ns] = s0i - s1i;
                yr[d + ns] = d0r + d1i; yi[d + ns] = d0i - d1r;         // d0 − i·d1
                yr[d + 3 * ns] = d0r - d1i; yi[d + 3 * ns] = d0i + d1r; // d0 + i·d1
            }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void Radix3<TV>(int m, int ns, T* twr, T* twi, TV* xr, TV* xi, TV* yr, TV* yi)
        where TV : unmanaged, ILaneVector<TV, T>
    {
        int stride = m / 3;
        var half = TV.Broadcast(T.CreateTruncating(0.5));
        var s60 = TV.Broadcast(T.CreateTruncating(Math.Sqrt(3.0) / 2));
        for (int j = 0, blk = 0; j < stride; blk++)
            for (int jm = 0; jm < ns; jm++, j++)
            {
                var r0 = xr[j]; var i0 = xi[j];
                var r1 = xr[j + stride]; var i1 = xi[j + stride];
                var r2 = xr[j + 2 * stride]; var i2 = xi[j + 2 * stride];
                if (jm != 0)
                {
                    T* wr = twr + jm * 2, wi = twi + jm * 2;
                    Twiddle(ref r1, ref i1, wr[0], wi[0]);
                    Twiddle(ref r2, ref i2, wr[1], wi[1]);
                }
                var tr = r1 + r2; var ti = i1 + i2;
                var ar = r0 - half * tr; var ai = i0 - half * ti;     // a = v0 − (v1 + v2)/2
                var br = s60 * (r1 - r2); var bi = s60 * (i1 - i2);   // b = (√3/2)(v1 − v2)
                int d = blk * ns * 3 + jm;
                yr[d] = r0 + tr; yi[d] = i0 + ti;
                yr[d + ns] = ar + bi; yi[d + ns] = ai - br;           // a − i·b
                yr[d + 2 * ns] = ar - bi; yi[d + 2 * ns] = ai + br;   // a + i·b
            }
    }

    // Radix 5 holds 10 vectors of inputs: loaded all at once they do not fit 16 registers (AVX2) and spill.
    // So the pairs (1, 4) and (2, 3) are loaded, twiddled and folded into t1…t4 one pair at a time, then the
    // real outputs (from r0, t1r, t2r, t3i, t4i) and the imaginary ones (from i0, t1i, t2i, t3r, t4r) are
    // formed one after the other: the same operations on the same values as written out in full, so the same bits.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void Radix5<TV>(int m, int ns, T* twr, T* twi, TV* xr, TV* xi, TV* yr, TV* yi)
        where TV : unmanaged, ILaneVector<TV, T>
    {
        int stride = m / 5;
        var c1 = TV.Broadcast(T.CreateTruncating(Math.Cos(2 * Math.PI / 5))); var c2 = TV.Broadcast(T.CreateTruncating(Math.Cos(4 * Math.PI / 5)));
        var s1 = TV.Broadcast(T.CreateTruncating(Math.Sin(2 * Math.PI / 5))); var s2 = TV.Broadcast(T.CreateTruncating(Math.Sin(4 * Math.PI / 5)));
        for (int j = 0, blk = 0; j < stride; blk++)
            for (int jm = 0; jm < ns; jm++, j++)
            {
                T* wr = twr + jm * 4, wi = twi + jm * 4;
                var r1 = xr[j + stride]; var i1 = xi[j + stride];
                var r4 = xr[j + 4 * stride]; var i4 = xi[j + 4 * stride];
                if (jm != 0)
                {
                    Twiddle(ref r1, ref i1, wr[0], wi[0]);
                    Twiddle(ref r4, ref i4, wr[3], wi[3]);
                }
                var t1r = r1 + r4; var t1i = i1 + i4;
                var t3r = r1 - r4; var t3i = i1 - i4;
                var r2 = xr[j + 2 * stride]; var i2 = xi[j + 2 * stride];
                var r3 = xr[j + 3 * stride]; var i3 = xi[j + 3 * stride];
                if (jm != 0)
                {
                    Twiddle(ref r2, ref i2, wr[1], wi[1]);
                    Twiddle(ref r3, ref i3, wr[2], wi[2]);
                }
                var t2r = r2 + r3; var t2i = i2 + i3;
                var t4r = r2 - r3; var t4i = i2 - i3;
                int d = blk * ns * 5 + jm;
                var r0 = xr[j];
                yr[d] = r0 + t1r + t2r;
                var a1r = r0 + c1 * t1r + c2 * t2r;
                var b1i = s1 * t3i + s2 * t4i;
                yr[d + ns] = a1r + b1i;                                // re(a1 − i·b1)
                yr[d + 4 * ns] = a1r - b1i;                            // re(a1 + i·b1)
                var a2r = r0 + c2 * t1r + c1 * t2r;
                var b2i = s2 * t3i - s1 * t4i;
                yr[d + 2 * ns] = a2r + b2i;                            // re(a2 − i·b2)
                yr[d + 3 * ns] = a2r - b2i;                            // re(a2 + i·b2)
                var i0 = xi[j];
                yi[d] = i0 + t1i + t2i;
                var a1i = i0 + c1 * t1i + c2 * t2i;
                var b1r = s1 * t3r + s2 * t4r;
                yi[d + ns] = a1i - b1r;                                // im(a1 − i·b1)
                yi[d + 4 * ns] = a1i + b1r;                            // im(a1 + i·b1)
                var a2i = i0 + c2 * t1i + c1 * t2i;
                var b2r = s2 * t3r - s1 * t4r;
                yi[d + 2 * ns] = a2i - b2r;                            // im(a2 − i·b2)
                yi[d + 3 * ns] = a2i + b2r;                            // im(a2 + i·b2)
            }
    }
}
