using SerEngine.Backends;
using SerEngine.Backends.Cpu;
using static SerEngine.Tests.Engine.FastAgreement;

namespace SerEngine.Tests.Engine;

/// <summary>
/// Attention over q, k, v [N, T, H, D] (the heads as they lie in a projection's output) against the per-item
/// primitives on the heads split into [N, H, T, D] copies, bit for bit on the same backend: P, O, dBias, and
/// dQ, dK, dV permuted back; the fast backend's in-place rows (1, 2 and 3 threads) and cpu-reference's default
/// (permute, then the per-item primitives); FocusCalibrationNet's shape and ragged ones, with and without bias,
/// key mask (shared by an image's heads), dropout mask, and each upstream gradient.
/// </summary>
public class CpuFastAttentionTokensTests
{
    private static readonly Backend[] Backends = [Ref, new CpuBackend(1), new CpuBackend(2), new CpuBackend(3)];

    [Theory]
    [InlineData(32, 4, 15, 64)]
    [InlineData(3, 2, 9, 40)]
    [InlineData(2, 3, 17, 33)]
    [InlineData(1, 1, 1, 1)]
    public void TokenMajorHeadsAreTheSplitHeadsBitForBit(int n, int h, int t, int d)
    {
        foreach (var (bias, mask, drop) in new[] { (false, false, false), (true, false, true), (true, true, true) })
            foreach (var (withOut, withProbs) in new[] { (true, true), (true, false), (false, true) })
                Compare(n, h, t, d, bias, mask, drop, withOut, withProbs);
    }

    private static void Compare(int n, int h, int t, int d, bool bias, bool mask, bool drop, bool withOut, bool withProbs)
    {
        int bh = n * h, td = bh * t * d, tt = bh * t * t;
        string what = $"N {n} H {h} T {t} D {d} bias {bias} mask {mask} drop {drop} dO {withOut} dP {withProbs}";
        float scale = 1f / MathF.Sqrt(d);
        var rng = new Generator((ulong)(n * 1000 + h * 100 + t * 10 + d));
        var tokenShape = new Shape(n, t, h, d);
        var headShape = new Shape(n, h, t, d);
        var qt = Random(rng, td);
        var kt = Random(rng, td);
        var vt = Random(rng, td);
        var biasS = bias ? Random(rng, tt) : null;
        var r = new Random(n * 100 + t);
        Storage? maskS = null;
        if (mask)
        {
            var values = new int[n * t];
            for (int i = 0; i < values.Length; i++) values[i] = r.Next(3) == 0 ? 0 : 1;
            maskS = Ref.Allocate(values.Length, DType.Int32);
            Ref.Write(maskS, values);
        }
        Storage? dropS = null;
        if (drop)
        {
            var values = new float[tt];
            for (int i = 0; i < tt; i++) values[i] = r.Next(5) == 0 ? 0f : 1.25f;
            dropS = Ref.Allocate(tt, DType.Float32);
            Ref.Write(dropS, values);
        }
        var dOut = withOut ? Random(rng, td) : null;
        var dProbs = withProbs ? Random(rng, tt) : null;
        Storage Split(Storage x)
        {
            var y = Output(td);
            Ref.Permute(x, tokenShape, [0, 2, 1, 3], y);
            return y;
        }
        float[] Merge(Storage x)
        {
            var y = Output(td);
            Ref.Permute(x, headShape, [0, 2, 1, 3], y);
            return Read(y);
        }
        var (qh, kh, vh) = (Split(qt), Split(kt), Split(vt));
        foreach (var be in Backends)
        {
            string on = $"{what} on {be.Name}{(be is CpuBackend c ? $" t{c.ThreadCount}" : "")}";
            var (p1, o1, p2, o2) = (Output(tt), Output(td), Output(tt), Output(td));
            be.AttentionForward(qh, kh, vh, biasS, maskS, dropS, p1, o1, bh, t, d, h, scale);
            be.AttentionForwardTokens(qt, kt, vt, biasS, maskS, dropS, p2, o2, n, h, t, d, scale);
            Assert.True(Read(p1).AsSpan().SequenceEqual(Read(p2)), $"P differs: {on}");
            Assert.True(Read(o1).AsSpan().SequenceEqual(Read(o2)), $"O differs: {on}");

            var (dq1, dk1, dv1, db1) = (Output(td), Output(td), Output(td), Output(tt));
            var (dq2, dk2, dv2, db2) = (Output(td), Output(td), Output(td), Output(tt));
            be.AttentionBackward(qh, kh, vh, p1, dropS, dOut, dProbs, dq1, dk1, dv1, db1, bh, t, d, scale);
            be.AttentionBackwardTokens(qt, kt, vt, p2, dropS, dOut, dProbs, dq2, dk2, dv2, db2, n, h, t, d, scale);
            Assert.True(Read(db1).AsSpan().SequenceEqual(Read(db2)), $"dBias differs: {on}");
            Assert.True(Merge(dq1).AsSpan().SequenceEqual(Read(dq2)), $"dQ differs: {on}");
            Assert.True(Merge(dk1).AsSpan().SequenceEqual(Read(dk2)), $"dK differs: {on}");
            Assert.True(Merge(dv1).AsSpan().SequenceEqual(Read(dv2)), $"dV differs: {on}");
        }
    }
}
