using System.Runtime.Intrinsics;

namespace SerEngine.Backends.Cpu;

// Fast Adam/AdamW: the reference's update (CpuReference.Adam.cs) with the same float operations in
// the same order, sixteen parameters at a time on AVX-512, else eight (no fused multiply-add, so the
// result is bit-identical to the reference; the last few run the reference's own loop), large parameter tensors shared among
// threads. The multi-tensor step cuts every tensor into pieces and shares all the pieces among the
// threads in one loop (a model's dozens of small tensors would otherwise each run alone, or each
// wake the workers).
public partial class CpuBackend
{
    /// <summary>Elements of one piece of the multi-tensor Adam step.</summary>
    private const int AdamPiece = 1 << 14;

    /// <inheritdoc/>
    public override void AdamStep(Storage param, Storage grad, Storage m, Storage v, int n, in AdamStepParams p)
    {
        float[] pv = F(param), gv = F(grad), mv = F(m), vv = F(v); // [n] each
        var scalars = AdamScalars.For(p);
        ForChunks(n, 5L * n, (s, e) => AdamRange(pv, gv, mv, vv, s, e, scalars));
    }

    /// <inheritdoc/>
    public override void AdamStepMulti(ReadOnlySpan<AdamTensors> tensors, in AdamStepParams p)
    {
        var scalars = AdamScalars.For(p);
        var pieces = new List<(AdamTensors T, int Start, int End)>();
        long total = 0;
        foreach (var t in tensors)
        {
            for (int s = 0; s < t.Count; s += AdamPiece) pieces.Add((t, s, Math.Min(t.Count, s + AdamPiece)));
            total += t.Count;
        }
        ForChunks(pieces.Count, 5L * total, (s, e) =>
        {
            for (int i = s; i < e; i++)
            {
                var (t, start, end) = pieces[i];
                AdamRange(F(t.Param), F(t.Grad), F(t.ExpAvg), F(t.ExpAvgSq), start, end, scalars);
            }
        });
    }

    /// <summary>The update of elements [<paramref name="s"/>, <paramref name="e"/>): sixteen (AVX-512) or eight at a time, then the reference's loop.</summary>
    private static void AdamRange(float[] pv, float[] gv, float[] mv, float[] vv, int s, int e, in AdamScalars scalars)
    {
        var (decay, wd, b1, oneMinusB1, b2, oneMinusB2, stepSize, bc2Sqrt, eps, decoupled) = scalars;
        int i = s;
        if (Vector512.IsHardwareAccelerated)
        {
            var vDecay = Vector512.Create(decay);
            var vWd = Vector512.Create(wd);
            var vB1 = Vector512.Create(b1);
            var v1B1 = Vector512.Create(oneMinusB1);
            var vB2 = Vector512.Create(b2);
            var v1B2 = Vector512.Create(oneMinusB2);
            var vBc2 = Vector512.Create(bc2Sqrt);
            var vEps = Vector512.Create(eps);
            var vStep = Vector512.Create(stepSize);
            for (; i + 16 <= e; i += 16)
            {
                var w = Vector512.Create(pv.AsSpan(i, 16));
                var g = Vector512.Create(gv.AsSpan(i, 16));
                if (decoupled) w *= vDecay;
                else if (wd != 0f) g += vWd * w;
                var mi = Vector512.Create(mv.AsSpan(i, 16)) * vB1 + v1B1 * g;
                var vi = Vector512.Create(vv.AsSpan(i, 16)) * vB2 + v1B2 * g * g;
                var denom = Vector512.Sqrt(vi) / vBc2 + vEps;
                mi.CopyTo(mv.AsSpan(i, 16));
                vi.CopyTo(vv.AsSpan(i, 16));
                (w - vStep * (mi / denom)).CopyTo(pv.AsSpan(i, 16));
            }
        }
        if (Vector256.IsHardwareAccelerated)
        {
            var vDecay = Vector256.Create(decay);
            var vWd = Vector256.Create(wd);
            var vB1 = Vector256.Create(b1);
            var v1B1 = Vector256.Create(oneMinusB1);
            var vB2 = Vector256.Create(b2);
            var v1B2 = Vector256.Create(oneMinusB2);
            var vBc2 = Vector256.Create(bc2Sqrt);
            var vEps = Vector256.Create(eps);
            var vStep = Vector256.Create(stepSize);
            for (; i + 8 <= e; i += 8)
            {
                var w = Vector256.Create(pv.AsSpan(i, 8));
                var g = Vector256.Create(gv.AsSpan(i, 8));
                if (decoupled) w *= vDecay;
                else if (wd != 0f) g += vWd * w;
                var mi = Vector256.Create(mv.AsSpan(i, 8)) * vB1 + v1B1 * g;
                var vi = Vector256.Create(vv.AsSpan(i, 8)) * vB2 + v1B2 * g * g;
                var denom = Vector256.Sqrt(vi) / vBc2 + vEps;
                mi.CopyTo(mv.AsSpan(i, 8));
                vi.CopyTo(vv.AsSpan(i, 8));
                (w - vStep * (mi / denom)).CopyTo(pv.AsSpan(i, 8));
            }
        }
        AdamUpdate(pv, gv, mv, vv, i, e, scalars); // the rest, as the reference
    }
}
