using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace SerEngine.Backends.Cpu;

// Fast gated merge of attention heads (Backend.GatedMergeHeads.cs): one pass each way, the threads taking (image, head)
// rows. Forward: each row of o times its gate, stored where the head lies in the tokens. Backward: dO is dy's rows
// times the gate; dg sums the row's products dy·o (laid out as the composed graph's [T, D] product row) with
// FixedSum.Sum through a double, as SumTo's kept-row loop does, or in order in double for rows under 32 values, as its
// short-row loops do. So both give the composed default's bits.
// Legend: o, dO [N, H, T, D]; g, dg [N, H]; y, dy [N, T, H·D].
public partial class CpuBackend
{
    /// <inheritdoc/>
    public override unsafe void GatedMergeHeadsForward(Storage o, Storage g, Storage y, int n, int h, int t, int d)
    {
        float[] ov = F(o), gv = F(g), yv = F(y);
        ForChunks(n * h, (long)n * h * t * d, (s, e) =>
        {
            fixed (float* po = ov, py = yv)
                for (int r = s; r < e; r++) // r = i·H + k: image i, head k
                {
                    int i = r / h, k = r % h;
                    for (int j = 0; j < t; j++) RowTimes(po + (long)(r * t + j) * d, gv[r], py + ((long)(i * t + j) * h + k) * d, d);
                }
        });
    }

    /// <inheritdoc/>
    public override unsafe void GatedMergeHeadsBackward(Storage o, Storage g, Storage dy, Storage? dO, Storage? dg, int n, int h, int t, int d)
    {
        if (dO is null && dg is null) return;
        if (t * d <= 1)
        {
            base.GatedMergeHeadsBackward(o, g, dy, dO, dg, n, h, t, d); // SumTo of one value copies: -0 stays -0
            return;
        }
        float[] ov = F(o), gv = F(g), gy = F(dy);
        float[]? dov = dO is null ? null : F(dO), dgv = dg is null ? null : F(dg);
        int row = t * d;
        ForChunks(n * h, (long)n * h * row, (s, e) =>
        {
            var prod = dgv is null ? null : new float[row]; // [T, D]: one (image, head) row of dy·o
            fixed (float* po = ov, pdy = gy, pdo = dov, pp = prod)
                for (int r = s; r < e; r++)
                {
                    int i = r / h, k = r % h;
                    for (int j = 0; j < t; j++)
                    {
                        float* dyRow = pdy + ((long)(i * t + j) * h + k) * d;
                        if (pdo != null) RowTimes(dyRow, gv[r], pdo + (long)(r * t + j) * d, d);
                        if (pp != null) RowProduct(dyRow, po + (long)(r * t + j) * d, pp + j * d, d);
                    }
                    if (prod is null) continue;
                    double acc = 0;
                    if (row < 32)
                        for (int c = 0; c < row; c++) acc += prod[c];
                    else acc += FixedSum.Sum(prod);
                    dgv![r] = (float)acc;
                }
        });
    }

    /// <summary>y[c] = x[c]·s for c &lt; len (one float multiply each).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void RowTimes(float* x, float s, float* y, int len)
    {
        int c = 0;
        var vs = Vector256.Create(s);
        for (; c + 8 <= len; c += 8) (Vector256.Load(x + c) * vs).Store(y + c);
        for (; c < len; c++) y[c] = x[c] * s;
    }

    /// <summary>y[c] = a[c]·b[c] for c &lt; len (one float multiply each).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void RowProduct(float* a, float* b, float* y, int len)
    {
        int c = 0;
        for (; c + 8 <= len; c += 8) (Vector256.Load(a + c) * Vector256.Load(b + c)).Store(y + c);
        for (; c < len; c++) y[c] = a[c] * b[c];
    }
}
