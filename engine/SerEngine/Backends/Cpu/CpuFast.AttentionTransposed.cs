using System.Buffers;

namespace SerEngine.Backends.Cpu;

// The feature-major eval attention core (Backend.AttentionTransposed.cs) as one parallel loop over the
// batch·head items, each item's products, focus bias, softmax, A·V and token mean done on rows that stay
// in L1: at FocusCalibrationNet's sizes the composed path was seven primitives run on the calling thread
// alone (a batched GEMM each way through the packing driver, bias, softmax, sum, scale, copies).
// The products are RowsTimes (CpuFast.Attention.cs): fixed 256-bit vectors and scalar FMAs, and the
// softmax row is the BiasedSoftmax kernel's, so the bits do not depend on the vector width. Kᵀ and Aᵀ are
// copied with their rows padded to 8 so both products run whole vectors; Oᵀ is written to scratch with
// padded rows and copied out beside the mean, so no item writes past its own [D, T].
public partial class CpuBackend
{
    /// <inheritdoc/>
    public override string AttentionTransposedImplementation(int t, int d) => AttentionImplementation(t, d);

    /// <inheritdoc/>
    public override unsafe void AttentionForwardTransposed(Storage qkvT, Storage? centres, Storage? widths, Storage probs, Storage oT, Storage? means,
        int batch, int heads, int t, int d, float scale)
    {
        if (AttentionTransposedImplementation(t, d) != "fused")
        {
            base.AttentionForwardTransposed(qkvT, centres, widths, probs, oT, means, batch, heads, t, d, scale);
            return;
        }
        CheckAttentionSizes("AttentionForwardTransposed", batch * heads, t, d);
        if ((centres is null) != (widths is null)) throw new ArgumentException("AttentionForwardTransposed: centres and widths go together");
        int bh = batch * heads, hd = heads * d, tp = (t + 7) & ~7, tt = t * t;
        if (bh == 0 || t == 0) return;
        float[] xv = F(qkvT), pv = F(probs), ov = F(oT);                        // [N, 3·H·D, T], [N, H, T, T], [N, H, D, T]
        float[]? cv = centres is null ? null : F(centres), wv = widths is null ? null : F(widths), mv = means is null ? null : F(means);
        float inv = 1f / t;
        // one chunk per thread: the items are tiny, a second round through the pool costs more than it balances
        ForChunks(bh, 4L * bh * tt * d, (s, e) =>
        {
            var scratch = ArrayPool<float>.Shared.Rent(t * d + d * tp + t * tp + t * tp + d * tp + tp);
            fixed (float* px = xv, pp = pv, po = ov, pc = cv, pw = wv, pm = mv, ps = scratch)
            {
                // Q [T, D], Kᵀ [D, tp], S [T, tp], Aᵀ [T, tp], Oᵀ [D, tp], one bias row [tp]
                float* qm = ps, kt = qm + t * d, sm = kt + d * tp, at = sm + t * tp, om = at + t * tp, br = om + d * tp;
                for (int item = s; item < e; item++)
                {
                    int b = item / heads, h = item % heads;
                    float* qT = px + (long)b * 3 * hd * t + (long)h * d * t, kT = qT + (long)hd * t, vT = kT + (long)hd * t;
                    TransposePadded(qT, d, t, t, qm, d);                         // Q = (Qᵀ)ᵀ
                    for (int c = 0; c < d; c++)
                    {
                        int j = 0;
                        for (; j < t; j++) kt[c * tp + j] = kT[(long)c * t + j];
                        for (; j < tp; j++) kt[c * tp + j] = 0f;
                    }
                    RowsTimes(qm, d, t, d, kt, tp, tp, sm, tp);                  // S = Q · Kᵀ
                    float* pi = pp + (long)item * tt;
                    for (int i = 0; i < t; i++)
                    {
                        if (pc is not null) FocusBiasRow(pc[(long)item * t + i], pw[(long)item * t + i], new Span<float>(br, t));
                        var yr = new Span<float>(pi + i * t, t);
                        float max = BiasedRow(new ReadOnlySpan<float>(sm + i * tp, t), pc is null ? default : new ReadOnlySpan<float>(br, t),
                            default, scale, yr);
                        ExpNormalizeRow(yr, max);
                    }
                    TransposePadded(pi, t, t, t, at, tp);                         // Aᵀ [T, tp]
                    RowsTimes(vT, t, d, t, at, tp, tp, om, tp);                   // Oᵀ = Vᵀ · Aᵀ
                    float* oi = po + (long)item * d * t;
                    for (int c = 0; c < d; c++)
                    {
                        float sum = 0f;
                        for (int i = 0; i < t; i++)
                        {
                            float o = om[c * tp + i];
                            oi[(long)c * t + i] = o;
                            sum += o;
                        }
                        if (pm is not null) pm[(long)item * d + c] = sum * inv;
                    }
                }
            }
            ArrayPool<float>.Shared.Return(scratch);
        }, chunksPerThread: 1);
    }
}
