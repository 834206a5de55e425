namespace SerEngine.Backends.Cpu;

// One Adam / AdamW step in place, in torch.optim's order of operations (PyTorch 1.13,
// single-tensor path). Scalars are formed in double, as Python does, then used in float32 (AdamScalars.For):
//   AdamW:  p *= 1 − lr·wd                          (decoupled decay, first)
//   Adam:   g  = g + wd·p                           (L2 added to the gradient)
//   m = β1·m + (1 − β1)·g
//   v = β2·v + (1 − β2)·g·g
//   stepSize = lr / (1 − β1^t);  denom = √v / √(1 − β2^t) + eps
//   p = p − stepSize · (m / denom)
public partial class CpuReferenceBackend
{
    /// <inheritdoc/>
    public override void AdamStep(Storage param, Storage grad, Storage m, Storage v, int n, in AdamStepParams p) =>
        AdamUpdate(F(param), F(grad), F(m), F(v), 0, n, AdamScalars.For(p)); // [n] each

    /// <summary>The update of elements [<paramref name="start"/>, <paramref name="end"/>) one at a time (also the fast backend's tail).</summary>
    private protected static void AdamUpdate(float[] pv, float[] gv, float[] mv, float[] vv, int start, int end, in AdamScalars a)
    {
        var (decay, wd, b1, oneMinusB1, b2, oneMinusB2, stepSize, bc2Sqrt, eps, decoupled) = a;
        for (int i = start; i < end; i++)
        {
            float w = pv[i];
            float g = gv[i];
            if (decoupled) w *= decay;
            else if (wd != 0f) g += wd * w;
            float mi = mv[i] * b1 + oneMinusB1 * g;
            float vi = vv[i] * b2 + oneMinusB2 * g * g;
            float denom = MathF.Sqrt(vi) / bc2Sqrt + eps;
            mv[i] = mi;
            vv[i] = vi;
            pv[i] = w - stepSize * (mi / denom);
        }
    }
}
