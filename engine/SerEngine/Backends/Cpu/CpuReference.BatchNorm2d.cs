namespace SerEngine.Backends.Cpu;

// BatchNorm2d as plain loops, accumulated in double, exactly PyTorch's rule.
// Legend: x, y [N, C, HW]; weight, bias, mean, invStd, running buffers [C]; M = N·HW values per channel.
// Training: mean = Σx/M, var = Σ(x − mean)²/M (biased, used to normalise), running buffers move to
// (1 − momentum)·running + momentum·batch with the UNBIASED variance Σ(x − mean)²/(M − 1).
// Eval: mean = runningMean, invStd = 1/√(runningVar + eps).
// Backward, with x̂ = (x − mean)·invStd: dBias = Σdy, dWeight = Σdy·x̂; training
// dx = weight·invStd/M · (M·dy − Σdy − x̂·Σdy·x̂) (the batch statistics depend on x); eval dx = dy·weight·invStd.
// With validColumns (HW = H·width): every Σ and M cover the valid positions (w < valid[i]) only, and
// y, dx are 0 at the others.
public partial class CpuReferenceBackend
{
    /// <inheritdoc/>
    public override void BatchNorm2dForward(Storage x, Storage? weight, Storage? bias, Storage y,
        Storage mean, Storage invStd, Storage? runningMean, Storage? runningVar,
        int n, int c, int hw, float eps, float momentum, bool training, int[]? validColumns = null, int width = 0)
    {
        BatchNorm2dMask.Check("batchnorm2d", validColumns, n, hw, width);
        float[] xv = F(x), yv = F(y), mv = F(mean), sv = F(invStd); // [N, C, HW] x2, [C] x2
        float[]? wv = weight is null ? null : F(weight), bv = bias is null ? null : F(bias); // [C]
        float[]? rm = runningMean is null ? null : F(runningMean), rv = runningVar is null ? null : F(runningVar); // [C]
        if (!training && (rm is null || rv is null))
            throw new ArgumentException("batchnorm2d: eval mode needs the running mean and variance");
        long count = BatchNorm2dMask.Count(validColumns, n, hw, width);
        bool Kept(int i, int j) => validColumns is null || j % width < validColumns[i];
        for (int ch = 0; ch < c; ch++)
        {
            double mu, istd;
            if (training)
            {
                double sum = 0;
                for (int i = 0; i < n; i++)
                    for (int j = 0; j < hw; j++)
                        if (Kept(i, j)) sum += xv[(i * c + ch) * hw + j];
                mu = sum / count;
                double sq = 0;
                for (int i = 0; i < n; i++)
                    for (int j = 0; j < hw; j++)
                    {
                        if (!Kept(i, j)) continue;
                        double d = xv[(i * c + ch) * hw + j] - mu;
                        sq += d * d;
                    }
                istd = 1.0 / Math.Sqrt(sq / count + eps);
                if (rm is not null) rm[ch] = (float)((1 - momentum) * (double)rm[ch] + momentum * mu);
                if (rv is not null) rv[ch] = (float)((1 - momentum) * (double)rv[ch] + momentum * (sq / (count - 1)));
            }
            else
            {
                mu = rm![ch];
                istd = 1.0 / Math.Sqrt(rv![ch] + (double)eps);
            }
            mv[ch] = (float)mu;
            sv[ch] = (float)istd;
            double scale = istd * (wv is null ? 1.0 : wv[ch]), shift = bv is null ? 0.0 : bv[ch];
            for (int i = 0; i < n; i++)
                for (int j = 0; j < hw; j++)
                {
                    int at = (i * c + ch) * hw + j;
                    yv[at] = Kept(i, j) ? (float)((xv[at] - mu) * scale + shift) : 0f;
                }
        }
    }

    /// <inheritdoc/>
    public override void BatchNorm2dBackward(Storage dy, Storage x, Storage? weight, Storage mean, Storage invStd,
        Storage dx, Storage? dWeight, Storage? dBias, int n, int c, int hw, bool training, int[]? validColumns = null, int width = 0)
    {
        BatchNorm2dMask.Check("batchnorm2d backward", validColumns, n, hw, width);
        float[] dyv = F(dy), xv = F(x), mv = F(mean), sv = F(invStd), dxv = F(dx); // [N, C, HW], [N, C, HW], [C], [C], [N, C, HW]
        float[]? wv = weight is null ? null : F(weight);                            // [C]
        float[]? dwv = dWeight is null ? null : F(dWeight), dbv = dBias is null ? null : F(dBias); // [C]
        long count = BatchNorm2dMask.Count(validColumns, n, hw, width);
        bool Kept(int i, int j) => validColumns is null || j % width < validColumns[i];
        for (int ch = 0; ch < c; ch++)
        {
            double mu = mv[ch], istd = sv[ch], w = wv is null ? 1.0 : wv[ch];
            double sumDy = 0, sumDyXhat = 0;
            for (int i = 0; i < n; i++)
                for (int j = 0; j < hw; j++)
                {
                    if (!Kept(i, j)) continue;
                    int at = (i * c + ch) * hw + j;
                    sumDy += dyv[at];
                    sumDyXhat += dyv[at] * ((xv[at] - mu) * istd);
                }
            if (dbv is not null) dbv[ch] = (float)sumDy;
            if (dwv is not null) dwv[ch] = (float)sumDyXhat;
            double k = w * istd;
            for (int i = 0; i < n; i++)
                for (int j = 0; j < hw; j++)
                {
                    int at = (i * c + ch) * hw + j;
                    dxv[at] = !Kept(i, j) ? 0f : training
                        ? (float)(k * (dyv[at] - sumDy / count - (xv[at] - mu) * istd * sumDyXhat / count))
                        : (float)(k * dyv[at]);
                }
        }
    }
}
