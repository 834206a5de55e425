namespace SerEngine.Backends.Cpu;

// Softmax and log-softmax over the last axis of x [rows, cols], numerically stable: the row max
// is subtracted before exponentiating, and the row sum is accumulated in double.
//   softmax:     y = e^(x − max) / Σ e^(x − max)
//   log-softmax: y = x − max − ln Σ e^(x − max)
// Backward from y and dy:
//   softmax:     dx = y·(dy − Σ dy·y)
//   log-softmax: dx = dy − e^y·Σ dy
public partial class CpuReferenceBackend
{
    /// <inheritdoc/>
    public override void Softmax(Storage x, Storage y, int rows, int cols, bool log)
    {
        float[] xv = F(x), yv = F(y); // [rows, cols]
        for (int r = 0; r < rows; r++)
        {
            int o = r * cols;
            float max = float.NegativeInfinity;
            for (int j = 0; j < cols; j++) max = MathF.Max(max, xv[o + j]);
            double sum = 0;
            for (int j = 0; j < cols; j++) sum += Math.Exp(xv[o + j] - max);
            if (log)
            {
                float logSum = (float)Math.Log(sum);
                for (int j = 0; j < cols; j++) yv[o + j] = xv[o + j] - max - logSum;
            }
            else
            {
                for (int j = 0; j < cols; j++) yv[o + j] = (float)(Math.Exp(xv[o + j] - max) / sum);
            }
        }
    }

    /// <inheritdoc/>
    public override void SoftmaxBackward(Storage y, Storage dy, Storage dx, int rows, int cols, bool log)
    {
        float[] yv = F(y), g = F(dy), d = F(dx); // [rows, cols]
        for (int r = 0; r < rows; r++)
        {
            int o = r * cols;
            double dot = 0;
            if (log)
            {
                for (int j = 0; j < cols; j++) dot += g[o + j];
                for (int j = 0; j < cols; j++) d[o + j] = (float)(g[o + j] - Math.Exp(yv[o + j]) * dot);
            }
            else
            {
                for (int j = 0; j < cols; j++) dot += (double)g[o + j] * yv[o + j];
                for (int j = 0; j < cols; j++) d[o + j] = (float)(yv[o + j] * (g[o + j] - dot));
            }
        }
    }
}
