using SerEngine.Autograd;
using SerEngine.Backends;
using SerEngine.Backends.Cpu;
using SerEngine.Models.Attention;
using static SerEngine.Tests.Engine.FastAgreement;

namespace SerEngine.Tests.Engine;

/// <summary>
/// The fast backend's fused attention (CpuFast.Attention.cs) against the <c>cpu-reference</c>
/// composition (Gemm + BiasedSoftmax + Gemm): awkward T and D (one token, odd, one past the 8-wide
/// vectors, the longest fused T), one and several batch·head items, with and without bias, key mask
/// (a fully masked mask row gives zeros), dropout mask and each upstream gradient, outputs NaN-filled;
/// results bit-identical for 1, 2 and 3 threads; shapes past the fused bounds compose;
/// FocusCalibrationAttention's gradients on both backends.
/// </summary>
public class CpuFastAttentionTests
{
    private static readonly CpuBackend[] Fast = [new CpuBackend(1), new CpuBackend(2), new CpuBackend(3)];

    // (BH, T, D, itemsPerMask)
    public static TheoryData<int, int, int, int> Sizes => new()
    {
        { 1, 1, 1, 1 }, { 7, 15, 5, 1 }, { 128, 15, 64, 4 }, { 1, 17, 33, 1 }, { 7, 17, 64, 7 }, { 3, 9, 40, 3 }, { 2, 64, 7, 2 }, { 5, 33, 3, 1 },
    };

    [Theory]
    [MemberData(nameof(Sizes))]
    public void FusedAttentionAgreesWithTheReference(int bh, int t, int d, int perMask)
    {
        Assert.Equal("fused", Fast[0].AttentionImplementation(t, d));
        foreach (var (bias, mask, drop) in new[] { (false, false, false), (true, false, false), (false, true, false), (true, true, true), (true, false, true) })
            Compare(bh, t, d, perMask, bias, mask, drop);
    }

    [Fact]
    public void ShapesPastTheFusedBoundsCompose()
    {
        Assert.Equal("composed", Fast[0].AttentionImplementation(CpuBackend.AttentionFusedMaxTokens + 1, 8));
        Assert.Equal("composed", Fast[0].AttentionImplementation(8, CpuBackend.AttentionFusedMaxHeadDim + 1));
        Compare(2, CpuBackend.AttentionFusedMaxTokens + 3, 8, 1, bias: true, mask: true, drop: true);
    }

