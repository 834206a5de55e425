using SerEngine.Backends;
using SerEngine.Backends.Cpu;
using static SerEngine.Tests.Engine.FastAgreement;

namespace SerEngine.Tests.Engine;

/// <summary>
/// The feature-major eval attention core (Backend.AttentionForwardTransposed) on the fast backend's fused loop
/// (1, 2 and 3 threads) against cpu-reference's default, which composes the unfused path's primitives: A, Oᵀ and
/// the token means agree within rounding, and the fused loop gives the same bits on every thread count. Real
/// values: q, k, v normal, centres and widths T·sigmoid of normals as the model makes them; FocusCalibrationNet's
/// shape and ragged ones, with and without the focus bias and the means. The outputs' hash goes to the test log
/// so runs at both vector widths can be compared.
/// </summary>
public class CpuFastAttentionTransposedTests(ITestOutputHelper log)
{
    [Theory]
    [InlineData(1, 4, 15, 64)]
    [InlineData(32, 4, 15, 64)]
    [InlineData(3, 2, 9, 40)]
    [InlineData(2, 3, 17, 33)]
    [InlineData(1, 1, 1, 1)]
    public void FusedLoopAgreesWithTheComposedPrimitives(int n, int h, int t, int d)
    {
        foreach (var (focus, means) in new[] { (true, true), (false, true), (true, false) })
            Compare(n, h, t, d, focus, means);
    }

    [Fact]
    public void FocusCalibrationNetsShapeTakesTheFusedLoop() =>
        Assert.Equal("fused", new CpuBackend(2).AttentionTransposedImplementation(15, 64));

    private void Compare(int n, int h, int t, int d, bool focus, bool withMeans)
    {
        int bh = n * h, hd = h * d, tt = bh * t * t, ot = bh * d * t;
        string what = $"N {n} H {h} T {t} D {d} focus {focus} means {withMeans}";
        float scale = 1f / MathF.Sqrt(d);
        var rng = new Generator((ulong)(n * 1000 + h * 100 + t * 10 + d));
        var qkvT = Random(rng, n * 3 * hd * t);
        Storage? centres = null, widths = null;
        if (focus)
        {
            float[] Positions()
            {
                var v = RandomArray(rng, bh * t);
                for (int i = 0; i < v.Length; i++) v[i] = t / (1f + MathF.Exp(-v[i]));
                return v;
            }
            centres = Ref.Allocate(bh * t, DType.Float32);
            Ref.Write(centres, Positions());
            widths = Ref.Allocate(bh * t, DType.Float32);
            Ref.Write(widths, Positions());
        }
        var (p0, o0, m0) = (Output(tt), Output(ot), withMeans ? Output(n * hd) : null);
        Ref.AttentionForwardTransposed(qkvT, centres, widths, p0, o0, m0, n, h, t, d, scale);
        float[]? first = null;
        foreach (var threads in new[] { 1, 2, 3 })
        {
            var be = new CpuBackend(threads);
            string on = $"{what} on {threads} threads";
            var (p, o, m) = (Output(tt), Output(ot), withMeans ? Output(n * hd) : null);
            be.AttentionForwardTransposed(qkvT, centres, widths, p, o, m, n, h, t, d, scale);
            Agree(p0, p, $"A: {on}");
            Agree(o0, o, $"Oᵀ: {on}");
            if (m is not null) Agree(m0!, m, $"means: {on}");
            float[] all = [.. Read(p), .. Read(o), .. (m is null ? [] : Read(m))];
            if (first is null)
            {
                first = all;
                ulong hash = 14695981039346656037;
                foreach (var x in all) hash = (hash ^ BitConverter.SingleToUInt32Bits(x)) * 1099511628211;
                log.WriteLine($"{what}: bits {hash:x16}");
            }
            else Assert.True(first.AsSpan().SequenceEqual(all), $"threads change the bits: {on}");
        }
    }
}
