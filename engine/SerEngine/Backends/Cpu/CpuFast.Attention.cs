using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace SerEngine.Backends.Cpu;

// Fused attention for short sequences (Backend.Attention.cs gives the maths): one loop over the
// batch·head items shared among threads, each item's products, softmax and dropout done in one
// go on rows that stay in L1, instead of eight primitives (four batched GEMMs of 15×15×64 for
// FocusCalibrationNet) each cutting the items among threads again and writing [BH, T, T] between them.
// Every product is RowTimes: y[0..n) = Σ_kk a[kk]·B[kk, 0..n) with the sum over kk in order and one
// fused multiply-add per term, whatever the vector width (256-bit vectors over n, scalar FMA on the
// tail), so the results do not depend on the machine. K and V are transposed once per item (columns
// padded to 8 with zeros) so that the Q·Kᵀ and dO·Vᵀ rows are such products too.
public partial class CpuBackend
{
    /// <summary>Longest sequence the fused attention runs (its per-item scratch is ~(D + 2T)·T floats).</summary>
    internal const int AttentionFusedMaxTokens = 64;

    /// <summary>Largest head size the fused attention runs.</summary>
    internal const int AttentionFusedMaxHeadDim = 256;

    /// <inheritdoc/>
    public override string AttentionImplementation(int t, int d) =>
        t <= AttentionFusedMaxTokens && d <= AttentionFusedMaxHeadDim ? "fused" : "composed";

    /// <inheritdoc/>
    public override unsafe void AttentionForward(Storage q, Storage k, Storage v, Storage? bias, Storage? keyMask, Storage? dropMask,
        Storage probs, Storage o, int batchHeads, int t, int d, int itemsPerMask, float scale)
    {
        if (AttentionImplementation(t, d) != "fused")
        {
            base.AttentionForward(q, k, v, bias, keyMask, dropMask, probs, o, batchHeads, t, d, itemsPerMask, scale);
            return;
        }
        CheckAttentionSizes("AttentionForward", batchHeads, t, d);
        if (batchHeads == 0 || t == 0) return;
        float[] qv = F(q), kv = F(k), vv = F(v), pv = F(probs), ov = F(o); // [BH, T, D] or [BH, T, T]
        float[]? bv = bias is null ? null : F(bias), dv = dropMask is null ? null : F(dropMask);
        int[]? mv = keyMask is null ? null : I(keyMask);                      // [BH / itemsPerMask, T]
        int perMask = Math.Max(itemsPerMask, 1), tp = (t + 7) & ~7, td = t * d, tt = t * t;
        ForChunks(batchHeads, 4L * batchHeads * tt * d, (s, e) =>
        {
            var scratch = ArrayPool<float>.Shared.Rent(d * tp + tp + t);
            fixed (float* pq = qv, pk = kv, pvv = vv, pp = pv, po = ov, pb = bv, pd = dv, ps = scratch)
            fixed (int* pm = mv)
            {
                float* kt = ps, srow = ps + d * tp, arow = srow + tp; // Kᵀ [D, tp], a row of S, a row of A
                for (int item = s; item < e; item++)
                {
                    float* qi = pq + (long)item * td, vi = pvv + (long)item * td, oi = po + (long)item * td;
                    float* pi = pp + (long)item * tt;
                    TransposePadded(pk + (long)item * td, t, d, kt, tp);
                    for (int i = 0; i < t; i++)
                    {
                        float* prow = pi + i * t;
                        RowTimes(qi + i * d, d, kt, tp, tp, srow); // S row = q_i · Kᵀ
                        var yr = new Span<float>(prow, t);
                        float max = BiasedRow(new ReadOnlySpan<float>(srow, t),
                            pb is null ? default : new ReadOnlySpan<float>(pb + (long)item * tt + i * t, t),
                            pm is null ? default : new ReadOnlySpan<int>(pm + (long)(item / perMask) * t, t), scale, yr);
                        if (float.IsNegativeInfinity(max)) yr.Clear(); // every key masked: all zeros
                        else ExpNormalizeRow(yr, max);
                        float* a = prow;
                        if (pd is not null)
                        {
                            float* di = pd + (long)item * tt + i * t;
                            for (int j = 0; j < t; j++) arow[j] = prow[j] * di[j];
                            a = arow;
                        }
                        RowTimes(a, t, vi, d, d, oi + i * d); // O row = A_i · V
                    }
                }
            }
            ArrayPool<float>.Shared.Return(scratch);
        });
    }