    private static void Compare(int bh, int t, int d, int perMask, bool bias, bool mask, bool drop)
    {
        int td = bh * t * d, tt = bh * t * t, maskRows = (bh + perMask - 1) / perMask;
        string what = $"attention BH {bh} T {t} D {d} perMask {perMask} bias {bias} mask {mask} drop {drop}";
        float scale = 1f / MathF.Sqrt(d);
        var rng = new Generator((ulong)(bh * 1000 + t * 10 + d));
        var q = Random(rng, td);
        var k = Random(rng, td);
        var v = Random(rng, td);
        var biasS = Random(rng, tt);
        var maskValues = new int[maskRows * t];
        var r = new Random(bh * 1000 + t);
        for (int i = 0; i < maskValues.Length; i++) maskValues[i] = r.Next(3) == 0 ? 0 : 1 + r.Next(2); // any non-zero keeps
        if (maskRows > 1) Array.Clear(maskValues, (maskRows - 1) * t, t);                                // the last mask row keeps no key
        var maskS = Ref.Allocate(maskValues.Length, DType.Int32);
        Ref.Write(maskS, maskValues);
        var dropValues = new float[tt];
        for (int i = 0; i < tt; i++) dropValues[i] = r.Next(5) == 0 ? 0f : 1.25f;
        var dropS = Ref.Allocate(tt, DType.Float32);
        Ref.Write(dropS, dropValues);
        Storage? B(bool on, Storage s) => on ? s : null;

        var probs = Output(tt);
        var o = Output(td);
        Ref.AttentionForward(q, k, v, B(bias, biasS), mask ? maskS : null, B(drop, dropS), probs, o, bh, t, d, perMask, scale);
        var dOut = Random(rng, td);
        var dProbs = Random(rng, tt);
        float[][]? first = null;
        foreach (var fast in Fast)
        {
            var pf = Output(tt);
            var of = Output(td);
            fast.AttentionForward(q, k, v, B(bias, biasS), mask ? maskS : null, B(drop, dropS), pf, of, bh, t, d, perMask, scale);
            Agree(probs, pf, what + " P");
            Agree(o, of, what + " O");
            if (mask && maskRows > 1)
                for (int item = (maskRows - 1) * perMask; item < bh; item++)
                {
                    Assert.All(Read(pf).Skip(item * t * t).Take(t * t), x => Assert.Equal(0f, x));
                    Assert.All(Read(of).Skip(item * t * d).Take(t * d), x => Assert.Equal(0f, x));
                }
            var results = new List<float[]> { Read(pf), Read(of) };
            foreach (var (withDOut, withDProbs) in new[] { (true, true), (true, false), (false, true) })
            {
                string w = $"{what} dOut {withDOut} dProbs {withDProbs} t{fast.ThreadCount}";
                Storage[] want = [Output(td), Output(td), Output(td), Output(tt)], got = [Output(td), Output(td), Output(td), Output(tt)];
                Ref.AttentionBackward(q, k, v, probs, B(drop, dropS), B(withDOut, dOut), B(withDProbs, dProbs), want[0], want[1], want[2], want[3], bh, t, d, scale);
                fast.AttentionBackward(q, k, v, probs, B(drop, dropS), B(withDOut, dOut), B(withDProbs, dProbs), got[0], got[1], got[2], got[3], bh, t, d, scale);
                for (int i = 0; i < 4; i++)
                {
                    Agree(want[i], got[i], $"{w} {(new[] { "dQ", "dK", "dV", "dBias" })[i]}");
                    results.Add(Read(got[i]));
                }
            }
            // only dK requested
            var dkOnly = Output(td);
            var dkWant = Output(td);
            Ref.AttentionBackward(q, k, v, probs, B(drop, dropS), dOut, null, null, dkWant, null, null, bh, t, d, scale);
            fast.AttentionBackward(q, k, v, probs, B(drop, dropS), dOut, null, null, dkOnly, null, null, bh, t, d, scale);
            Agree(dkWant, dkOnly, what + " dK alone");
            if (first is null) first = [.. results];
            else
                for (int i = 0; i < first.Length; i++)
                    Assert.Equal(first[i], results[i]); // the same bits with any thread count
        }
    }

    [Theory]
    [InlineData(5)]
    [InlineData(15)]
    [InlineData(17)]
    public void FocusCalibrationAttentionGradientsMatchTheReference(int t)
    {
        Backend cpu = Ref, fast = Fast[1];
        var attnFast = new FocusCalibrationAttention(6, 2, 3, focus: true, calibration: true, dropout: 0f, new Generator(5), fast);
        var attnRef = new FocusCalibrationAttention(6, 2, 3, focus: true, calibration: true, dropout: 0f, new Generator(5), cpu);
        var rng = new Generator(61);
        var xv = RandomArray(rng, 2 * t * 6);
        var gy = RandomArray(rng, 2 * t * 6);
        var ga = RandomArray(rng, 2 * 2 * t * t);
        var results = new List<float[]>[2];
        foreach (var (i, attn, b) in new[] { (0, attnFast, fast), (1, attnRef, cpu) })
        {
            var x = Tensor.FromArray(xv, new Shape(2, t, 6), b);
            x.RequiresGrad = true;
            var (y, internals) = attn.Forward(x);
            Graph.Backward([y, internals.Attention], [Tensor.FromArray(gy, y.Shape, b), Tensor.FromArray(ga, internals.Attention.Shape, b)]);
            results[i] = [y.ToArray(), internals.Attention.ToArray(), x.Grad!.ToArray(), .. attn.Parameters().Select(p => p.Grad!.ToArray())];
        }
        for (int r = 0; r < results[0].Count; r++)
            Agree(results[1][r], results[0][r], $"T {t}: result {r} (y, A, dx, then the parameters' gradients)");
    }
}
