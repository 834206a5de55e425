using System.Buffers;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

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
    public override void AttentionForwardTransposed(Storage qkvT, Storage? centres, Storage? widths, Storage probs, Storage oT, Storage? means,
        int batch, int heads, int t, int d, float scale)
    {
        if (AttentionTransposedImplementation(t, d) != "fused")
        {
            base.AttentionForwardTransposed(qkvT, centres, widths, probs, oT, means, batch, heads, t, d, scale);
            return;
        }
        CheckAttentionSizes("AttentionForwardTransposed", batch * heads, t, d);
        if ((centres is null) != (widths is null)) throw new ArgumentException("AttentionForwardTransposed: centres and widths go together");
        AttentionTransposedFused(qkvT, null, null, centres, widths, probs, oT, means, batch, heads, t, d, scale);
    }

    /// <inheritdoc/>
    public override void AttentionForwardTransposedFocus(Storage qkvT, Storage focusT, Storage u, Storage centres, Storage widths, Storage probs,
        Storage oT, Storage? means, int batch, int heads, int t, int d, float scale)
    {
        if (AttentionTransposedImplementation(t, d) != "fused" || !Fma.IsSupported)
        {
            base.AttentionForwardTransposedFocus(qkvT, focusT, u, centres, widths, probs, oT, means, batch, heads, t, d, scale);
            return;
        }
        CheckAttentionSizes("AttentionForwardTransposedFocus", batch * heads, t, d);
        AttentionTransposedFused(qkvT, focusT, u, centres, widths, probs, oT, means, batch, heads, t, d, scale);
    }

    /// <summary>
    /// The fused loop of both primitives; with <paramref name="focusT"/> and <paramref name="u"/> each item first computes its
    /// centre and width rows (FocusRows) and writes them to <paramref name="centres"/> and <paramref name="widths"/>.
    /// </summary>
    private unsafe void AttentionTransposedFused(Storage qkvT, Storage? focusT, Storage? u, Storage? centres, Storage? widths, Storage probs,
        Storage oT, Storage? means, int batch, int heads, int t, int d, float scale)
    {
        int bh = batch * heads, tt = t * t;
        if (bh == 0 || t == 0) return;
        float[] xv = F(qkvT), pv = F(probs), ov = F(oT);                        // [N, 3·H·D, T], [N, H, T, T], [N, H, D, T]
        float[]? cv = centres is null ? null : F(centres), wv = widths is null ? null : F(widths), mv = means is null ? null : F(means);
        float[]? fv = focusT is null ? null : F(focusT), uv = u is null ? null : F(u); // [N, H·D, T], [2H, H·D]
        // one chunk per thread: the items are tiny, a second round through the pool costs more than it balances
        ForChunks(bh, 4L * bh * tt * d, new TransposedItems(xv, pv, ov, cv, wv, mv, fv, uv, heads, t, d, scale), chunksPerThread: 1);
    }

    /// <summary>The fused loop's items [s, e) (batch·head items) over the call's buffers.</summary>
    private readonly struct TransposedItems(float[] xv, float[] pv, float[] ov, float[]? cv, float[]? wv, float[]? mv, float[]? fv, float[]? uv,
        int heads, int t, int d, float scale) : IChunkBody
    {
        public unsafe void Run(int s, int e)
        {
            int hd = heads * d, tp = (t + 7) & ~7, tt = t * t;
            float inv = 1f / t;
            var scratch = ArrayPool<float>.Shared.Rent(t * d + d * tp + t * tp + t * tp + d * tp + tp);
            fixed (float* px = xv, pp = pv, po = ov, pc = cv, pw = wv, pm = mv, ps = scratch, pf = fv, pu = uv)
            {
                // Q [T, D], Kᵀ [D, tp], S [T, tp], Aᵀ [T, tp], Oᵀ [D, tp], one bias row [tp]
                float* qm = ps, kt = qm + t * d, sm = kt + d * tp, at = sm + t * tp, om = at + t * tp, br = om + d * tp;
                for (int item = s; item < e; item++)
                {
                    int b = item / heads, h = item % heads;
                    float* qT = px + (long)b * 3 * hd * t + (long)h * d * t, kT = qT + (long)hd * t, vT = kT + (long)hd * t;
                    if (pf is not null)
                    {
                        // this head's centres and widths from its D rows of cᵀ (sm is free until S is computed below)
                        float* cT = pf + (long)b * hd * t + (long)h * d * t;
                        FocusRows(cT, pu + (long)h * hd + h * d, pu + (long)(heads + h) * hd + h * d, d, t, sm, pc + (long)item * t, pw + (long)item * t);
                    }
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
        }
    }

    /// <summary>
    /// centres[i] = sigmoid(Σ_c up[c]·cT[c, i]) · t and widths[i] likewise with uz, for i &lt; t (cT [D, T]): each sum a chain
    /// of fused multiply-adds over c in order from zero (the Gemm over U's row gives the same: its other heads' zeros add
    /// nothing), the sigmoid Sigmoid8 on every element (the Unary kernel's vector body), then the Scale by t.
    /// <paramref name="work"/> holds 2·RoundUp(t, 8) floats.
    /// </summary>
    private static unsafe void FocusRows(float* cT, float* up, float* uz, int d, int t, float* work, float* centres, float* widths)
    {
        int tp = (t + 7) & ~7;
        float* lp = work, lz = work + tp;
        for (int i = 0; i < tp; i++)
        {
            lp[i] = 0f;
            lz[i] = 0f;
        }
        for (int c = 0; c < d; c++)
        {
            float* row = cT + (long)c * t;
            float a = up[c], z = uz[c];
            for (int i = 0; i < t; i++)
            {
                lp[i] = MathF.FusedMultiplyAdd(a, row[i], lp[i]);
                lz[i] = MathF.FusedMultiplyAdd(z, row[i], lz[i]);
            }
        }
        var tv = Vector256.Create((float)t);
        for (int i = 0; i < tp; i += 8)
        {
            (Sigmoid8(Vector256.Load(lp + i)) * tv).Store(lp + i);
            (Sigmoid8(Vector256.Load(lz + i)) * tv).Store(lz + i);
        }
        for (int i = 0; i < t; i++)
        {
            centres[i] = lp[i];
            widths[i] = lz[i];
        }
    }
}
