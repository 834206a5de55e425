namespace SerEngine.Backends.Cpu;

// The focus bias (Backend.FocusBias.cs), plain loops: the forward in the kernels' float order, the
// backward's sums over the keys in double.
public partial class CpuReferenceBackend
{
    /// <inheritdoc/>
    public override void FocusBiasForward(Storage centres, Storage widths, Storage bias, int rows, int t)
    {
        float[] pv = F(centres), wv = F(widths), bv = F(bias); // [rows], [rows], [rows, t]
        for (int r = 0; r < rows; r++) FocusBiasRow(pv[r], wv[r], bv.AsSpan(r * t, t));
    }

    /// <summary>One query's focus bias over the keys j = first .. first + row.Length − 1 (row[0] is key first), in the kernels' float order: −2 (j − p)² / w².</summary>
    internal static void FocusBiasRow(float p, float w, Span<float> row, int first = 0)
    {
        for (int j = 0; j < row.Length; j++)
        {
            float d = j + first - p;
            row[j] = d * d / (w * w) * -2f;
        }
    }

    /// <inheritdoc/>
    public override void FocusBiasBackward(Storage centres, Storage widths, Storage dBias, Storage? dCentres, Storage? dWidths, int rows, int t)
    {
        float[] pv = F(centres), wv = F(widths), gv = F(dBias); // [rows], [rows], [rows, t]
        float[]? dp = dCentres is null ? null : F(dCentres), dw = dWidths is null ? null : F(dWidths); // [rows]
        FocusBiasBackwardRows(pv, wv, gv, dp, dw, 0, rows, t);
    }

    /// <summary>dCentres and dWidths of rows r0 .. r1 − 1: Σ over the keys in double, in key order.</summary>
    internal static void FocusBiasBackwardRows(float[] pv, float[] wv, float[] gv, float[]? dp, float[]? dw, int r0, int r1, int t)
    {
        for (int r = r0; r < r1; r++)
        {
            double p = pv[r], w = wv[r], sp = 0, sw = 0;
            for (int j = 0; j < t; j++)
            {
                double d = j - p, g = gv[r * t + j];
                sp += g * d;
                sw += g * d * d;
            }
            if (dp is not null) dp[r] = (float)(4 * sp / (w * w));
            if (dw is not null) dw[r] = (float)(4 * sw / (w * w * w));
        }
    }
}
