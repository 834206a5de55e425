namespace SerEngine.Backends.Cpu;

// One Adam / AdamW step in place, in torch.optim's order of operations (PyTorch 1.13,
// single-tensor path). Scalars are formed in double, as Python does, then used in float32:
//   AdamW:  p *= 1 − lr·wd                          (decoupled decay, first)
//   Adam:   g  = g + wd·p                           (L2 added to the gradient)
//   m = β1·m + (1 − β1)·g
//   v = β2·v + (1 − β2)·g·g
//   stepSize = lr / (1 − β1^t);  denom = √v / √(1 − β2^t) + eps
//   p = p − stepSize · (m / denom)
public partial class CpuReferenceBackend
{
    /// <inheritdoc/>
    public override void AdamStep(Storage param, Storage grad, Storage m, Storage v, int n, in AdamStepParams p)
    {
        float[] pv = F(param), gv = F(grad), mv = F(m), vv = F(v); // [n] each
        double beta1 = p.Beta1, beta2 = p.Beta2;
        float decay = (float)(1.0 - (double)p.Lr * p.WeightDecay);
        float wd = p.WeightDecay;
        float b1 = (float)beta1, oneMinusB1 = (float)(1.0 - beta1);
        float b2 = (float)beta2, oneMinusB2 = (float)(1.0 - beta2);
        double biasCorrection1 = 1.0 - Math.Pow(beta1, p.Step);
        double biasCorrection2 = 1.0 - Math.Pow(beta2, p.Step);
        float stepSize = (float)(p.Lr / biasCorrection1);
        float bc2Sqrt = (float)Math.Sqrt(biasCorrection2);
        float eps = p.Eps;
        for (int i = 0; i < n; i++)
        {
            float w = pv[i];
            float g = gv[i];
            if (p.Decoupled) w *= decay;
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
