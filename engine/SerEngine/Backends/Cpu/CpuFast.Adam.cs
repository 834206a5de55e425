using System.Runtime.Intrinsics;

namespace SerEngine.Backends.Cpu;

// Fast Adam/AdamW: the reference's update (CpuReference.Adam.cs) with the same float operations in
// the same order, eight parameters at a time (no fused multiply-add, so the result is bit-identical
// to the reference; the last few run the reference's own loop), large parameter tensors shared among threads.
public partial class CpuBackend
{
    /// <inheritdoc/>
    public override void AdamStep(Storage param, Storage grad, Storage m, Storage v, int n, in AdamStepParams p)
    {
        float[] pv = F(param), gv = F(grad), mv = F(m), vv = F(v); // [n] each
        var scalars = AdamScalars.For(p);
        var (decay, wd, b1, oneMinusB1, b2, oneMinusB2, stepSize, bc2Sqrt, eps, decoupled) = scalars;
        ForChunks(n, 5L * n, (s, e) =>
        {
            int i = s;
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
        });
    }
}
