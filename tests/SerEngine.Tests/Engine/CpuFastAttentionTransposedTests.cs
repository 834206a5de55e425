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

    /// <summary>
    /// AttentionForwardTransposedFocus (centres and widths from the focus context cᵀ and the block-diagonal U in the same loop):
    /// against cpu-reference's composed default within rounding, and bit for bit against the fast backend's own composition
    /// (its Gemm, Sigmoid, Scale, CopyBlocks, then AttentionForwardTransposed) on 1–3 threads, centres and widths included.
    /// </summary>
    [Theory]
    [InlineData(1, 4, 15, 64)]
    [InlineData(2, 2, 8, 40)]
    [InlineData(3, 2, 9, 24)]
    public void FocusLogitsInTheLoopGiveTheComposedBits(int n, int h, int t, int d)
    {
        int bh = n * h, hd = h * d, tt = bh * t * t, ot = bh * d * t;
        float scale = 1f / MathF.Sqrt(d);
        var rng = new Generator((ulong)(7 + n * 1000 + h * 100 + t * 10 + d));
        var qkvT = Random(rng, n * 3 * hd * t);
        var c = RandomArray(rng, n * hd * t);
        for (int i = 0; i < c.Length; i++) c[i] = MathF.Tanh(c[i]);
        var focusT = Ref.Allocate(c.Length, DType.Float32);                     // [N, H·D, T]
        Ref.Write(focusT, c);
        var uv = new float[2 * h * hd];                                         // [2H, H·D], block-diagonal
        var normals = RandomArray(rng, 2 * hd);
        for (int head = 0; head < h; head++)
            for (int j = 0; j < d; j++)
            {
                uv[head * hd + head * d + j] = normals[head * d + j];
                uv[(h + head) * hd + head * d + j] = normals[hd + head * d + j];
            }
        var u = Ref.Allocate(uv.Length, DType.Float32);
        Ref.Write(u, uv);
        float[] Run(Backend be, bool composed)
        {
            var (cs, ws, p, o, m) = (Output(bh * t), Output(bh * t), Output(tt), Output(ot), Output(n * hd));
            if (!composed) be.AttentionForwardTransposedFocus(qkvT, focusT, u, cs, ws, p, o, m, n, h, t, d, scale);
            else
            {
                var logits = Output(n * 2 * h * t);
                be.Gemm(false, false, n, 2 * h, t, hd, 1f, u, 0, focusT, hd * t, 0f, logits, 2 * h * t);
                be.Unary(UnaryOp.Sigmoid, logits, logits, n * 2 * h * t, 0f);
                be.Unary(UnaryOp.Scale, logits, logits, n * 2 * h * t, t);
                be.CopyBlocks(logits, 0, 2 * h * t, cs, 0, h * t, h * t, n);
                be.CopyBlocks(logits, h * t, 2 * h * t, ws, 0, h * t, h * t, n);
                be.AttentionForwardTransposed(qkvT, cs, ws, p, o, m, n, h, t, d, scale);
            }
            return [.. Read(cs), .. Read(ws), .. Read(p), .. Read(o), .. Read(m)];
        }
        var reference = Run(Ref, composed: false);
        foreach (var threads in new[] { 1, 2, 3 })
        {
            var be = new CpuBackend(threads);
            var fused = Run(be, composed: false);
            Agree(reference, fused, $"N {n} H {h} T {t} D {d} on {threads} threads");
            Assert.True(Run(be, composed: true).AsSpan().SequenceEqual(fused), $"N {n} H {h} T {t} D {d} on {threads} threads: not the composed bits");
        }
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
