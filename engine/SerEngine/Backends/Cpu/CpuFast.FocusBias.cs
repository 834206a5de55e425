using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace SerEngine.Backends.Cpu;

// Fast focus bias (Backend.FocusBias.cs), one thread (a step's 1920 rows of 15 keys cost less than
// waking the workers). Forward: the reference's float expression −2 (j − p)² / w² eight keys at a
// time; rows are written in order, so a vector that runs past a row's end writes keys of the next
// row that are written again right after. Backward: four rows at a time in the lanes of a double
// vector, each lane the reference's two sums over the keys in key order (a multiply, then an add),
// so the four add chains overlap instead of one row's chain waiting on the adder's latency. Both give
// the reference's results bit for bit (CpuReference.FocusBias.cs).
// Legend: centres, widths, dCentres, dWidths [rows]; bias, dBias [rows, t].
public partial class CpuBackend
{
    /// <inheritdoc/>
    public override void FocusBiasForward(Storage centres, Storage widths, Storage bias, int rows, int t)
    {
        float[] pv = F(centres), wv = F(widths), bv = F(bias); // [rows], [rows], [rows, t]
        FocusBiasRows(pv, wv, bv, rows, t);
    }

    /// <summary>bias[r, j] = (j − p_r)² / w_r² · −2 for all rows, eight keys a vector.</summary>
    internal static void FocusBiasRows(ReadOnlySpan<float> centres, ReadOnlySpan<float> widths, Span<float> bias, int rows, int t)
    {
        var lane = Vector256.Create(0f, 1f, 2f, 3f, 4f, 5f, 6f, 7f);
        var minus2 = Vector256.Create(-2f);
        ref float pb = ref MemoryMarshal.GetReference(bias);
        long end = (long)rows * t;
        for (int r = 0; r < rows; r++)
        {
            float p = centres[r], w = widths[r];
            var vp = Vector256.Create(p);
            var ww = Vector256.Create(w * w);
            long o = (long)r * t;
            int j = 0;
            for (; j < t && o + j + 8 <= end; j += 8) // may run past the row into the next one, rewritten next
            {
                var d = (lane + Vector256.Create((float)j)) - vp;
                (d * d / ww * minus2).StoreUnsafe(ref pb, (nuint)(o + j));
            }
            if (j < t) CpuReferenceBackend.FocusBiasRow(p, w, bias.Slice((int)o + j, t - j), j);
        }
    }

    /// <inheritdoc/>
    public override void FocusBiasBackward(Storage centres, Storage widths, Storage dBias, Storage? dCentres, Storage? dWidths, int rows, int t)
    {
        float[] pv = F(centres), wv = F(widths), gv = F(dBias);
        float[]? dp = dCentres is null ? null : F(dCentres), dw = dWidths is null ? null : F(dWidths);
        int r = 0;
        Span<double> sp = stackalloc double[4], sw = stackalloc double[4];
        for (; r + 4 <= rows; r += 4)
        {
            var p = Vector256.Create((double)pv[r], pv[r + 1], pv[r + 2], pv[r + 3]);
            Vector256<double> ap = Vector256<double>.Zero, aw = ap;
            int o0 = r * t, o1 = o0 + t, o2 = o1 + t, o3 = o2 + t;
            for (int j = 0; j < t; j++)
            {
                var d = Vector256.Create((double)j) - p;
                var g = Vector256.Create((double)gv[o0 + j], gv[o1 + j], gv[o2 + j], gv[o3 + j]);
                var gd = g * d;
                ap += gd;
                aw += gd * d;
            }
            ap.CopyTo(sp);
            aw.CopyTo(sw);
            for (int l = 0; l < 4; l++)
            {
                double w = wv[r + l];
                if (dp is not null) dp[r + l] = (float)(4 * sp[l] / (w * w));
                if (dw is not null) dw[r + l] = (float)(4 * sw[l] / (w * w * w));
            }
        }
        FocusBiasBackwardRows(pv, wv, gv, dp, dw, r, rows, t);
    }
}