    /// <inheritdoc/>
    public override unsafe void AttentionBackward(Storage q, Storage k, Storage v, Storage probs, Storage? dropMask,
        Storage? dOut, Storage? dProbs, Storage? dQ, Storage? dK, Storage? dV, Storage? dBias,
        int batchHeads, int t, int d, float scale)
    {
        if (AttentionImplementation(t, d) != "fused")
        {
            base.AttentionBackward(q, k, v, probs, dropMask, dOut, dProbs, dQ, dK, dV, dBias, batchHeads, t, d, scale);
            return;
        }
        CheckAttentionSizes("AttentionBackward", batchHeads, t, d);
        if (batchHeads == 0 || t == 0) return;
        float[] qv = F(q), kv = F(k), vv = F(v), pv = F(probs);
        float[]? dmv = dropMask is null ? null : F(dropMask), gov = dOut is null ? null : F(dOut), gpv = dProbs is null ? null : F(dProbs);
        float[]? dqv = dQ is null ? null : F(dQ), dkv = dK is null ? null : F(dK), dvv = dV is null ? null : F(dV), dbv = dBias is null ? null : F(dBias);
        bool wantG = dqv is not null || dkv is not null || dbv is not null;
        if (dvv is null && !wantG) return;
        int tp = (t + 7) & ~7, td = t * d, tt = t * t;
        ForChunks(batchHeads, 8L * batchHeads * tt * d, (s, e) =>
        {
            var scratch = ArrayPool<float>.Shared.Rent(d * tp + tp + 2 * tt);
            fixed (float* pq = qv, pk = kv, pvv = vv, pp = pv, pdm = dmv, pgo = gov, pgp = gpv)
            fixed (float* pdq = dqv, pdk = dkv, pdv = dvv, pdb = dbv, ps = scratch)
            {
                float* vt = ps, dprow = ps + d * tp, g = dprow + tp, gt = g + tt; // Vᵀ [D, tp], a row of dP, G [T, T], Gᵀ or Aᵀ [T, T]
                for (int item = s; item < e; item++)
                {
                    long oTd = (long)item * td, oTt = (long)item * tt;
                    float* qi = pq + oTd, ki = pk + oTd, pi = pp + oTt;
                    float* doi = pgo is null ? null : pgo + oTd, dmi = pdm is null ? null : pdm + oTt;
                    if (pdv is not null)
                    {
                        if (doi is null) new Span<float>(pdv + oTd, td).Clear();
                        else
                        {
                            for (int i = 0; i < t; i++) // Aᵀ, A = P ∘ dropMask
                                for (int j = 0; j < t; j++) gt[j * t + i] = dmi is null ? pi[i * t + j] : pi[i * t + j] * dmi[i * t + j];
                            for (int j = 0; j < t; j++) RowTimes(gt + j * t, t, doi, d, d, pdv + oTd + j * d); // dV row = Aᵀ_j · dO
                        }
                    }
                    if (!wantG) continue;
                    float* gi = pdb is null ? g : pdb + oTt; // G straight into dBias when it is wanted
                    if (doi is not null) TransposePadded(pvv + oTd, t, d, vt, tp);
                    for (int i = 0; i < t; i++)
                    {
                        if (doi is not null)
                        {
                            RowTimes(doi + i * d, d, vt, tp, tp, dprow); // dP row = dO_i · Vᵀ
                            if (dmi is not null) for (int j = 0; j < t; j++) dprow[j] *= dmi[i * t + j];
                        }
                        else new Span<float>(dprow, t).Clear();
                        if (pgp is not null) for (int j = 0; j < t; j++) dprow[j] += pgp[oTt + i * t + j];
                        var yr = new ReadOnlySpan<float>(pi + i * t, t);
                        var dpr = new ReadOnlySpan<float>(dprow, t);
                        BiasedRowBackward(yr, dpr, FixedSum.Dot(dpr, yr), 1f, default, new Span<float>(gi + i * t, t)); // g = P ∘ (dP − Σ dP·P)
                    }
                    if (pdq is not null)
                        for (int i = 0; i < t; i++)
                        {
                            float* dst = pdq + oTd + i * d;
                            RowTimes(gi + i * t, t, ki, d, d, dst); // dQ row = scale · G_i · K
                            Scale(dst, d, scale);
                        }
                    if (pdk is not null)
                    {
                        for (int i = 0; i < t; i++)
                            for (int j = 0; j < t; j++) gt[j * t + i] = gi[i * t + j];
                        for (int j = 0; j < t; j++)
                        {
                            float* dst = pdk + oTd + j * d;
                            RowTimes(gt + j * t, t, qi, d, d, dst); // dK row = scale · Gᵀ_j · Q
                            Scale(dst, d, scale);
                        }
                    }
                }
            }
            ArrayPool<float>.Shared.Return(scratch);
        });
    }

