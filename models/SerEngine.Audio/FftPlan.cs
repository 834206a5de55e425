using System.Buffers;
using System.Collections.Concurrent;

namespace SerEngine.Audio;

/// <summary>
/// A discrete Fourier transform of one length n, <c>X[k] = Σⱼ x[j]·e^(−2πi·jk/n)</c>, in double
/// precision. Lengths whose prime factors are 2, 3 and 5 use a mixed-radix Stockham FFT (radix 4,
/// 2, 3, 5 stages); other lengths use Bluestein's chirp-z algorithm on a power-of-two FFT. The
/// twiddle factors are computed once per plan; plans are cached per length (<see cref="Get"/>) and
/// are safe to share between threads.
/// </summary>
public sealed class FftPlan
{
    private static readonly ConcurrentDictionary<int, FftPlan> Cache = new();

    private readonly double[] _twRe; // [n] cos(2πk/n)
    private readonly double[] _twIm; // [n] −sin(2πk/n)
    private readonly int[] _radices; // stage radices; empty for Bluestein lengths
    private readonly Bluestein? _bluestein;

    /// <summary>The cached plan for length <paramref name="n"/> (n ≥ 1).</summary>
    public static FftPlan Get(int n) => Cache.GetOrAdd(n, static m => new FftPlan(m));

    /// <summary>Builds a plan for length <paramref name="n"/> (prefer <see cref="Get"/>).</summary>
    public FftPlan(int n)
    {
        if (n < 1) throw new ArgumentOutOfRangeException(nameof(n), n, "FFT length must be >= 1");
        Length = n;
        _twRe = new double[n];
        _twIm = new double[n];
        for (int k = 0; k < n; k++)
        {
            var (s, c) = Math.SinCos(2 * Math.PI * k / n);
            _twRe[k] = c;
            _twIm[k] = -s;
        }
        _radices = Factor(n) ?? [];
        if (_radices.Length == 0 && n > 1) _bluestein = new Bluestein(n);
    }

    /// <summary>The transform length.</summary>
    public int Length { get; }

    /// <summary>True when the length is not 2/3/5-smooth and Bluestein's algorithm is used.</summary>
    public bool UsesBluestein => _bluestein is not null;

    /// <summary>The radices of the Stockham stages (empty for Bluestein lengths and n = 1).</summary>
    public IReadOnlyList<int> Radices => _radices;

    /// <summary>In-place forward transform (no scaling) of <paramref name="re"/> + i·<paramref name="im"/>.</summary>
    public void Forward(Span<double> re, Span<double> im)
    {
        int n = Length;
        if (re.Length != n || im.Length != n)
            throw new ArgumentException($"FFT of length {n} given buffers of {re.Length} and {im.Length}");
        if (n == 1) return;
        if (_bluestein is not null)
        {
            _bluestein.Forward(re, im);
            return;
        }
        var pool = ArrayPool<double>.Shared;
        double[] bRe = pool.Rent(n), bIm = pool.Rent(n);
        try
        {
            Stockham(re, im, bRe.AsSpan(0, n), bIm.AsSpan(0, n));
        }
        finally
        {
            pool.Return(bRe);
            pool.Return(bIm);
        }
    }

    /// <summary>In-place inverse transform, scaled by 1/n (so Inverse(Forward(x)) = x).</summary>
    public void Inverse(Span<double> re, Span<double> im)
    {
        for (int i = 0; i < im.Length; i++) im[i] = -im[i];
        Forward(re, im);
        double s = 1.0 / Length;
        for (int i = 0; i < re.Length; i++)
        {
            re[i] *= s;
            im[i] = -im[i] * s;
        }
    }

