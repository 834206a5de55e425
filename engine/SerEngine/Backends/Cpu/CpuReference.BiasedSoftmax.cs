namespace SerEngine.Backends.Cpu;

// The fused attention softmax over the last axis of [rows, cols]:
//   z = scale·x + bias            (bias [rows, cols] optional)
//   y = softmax(z) over the keys that the mask keeps, 0 on masked keys
// keyMask is Int32 [rows / rowsPerMask, cols]; row r reads mask row r / rowsPerMask, and a key is
// kept when its mask value is non-zero (1 = keep). A row whose keys are all masked is all zeros.
// Backward: g = y·(dy − Σ dy·y); dx = scale·g, dBias = g. Masked keys have y = 0, so g = 0 there.
public partial class CpuReferenceBackend
{
    /// <inheritdoc/>
    public override void BiasedSoftmax(Storage x, Storage? bias, Storage? keyMask, Storage y, int rows, int cols, int rowsPerMask, float scale)
    {
        float[] xv = F(x), yv = F(y);          // [rows, cols]
        float[]? bv = bias is null ? null : F(bias); // [rows, cols]
        int[]? mv = keyMask is null ? null : I(keyMask); // [rows / rowsPerMask, cols]
        var z = new float[cols];
        for (int r = 0; r < rows; r++)
        {
            int o = r * cols;
            int mo = mv is null ? 0 : r / rowsPerMask * cols;
            float max = float.NegativeInfinity;
            for (int j = 0; j < cols; j++)
            {
                z[j] = scale * xv[o + j] + (bv is null ? 0f : bv[o + j]);
                if (mv is null || mv[mo + j] != 0) max = MathF.Max(max, z[j]);
            }
            if (float.IsNegativeInfinity(max))
            {
                // every key masked (or no keys): all zeros, never NaN
                for (int j = 0; j < cols; j++) yv[o + j] = 0f;
                continue;
            }
            double sum = 0;
            for (int j = 0; j < cols; j++)
                if (mv is null || mv[mo + j] != 0) sum += Math.Exp(z[j] - max);
            for (int j = 0; j < cols; j++)
                yv[o + j] = mv is null || mv[mo + j] != 0 ? (float)(Math.Exp(z[j] - max) / sum) : 0f;
        }
    }

    /// <inheritdoc/>
    public override void BiasedSoftmaxBackward(Storage y, Storage dy, Storage? dx, Storage? dBias, int rows, int cols, float scale)
    {
        float[] yv = F(y), g = F(dy);                // [rows, cols]
        float[]? dxv = dx is null ? null : F(dx);    // [rows, cols]
        float[]? dbv = dBias is null ? null : F(dBias); // [rows, cols]
        for (int r = 0; r < rows; r++)
        {
            int o = r * cols;
            double dot = 0;
            for (int j = 0; j < cols; j++) dot += (double)g[o + j] * yv[o + j];
            for (int j = 0; j < cols; j++)
            {
                float gj = (float)(yv[o + j] * (g[o + j] - dot));
                if (dxv is not null) dxv[o + j] = scale * gj;
                if (dbv is not null) dbv[o + j] = gj;
            }
        }
    }
}
