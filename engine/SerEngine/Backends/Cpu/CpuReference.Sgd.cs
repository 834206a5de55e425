namespace SerEngine.Backends.Cpu;

// One SGD step in place, exactly as torch.optim.SGD:
//   d = g + wd·p                                    (when wd ≠ 0)
//   buf = d on the first step, else momentum·buf + (1 − dampening)·d   (when momentum ≠ 0)
//   d = d + momentum·buf if nesterov, else buf      (when momentum ≠ 0)
//   p = p − lr·d
public partial class CpuReferenceBackend
{
    /// <inheritdoc/>
    public override void SgdStep(Storage param, Storage grad, Storage? momentumBuffer, int n, in SgdStepParams p)
    {
        float[] pv = F(param), gv = F(grad); // [n] each
        float[]? bv = momentumBuffer is null ? null : F(momentumBuffer); // [n]
        if (p.Momentum != 0f && bv is null) throw new ArgumentException("SgdStep: momentum ≠ 0 needs a momentum buffer", nameof(momentumBuffer));
        float oneMinusDampening = (float)(1.0 - p.Dampening);
        for (int i = 0; i < n; i++)
        {
            float d = gv[i];
            if (p.WeightDecay != 0f) d += p.WeightDecay * pv[i];
            if (p.Momentum != 0f)
            {
                float buf = p.FirstStep ? d : bv![i] * p.Momentum + oneMinusDampening * d;
                bv![i] = buf;
                d = p.Nesterov ? d + p.Momentum * buf : buf;
            }
            pv[i] -= p.Lr * d;
        }
    }
}