    /// <summary>
    /// Transform of a real signal <paramref name="x"/> of length n: writes the n/2 + 1 non-negative
    /// frequency bins into <paramref name="re"/> and <paramref name="im"/>. Even lengths run as one
    /// complex FFT of length n/2.
    /// </summary>
    public void RealForward(ReadOnlySpan<double> x, Span<double> re, Span<double> im)
    {
        int n = Length, bins = n / 2 + 1;
        if (x.Length != n || re.Length < bins || im.Length < bins)
            throw new ArgumentException($"real FFT of length {n} needs {n} inputs and {bins} outputs, given {x.Length}, {re.Length}, {im.Length}");
        var pool = ArrayPool<double>.Shared;
        if (n % 2 == 1)
        {
            double[] tr = pool.Rent(n), ti = pool.Rent(n);
            try
            {
                x.CopyTo(tr);
                Array.Clear(ti, 0, n);
                Forward(tr.AsSpan(0, n), ti.AsSpan(0, n));
                tr.AsSpan(0, bins).CopyTo(re);
                ti.AsSpan(0, bins).CopyTo(im);
            }
            finally
            {
                pool.Return(tr);
                pool.Return(ti);
            }
            return;
        }
        int h = n / 2;
        double[] zr = pool.Rent(h), zi = pool.Rent(h);
        try
        {
            for (int j = 0; j < h; j++)
            {
                zr[j] = x[2 * j];
                zi[j] = x[2 * j + 1];
            }
            Get(h).Forward(zr.AsSpan(0, h), zi.AsSpan(0, h));
            for (int k = 0; k <= h; k++)
            {
                int a = k % h, b = (h - k) % h;
                // E = (Z[k] + conj Z[h−k]) / 2,  O = (Z[k] − conj Z[h−k]) / 2i
                double eRe = 0.5 * (zr[a] + zr[b]), eIm = 0.5 * (zi[a] - zi[b]);
                double oRe = 0.5 * (zi[a] + zi[b]), oIm = -0.5 * (zr[a] - zr[b]);
                double wr = _twRe[k % n], wi = _twIm[k % n];
                re[k] = eRe + wr * oRe - wi * oIm;
                im[k] = eIm + wr * oIm + wi * oRe;
            }
        }
        finally
        {
            pool.Return(zr);
            pool.Return(zi);
        }
    }

    /// <summary>Radix-4/2/3/5 factorisation, or null when another prime divides n.</summary>
    private static int[]? Factor(int n)
    {
        var f = new List<int>();
        while (n % 4 == 0) { f.Add(4); n /= 4; }
        while (n % 2 == 0) { f.Add(2); n /= 2; }
        while (n % 3 == 0) { f.Add(3); n /= 3; }
        while (n % 5 == 0) { f.Add(5); n /= 5; }
        return n == 1 ? f.ToArray() : null;
    }

    /// <summary>
    /// Stockham autosort FFT: stage s with radix R reads x[j + r·n/R], twiddles by
    /// W^(r·(j mod Ns)·n/(Ns·R)), does a radix-R DFT and writes y[(j/Ns)·Ns·R + j mod Ns + r·Ns],
    /// where Ns is the product of the earlier radices.
    /// </summary>
    private void Stockham(Span<double> re, Span<double> im, Span<double> bRe, Span<double> bIm)
    {
        int n = Length;
        Span<double> xr = re, xi = im, yr = bRe, yi = bIm;
        Span<double> vr = stackalloc double[5], vi = stackalloc double[5];
        Span<double> ur = stackalloc double[5], ui = stackalloc double[5];
        int ns = 1;
        foreach (int r in _radices)
        {
            int stride = n / r, twStep = n / (ns * r), rootStep = n / r;
            for (int j = 0; j < stride; j++)
            {
                int jm = j % ns;
                for (int q = 0; q < r; q++)
                {
                    double a = xr[j + q * stride], b = xi[j + q * stride];
                    int t = q * jm * twStep; // < n
                    double c = _twRe[t], s = _twIm[t];
                    vr[q] = a * c - b * s;
                    vi[q] = a * s + b * c;
                }
                switch (r)
                {
                    case 2:
                        ur[0] = vr[0] + vr[1]; ui[0] = vi[0] + vi[1];
                        ur[1] = vr[0] - vr[1]; ui[1] = vi[0] - vi[1];
                        break;
                    case 4:
                    {
                        double s0r = vr[0] + vr[2], s0i = vi[0] + vi[2], d0r = vr[0] - vr[2], d0i = vi[0] - vi[2];
                        double s1r = vr[1] + vr[3], s1i = vi[1] + vi[3], d1r = vr[1] - vr[3], d1i = vi[1] - vi[3];
                        ur[0] = s0r + s1r; ui[0] = s0i + s1i;
                        ur[2] = s0r - s1r; ui[2] = s0i - s1i;
                        ur[1] = d0r + d1i; ui[1] = d0i - d1r; // d0 − i·d1
                        ur[3] = d0r - d1i; ui[3] = d0i + d1r; // d0 + i·d1
                        break;
                    }
                    default:
                        for (int k = 0; k < r; k++)
                        {
                            double sr = 0, si = 0;
                            for (int q = 0; q < r; q++)
                            {
                                int t = q * k % r * rootStep;
                                sr += vr[q] * _twRe[t] - vi[q] * _twIm[t];
                                si += vr[q] * _twIm[t] + vi[q] * _twRe[t];
                            }
                            ur[k] = sr;
                            ui[k] = si;
                        }
                        break;
                }
                int dst = j / ns * ns * r + jm;
                for (int k = 0; k < r; k++)
                {
                    yr[dst + k * ns] = ur[k];
                    yi[dst + k * ns] = ui[k];
                }
            }
            ns *= r;
            var t0 = xr; xr = yr; yr = t0;
            var t1 = xi; xi = yi; yi = t1;
        }
        if (_radices.Length % 2 == 1)
        {
            xr.CopyTo(re);
            xi.CopyTo(im);
        }
    }