    /// <summary>
    /// y[0..n) = Σ over kk &lt; k of a[kk]·b[kk·ldb + 0..n), kk in order, one fused multiply-add per term
    /// (the same float result per element with any vector width).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static unsafe void RowTimes(float* a, int k, float* b, int ldb, int n, float* y)
    {
        int j = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            for (; j + 32 <= n; j += 32)
            {
                Vector256<float> c0 = Vector256<float>.Zero, c1 = c0, c2 = c0, c3 = c0;
                float* bp = b + j;
                for (int kk = 0; kk < k; kk++, bp += ldb)
                {
                    var av = Vector256.Create(a[kk]);
                    c0 = Vector256.FusedMultiplyAdd(av, Vector256.Load(bp), c0);
                    c1 = Vector256.FusedMultiplyAdd(av, Vector256.Load(bp + 8), c1);
                    c2 = Vector256.FusedMultiplyAdd(av, Vector256.Load(bp + 16), c2);
                    c3 = Vector256.FusedMultiplyAdd(av, Vector256.Load(bp + 24), c3);
                }
                c0.Store(y + j);
                c1.Store(y + j + 8);
                c2.Store(y + j + 16);
                c3.Store(y + j + 24);
            }
            for (; j + 16 <= n; j += 16)
            {
                Vector256<float> c0 = Vector256<float>.Zero, c1 = c0;
                float* bp = b + j;
                for (int kk = 0; kk < k; kk++, bp += ldb)
                {
                    var av = Vector256.Create(a[kk]);
                    c0 = Vector256.FusedMultiplyAdd(av, Vector256.Load(bp), c0);
                    c1 = Vector256.FusedMultiplyAdd(av, Vector256.Load(bp + 8), c1);
                }
                c0.Store(y + j);
                c1.Store(y + j + 8);
            }
            for (; j + 8 <= n; j += 8)
            {
                var c0 = Vector256<float>.Zero;
                float* bp = b + j;
                for (int kk = 0; kk < k; kk++, bp += ldb) c0 = Vector256.FusedMultiplyAdd(Vector256.Create(a[kk]), Vector256.Load(bp), c0);
                c0.Store(y + j);
            }
        }
        for (; j < n; j++)
        {
            float acc = 0f;
            for (int kk = 0; kk < k; kk++) acc = MathF.FusedMultiplyAdd(a[kk], b[(long)kk * ldb + j], acc);
            y[j] = acc;
        }
    }

    /// <summary>dst [cols, ldDst] = src [rows, cols]ᵀ, the columns rows..ldDst of each dst row zero.</summary>
    private static unsafe void TransposePadded(float* src, int rows, int cols, float* dst, int ldDst)
    {
        for (int c = 0; c < cols; c++)
        {
            float* dr = dst + (long)c * ldDst;
            float* sc = src + c;
            int r = 0;
            for (; r < rows; r++) dr[r] = sc[(long)r * cols];
            for (; r < ldDst; r++) dr[r] = 0f;
        }
    }

    /// <summary>x[0..n) *= s.</summary>
    private static unsafe void Scale(float* x, int n, float s)
    {
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var vs = Vector256.Create(s);
            for (; i + 8 <= n; i += 8) (Vector256.Load(x + i) * vs).Store(x + i);
        }
        for (; i < n; i++) x[i] *= s;
    }
}
