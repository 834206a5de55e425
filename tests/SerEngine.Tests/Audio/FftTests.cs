using SerEngine.Audio;

namespace SerEngine.Tests.Audio;

public class FftTests
{
    private static (double[] Re, double[] Im) NaiveDft(double[] re, double[] im)
    {
        int n = re.Length;
        var oRe = new double[n];
        var oIm = new double[n];
        for (int k = 0; k < n; k++)
        {
            double sr = 0, si = 0;
            for (int j = 0; j < n; j++)
            {
                // exact angle reduction keeps the reference accurate at large n
                long jk = (long)j * k % n;
                var (s, c) = Math.SinCos(2 * Math.PI * jk / n);
                sr += re[j] * c + im[j] * s;
                si += im[j] * c - re[j] * s;
            }
            oRe[k] = sr;
            oIm[k] = si;
        }
        return (oRe, oIm);
    }

    private static double[] Random(int n, Random rng) => Enumerable.Range(0, n).Select(_ => rng.NextDouble() * 2 - 1).ToArray();

    private static double RelError(double[] aRe, double[] aIm, double[] eRe, double[] eIm, int count)
    {
        double num = 0, den = 0;
        for (int k = 0; k < count; k++)
        {
            num += (aRe[k] - eRe[k]) * (aRe[k] - eRe[k]) + (aIm[k] - eIm[k]) * (aIm[k] - eIm[k]);
            den += eRe[k] * eRe[k] + eIm[k] * eIm[k];
        }
        return Math.Sqrt(num / Math.Max(den, 1e-300));
    }

    public static TheoryData<int> Lengths()
    {
        var d = new TheoryData<int>();
        foreach (int n in Enumerable.Range(1, 64).Concat([97, 400, 800, 1000, 2048])) d.Add(n);
        return d;
    }

    [Theory]
    [MemberData(nameof(Lengths))]
    public void ComplexForwardMatchesNaiveDft(int n)
    {
        var rng = new Random(n);
        var re = Random(n, rng);
        var im = Random(n, rng);
        var (eRe, eIm) = NaiveDft(re, im);
        var plan = FftPlan.Get(n);
        plan.Forward(re, im);
        double err = RelError(re, im, eRe, eIm, n);
        Assert.True(err < 1e-12, $"n={n} radices=[{string.Join(",", plan.Radices)}] bluestein={plan.UsesBluestein}: relative error {err:E3}");
    }

    [Theory]
    [MemberData(nameof(Lengths))]
    public void RealForwardMatchesNaiveDft(int n)
    {
        var rng = new Random(1000 + n);
        var x = Random(n, rng);
        var (eRe, eIm) = NaiveDft(x, new double[n]);
        int bins = n / 2 + 1;
        var re = new double[bins];
        var im = new double[bins];
        FftPlan.Get(n).RealForward(x, re, im);
        double err = RelError(re, im, eRe, eIm, bins);
        Assert.True(err < 1e-12, $"n={n}: relative error {err:E3}");
    }

    [Theory]
    [InlineData(12)]
    [InlineData(97)]
    [InlineData(800)]
    public void InverseUndoesForward(int n)
    {
        var rng = new Random(7);
        var re = Random(n, rng);
        var im = Random(n, rng);
        var (r0, i0) = ((double[])re.Clone(), (double[])im.Clone());
        var plan = FftPlan.Get(n);
        plan.Forward(re, im);
        plan.Inverse(re, im);
        Assert.True(RelError(re, im, r0, i0, n) < 1e-13);
    }

    [Fact]
    public void PlansAreCachedAndFactored()
    {
        Assert.Same(FftPlan.Get(800), FftPlan.Get(800));
        Assert.Equal([4, 4, 2, 5, 5], FftPlan.Get(800).Radices);
        Assert.Equal([4, 4, 5, 5], FftPlan.Get(400).Radices);
        Assert.Equal(Enumerable.Repeat(4, 5).Append(2), FftPlan.Get(2048).Radices);
        Assert.False(FftPlan.Get(1000).UsesBluestein);
        Assert.True(FftPlan.Get(97).UsesBluestein);
        Assert.True(FftPlan.Get(14).UsesBluestein);
        Assert.Throws<ArgumentOutOfRangeException>(() => new FftPlan(0));
    }

    [Fact]
    public void WindowsMatchTorch()
    {
        // torch.hann_window(4) = [0, 0.5, 1, 0.5]; torch.hann_window(5, periodic=False) = [0, .5, 1, .5, 0]
        Assert.Equal([0, 0.5, 1, 0.5], Windows.Hann(4).Select(v => Math.Round(v, 12)));
        Assert.Equal([0, 0.5, 1, 0.5, 0], Windows.Hann(5, periodic: false).Select(v => Math.Round(v, 12)));
        // torch.hamming_window(4) = [0.08, 0.54, 1.0, 0.54]; symmetric length 3 = [0.08, 1, 0.08]
        Assert.Equal([0.08, 0.54, 1, 0.54], Windows.Hamming(4).Select(v => Math.Round(v, 12)));
        Assert.Equal([0.08, 1, 0.08], Windows.Hamming(3, periodic: false).Select(v => Math.Round(v, 12)));
        Assert.Equal([1.0], Windows.Hann(1));
        Assert.Equal([1.0], Windows.Hamming(1, periodic: false));
        // periodic N equals symmetric N+1 without its last point
        Assert.Equal(Windows.Hamming(641, periodic: false).Take(640), Windows.Hamming(640));
    }
}