    /// <summary>Bluestein's algorithm: X[k] = c[k]·Σⱼ (x[j]·c[j])·conj(c[k−j]) with c[k] = e^(−iπk²/n).</summary>
    private sealed class Bluestein
    {
        private readonly int _n, _m;
        private readonly double[] _cRe, _cIm; // [n] chirp e^(−iπk²/n)
        private readonly double[] _bRe, _bIm; // [m] FFT of the conjugate chirp, pre-scaled by 1/m

        public Bluestein(int n)
        {
            _n = n;
            _m = 1;
            while (_m < 2 * n - 1) _m *= 2;
            _cRe = new double[n];
            _cIm = new double[n];
            for (int k = 0; k < n; k++)
            {
                long k2 = (long)k * k % (2L * n); // exact angle reduction
                var (s, c) = Math.SinCos(Math.PI * k2 / n);
                _cRe[k] = c;
                _cIm[k] = -s;
            }
            _bRe = new double[_m];
            _bIm = new double[_m];
            for (int k = 0; k < n; k++)
            {
                _bRe[k] = _cRe[k];
                _bIm[k] = -_cIm[k];
                if (k > 0)
                {
                    _bRe[_m - k] = _cRe[k];
                    _bIm[_m - k] = -_cIm[k];
                }
            }
            Get(_m).Forward(_bRe, _bIm);
            for (int k = 0; k < _m; k++)
            {
                _bRe[k] /= _m;
                _bIm[k] /= _m;
            }
        }

        public void Forward(Span<double> re, Span<double> im)
        {
            var pool = ArrayPool<double>.Shared;
            double[] ar = pool.Rent(_m), ai = pool.Rent(_m);
            try
            {
                var aRe = ar.AsSpan(0, _m);
                var aIm = ai.AsSpan(0, _m);
                aRe.Clear();
                aIm.Clear();
                for (int k = 0; k < _n; k++)
                {
                    aRe[k] = re[k] * _cRe[k] - im[k] * _cIm[k];
                    aIm[k] = re[k] * _cIm[k] + im[k] * _cRe[k];
                }
                var plan = Get(_m);
                plan.Forward(aRe, aIm);
                // multiply by B, conjugate (inverse via forward), 1/m already in B
                for (int k = 0; k < _m; k++)
                {
                    double r = aRe[k] * _bRe[k] - aIm[k] * _bIm[k];
                    double i = aRe[k] * _bIm[k] + aIm[k] * _bRe[k];
                    aRe[k] = r;
                    aIm[k] = -i;
                }
                plan.Forward(aRe, aIm);
                for (int k = 0; k < _n; k++)
                {
                    double r = aRe[k], i = -aIm[k];
                    re[k] = r * _cRe[k] - i * _cIm[k];
                    im[k] = r * _cIm[k] + i * _cRe[k];
                }
            }
            finally
            {
                pool.Return(ar);
                pool.Return(ai);
            }
        }
    }
}
