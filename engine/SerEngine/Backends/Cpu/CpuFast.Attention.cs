using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace SerEngine.Backends.Cpu;

// Fused attention for short sequences (Backend.Attention.cs gives the maths): one loop over the
// batch·head items shared among threads, each item's products, softmax and dropout done in one
// go on rows that stay in L1, instead of eight primitives (four batched GEMMs of 15×15×64 for
// FocusCalibrationNet) each cutting the items among threads again and writing [BH, T, T] between them.
// Every product is RowsTimes: Y = A·B with each element's sum over k in order and one fused
// multiply-add per term, whatever the vector width (256-bit vectors along B's rows, scalar FMA on the
// tail), so the results do not depend on the machine; four rows of A at a time keep eight sums in
// flight. K and V are transposed once per item (columns padded to 8 with zeros) so that Q·Kᵀ and
// dO·Vᵀ are such products too. The Tokens variants read q, k, v (and write their gradients) as the heads
// lie in a projection's output [N, T, H, D], rows H·D apart: the same products, no split into heads.
// On AVX-512 RowsTimes takes 32 columns a step in 512-bit vectors (each column's chain unchanged), and
// the transposes move 8×8 blocks with shuffles.
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
        FusedForward(q, k, v, bias, keyMask, dropMask, probs, o, batchHeads, t, d, itemsPerMask, scale, tokens: false);
    }

    /// <inheritdoc/>
    public override void AttentionForwardTokens(Storage q, Storage k, Storage v, Storage? bias, Storage? keyMask, Storage? dropMask,
        Storage probs, Storage o, int batch, int heads, int t, int d, float scale)
    {
        if (AttentionImplementation(t, d) != "fused")
        {
            base.AttentionForwardTokens(q, k, v, bias, keyMask, dropMask, probs, o, batch, heads, t, d, scale);
            return;
        }
        CheckAttentionSizes("AttentionForwardTokens", batch * heads, t, d);
        FusedForward(q, k, v, bias, keyMask, dropMask, probs, o, batch * heads, t, d, heads, scale, tokens: true);
    }

    /// <summary>
    /// Where item <paramref name="item"/>'s q, k or v [T, D] starts and its row stride: [BH, T, D] as it lies, or with
    /// <paramref name="tokens"/> head h of image n inside [N, T, H, D] (rows H·D apart; H = <paramref name="heads"/>).
    /// </summary>
    private static (long Offset, int Stride) AttentionRows(int item, int heads, int t, int d, bool tokens) =>
        tokens ? (((long)(item / heads) * t * heads + item % heads) * d, heads * d) : ((long)item * t * d, d);

    // the fused forward over items; with tokens, q, k and v are [N, T, H, D] (itemsPerMask = H), P and O stay per item
    private unsafe void FusedForward(Storage q, Storage k, Storage v, Storage? bias, Storage? keyMask, Storage? dropMask,
        Storage probs, Storage o, int batchHeads, int t, int d, int itemsPerMask, float scale, bool tokens)
    {
        if (batchHeads == 0 || t == 0) return;
        float[] qv = F(q), kv = F(k), vv = F(v), pv = F(probs), ov = F(o); // [BH, T, D] (or [N, T, H, D]) or [BH, T, T]
        float[]? bv = bias is null ? null : F(bias), dv = dropMask is null ? null : F(dropMask);
        int[]? mv = keyMask is null ? null : I(keyMask);                      // [BH / itemsPerMask, T]
        int perMask = Math.Max(itemsPerMask, 1), tp = (t + 7) & ~7, td = t * d, tt = t * t;
        ForChunks(batchHeads, 4L * batchHeads * tt * d, (s, e) =>
        {
            var scratch = ArrayPool<float>.Shared.Rent(d * tp + t * tp + tt);
            fixed (float* pq = qv, pk = kv, pvv = vv, pp = pv, po = ov, pb = bv, pd = dv, ps = scratch)
            fixed (int* pm = mv)
            {
                float* kt = ps, sm = ps + d * tp, am = sm + t * tp; // Kᵀ [D, tp], S [T, tp], A [T, T]
                for (int item = s; item < e; item++)
                {
                    float* pi = pp + (long)item * tt;
                    var (off, rs) = AttentionRows(item, perMask, t, d, tokens);
                    TransposePadded(pk + off, t, d, rs, kt, tp);
                    RowsTimes(pq + off, rs, t, d, kt, tp, tp, sm, tp); // S = Q · Kᵀ
                    for (int i = 0; i < t; i++)
                    {
                        var yr = new Span<float>(pi + i * t, t);
                        float max = BiasedRow(new ReadOnlySpan<float>(sm + i * tp, t),
                            pb is null ? default : new ReadOnlySpan<float>(pb + (long)item * tt + i * t, t),
                            pm is null ? default : new ReadOnlySpan<int>(pm + (long)(item / perMask) * t, t), scale, yr);
                        if (float.IsNegativeInfinity(max)) yr.Clear(); // every key masked: all zeros
                        else ExpNormalizeRow(yr, max);
                    }
                    float* a = pi;
                    if (pd is not null)
                    {
                        float* di = pd + (long)item * tt;
                        for (int j = 0; j < tt; j++) am[j] = pi[j] * di[j];
                        a = am;
                    }
                    RowsTimes(a, t, t, t, pvv + off, rs, d, po + (long)item * td, d); // O = A · V
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
        FusedBackward(q, k, v, probs, dropMask, dOut, dProbs, dQ, dK, dV, dBias, batchHeads, 1, t, d, scale, tokens: false);
    }

    /// <inheritdoc/>
    public override void AttentionBackwardTokens(Storage q, Storage k, Storage v, Storage probs, Storage? dropMask,
        Storage? dOut, Storage? dProbs, Storage? dQ, Storage? dK, Storage? dV, Storage? dBias,
        int batch, int heads, int t, int d, float scale)
    {
        if (AttentionImplementation(t, d) != "fused")
        {
            base.AttentionBackwardTokens(q, k, v, probs, dropMask, dOut, dProbs, dQ, dK, dV, dBias, batch, heads, t, d, scale);
            return;
        }
        CheckAttentionSizes("AttentionBackwardTokens", batch * heads, t, d);
        FusedBackward(q, k, v, probs, dropMask, dOut, dProbs, dQ, dK, dV, dBias, batch * heads, heads, t, d, scale, tokens: true);
    }

    // the fused backward over items; with tokens, q, k, v and dQ, dK, dV are [N, T, H, D], P, dO, dP and dBias per item
    private unsafe void FusedBackward(Storage q, Storage k, Storage v, Storage probs, Storage? dropMask,
        Storage? dOut, Storage? dProbs, Storage? dQ, Storage? dK, Storage? dV, Storage? dBias,
        int batchHeads, int heads, int t, int d, float scale, bool tokens)
    {
        if (batchHeads == 0 || t == 0) return;
        float[] qv = F(q), kv = F(k), vv = F(v), pv = F(probs);
        float[]? dmv = dropMask is null ? null : F(dropMask), gov = dOut is null ? null : F(dOut), gpv = dProbs is null ? null : F(dProbs);
        float[]? dqv = dQ is null ? null : F(dQ), dkv = dK is null ? null : F(dK), dvv = dV is null ? null : F(dV), dbv = dBias is null ? null : F(dBias);
        bool wantG = dqv is not null || dkv is not null || dbv is not null;
        if (dvv is null && !wantG) return;
        int tp = (t + 7) & ~7, td = t * d, tt = t * t;
        ForChunks(batchHeads, 8L * batchHeads * tt * d, (s, e) =>
        {
            var scratch = ArrayPool<float>.Shared.Rent(d * tp + t * tp + 2 * tt);
            fixed (float* pq = qv, pk = kv, pvv = vv, pp = pv, pdm = dmv, pgo = gov, pgp = gpv)
            fixed (float* pdq = dqv, pdk = dkv, pdv = dvv, pdb = dbv, ps = scratch)
            {
                float* vt = ps, dpm = ps + d * tp, g = dpm + t * tp, gt = g + tt; // Vᵀ [D, tp], dP [T, tp], G [T, T], Gᵀ or Aᵀ [T, T]
                for (int item = s; item < e; item++)
                {
                    long oTd = (long)item * td, oTt = (long)item * tt;
                    var (off, rs) = AttentionRows(item, heads, t, d, tokens); // q, k, v and their gradients
                    float* qi = pq + off, ki = pk + off, pi = pp + oTt;
                    float* doi = pgo is null ? null : pgo + oTd, dmi = pdm is null ? null : pdm + oTt;
                    if (pdv is not null)
                    {
                        if (doi is null) for (int i = 0; i < t; i++) new Span<float>(pdv + off + (long)i * rs, d).Clear();
                        else
                        {
                            for (int i = 0; i < t; i++) // Aᵀ, A = P ∘ dropMask
                                for (int j = 0; j < t; j++) gt[j * t + i] = dmi is null ? pi[i * t + j] : pi[i * t + j] * dmi[i * t + j];
                            RowsTimes(gt, t, t, t, doi, d, d, pdv + off, rs); // dV = Aᵀ · dO
                        }
                    }
                    if (!wantG) continue;
                    float* gi = pdb is null ? g : pdb + oTt; // G straight into dBias when it is wanted
                    if (doi is not null)
                    {
                        TransposePadded(pvv + off, t, d, rs, vt, tp);
                        RowsTimes(doi, d, t, d, vt, tp, tp, dpm, tp); // dP = dO · Vᵀ
                    }
                    for (int i = 0; i < t; i++)
                    {
                        float* dprow = dpm + i * tp;
                        if (doi is null) new Span<float>(dprow, t).Clear();
                        else if (dmi is not null) for (int j = 0; j < t; j++) dprow[j] *= dmi[i * t + j];
                        if (pgp is not null) for (int j = 0; j < t; j++) dprow[j] += pgp[oTt + i * t + j];
                        var yr = new ReadOnlySpan<float>(pi + i * t, t);
                        var dpr = new ReadOnlySpan<float>(dprow, t);
                        BiasedRowBackward(yr, dpr, FixedSum.Dot(dpr, yr), 1f, default, new Span<float>(gi + i * t, t)); // g = P ∘ (dP − Σ dP·P)
                    }
                    if (pdq is not null)
                    {
                        RowsTimes(gi, t, t, t, ki, rs, d, pdq + off, rs); // dQ = scale · G · K
                        for (int i = 0; i < t; i++) Scale(pdq + off + (long)i * rs, d, scale);
                    }
                    if (pdk is not null)
                    {
                        for (int i = 0; i < t; i++)
                            for (int j = 0; j < t; j++) gt[j * t + i] = gi[i * t + j];
                        RowsTimes(gt, t, t, t, qi, rs, d, pdk + off, rs); // dK = scale · Gᵀ · Q
                        for (int i = 0; i < t; i++) Scale(pdk + off + (long)i * rs, d, scale);
                    }
                }
            }
            ArrayPool<float>.Shared.Return(scratch);
        });
    }

    /// <summary>
    /// Y [rows, n] (row stride ldy) = A [rows, k] (row stride lda) · B [k, n] (row stride ldb), each
    /// element Σ over kk &lt; k in order with one fused multiply-add per term (the same float result with
    /// any vector width); four rows at a time share B's loads and keep eight independent sums in flight.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static unsafe void RowsTimes(float* a, int lda, int rows, int k, float* b, int ldb, int n, float* y, int ldy)
    {
        for (int i = 0; i < rows; i += 4)
        {
            // past the last row, repeat it: the repeated rows write the same values to the same place
            float* a0 = a + (long)i * lda, y0 = y + (long)i * ldy;
            int r1 = Math.Min(i + 1, rows - 1), r2 = Math.Min(i + 2, rows - 1), r3 = Math.Min(i + 3, rows - 1);
            Rows4(a0, a + (long)r1 * lda, a + (long)r2 * lda, a + (long)r3 * lda, k, b, ldb, n,
                y0, y + (long)r1 * ldy, y + (long)r2 * ldy, y + (long)r3 * ldy);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void Rows4(float* a0, float* a1, float* a2, float* a3, int k, float* b, int ldb, int n,
        float* y0, float* y1, float* y2, float* y3)
    {
        int j = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            // sixteen columns a vector: each column's chain of fused multiply-adds is the 256-bit loops' own
            for (; j + 32 <= n; j += 32)
            {
                Vector512<float> c00 = Vector512<float>.Zero, c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00;
                float* bp = b + j;
                for (int kk = 0; kk < k; kk++, bp += ldb)
                {
                    var b0 = Vector512.Load(bp);
                    var b1 = Vector512.Load(bp + 16);
                    var v = Vector512.Create(a0[kk]);
                    c00 = Vector512.FusedMultiplyAdd(v, b0, c00);
                    c01 = Vector512.FusedMultiplyAdd(v, b1, c01);
                    v = Vector512.Create(a1[kk]);
                    c10 = Vector512.FusedMultiplyAdd(v, b0, c10);
                    c11 = Vector512.FusedMultiplyAdd(v, b1, c11);
                    v = Vector512.Create(a2[kk]);
                    c20 = Vector512.FusedMultiplyAdd(v, b0, c20);
                    c21 = Vector512.FusedMultiplyAdd(v, b1, c21);
                    v = Vector512.Create(a3[kk]);
                    c30 = Vector512.FusedMultiplyAdd(v, b0, c30);
                    c31 = Vector512.FusedMultiplyAdd(v, b1, c31);
                }
                c00.Store(y0 + j); c01.Store(y0 + j + 16);
                c10.Store(y1 + j); c11.Store(y1 + j + 16);
                c20.Store(y2 + j); c21.Store(y2 + j + 16);
                c30.Store(y3 + j); c31.Store(y3 + j + 16);
            }
        }
        if (Vector256.IsHardwareAccelerated)
        {
            for (; j + 16 <= n; j += 16)
            {
                Vector256<float> c00 = Vector256<float>.Zero, c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00;
                float* bp = b + j;
                for (int kk = 0; kk < k; kk++, bp += ldb)
                {
                    var b0 = Vector256.Load(bp);
                    var b1 = Vector256.Load(bp + 8);
                    var v = Vector256.Create(a0[kk]);
                    c00 = Vector256.FusedMultiplyAdd(v, b0, c00);
                    c01 = Vector256.FusedMultiplyAdd(v, b1, c01);
                    v = Vector256.Create(a1[kk]);
                    c10 = Vector256.FusedMultiplyAdd(v, b0, c10);
                    c11 = Vector256.FusedMultiplyAdd(v, b1, c11);
                    v = Vector256.Create(a2[kk]);
                    c20 = Vector256.FusedMultiplyAdd(v, b0, c20);
                    c21 = Vector256.FusedMultiplyAdd(v, b1, c21);
                    v = Vector256.Create(a3[kk]);
                    c30 = Vector256.FusedMultiplyAdd(v, b0, c30);
                    c31 = Vector256.FusedMultiplyAdd(v, b1, c31);
                }
                c00.Store(y0 + j); c01.Store(y0 + j + 8);
                c10.Store(y1 + j); c11.Store(y1 + j + 8);
                c20.Store(y2 + j); c21.Store(y2 + j + 8);
                c30.Store(y3 + j); c31.Store(y3 + j + 8);
            }
            for (; j + 8 <= n; j += 8)
            {
                Vector256<float> c0 = Vector256<float>.Zero, c1 = c0, c2 = c0, c3 = c0;
                float* bp = b + j;
                for (int kk = 0; kk < k; kk++, bp += ldb)
                {
                    var b0 = Vector256.Load(bp);
                    c0 = Vector256.FusedMultiplyAdd(Vector256.Create(a0[kk]), b0, c0);
                    c1 = Vector256.FusedMultiplyAdd(Vector256.Create(a1[kk]), b0, c1);
                    c2 = Vector256.FusedMultiplyAdd(Vector256.Create(a2[kk]), b0, c2);
                    c3 = Vector256.FusedMultiplyAdd(Vector256.Create(a3[kk]), b0, c3);
                }
                c0.Store(y0 + j);
                c1.Store(y1 + j);
                c2.Store(y2 + j);
                c3.Store(y3 + j);
            }
        }
        for (; j < n; j++)
        {
            float s0 = 0f, s1 = 0f, s2 = 0f, s3 = 0f;
            for (int kk = 0; kk < k; kk++)
            {
                float bv = b[(long)kk * ldb + j];
                s0 = MathF.FusedMultiplyAdd(a0[kk], bv, s0);
                s1 = MathF.FusedMultiplyAdd(a1[kk], bv, s1);
                s2 = MathF.FusedMultiplyAdd(a2[kk], bv, s2);
                s3 = MathF.FusedMultiplyAdd(a3[kk], bv, s3);
            }
            y0[j] = s0;
            y1[j] = s1;
            y2[j] = s2;
            y3[j] = s3;
        }
    }

    /// <summary>dst [cols, ldDst] = src [rows, cols]ᵀ (src rows <paramref name="ldSrc"/> apart), the columns rows..ldDst of each dst row zero.</summary>
    internal static unsafe void TransposePadded(float* src, int rows, int cols, int ldSrc, float* dst, int ldDst)
    {
        int c0 = 0;
        if (Avx.IsSupported && (ldDst & 7) == 0 && ldDst >= rows)
        {
            // 8×8 blocks moved with shuffles; rows from `rows` to ldDst read as zeros (the padding)
            for (; c0 + 8 <= cols; c0 += 8)
                for (int r0 = 0; r0 < ldDst; r0 += 8)
                    Transpose8x8(src + (long)r0 * ldSrc + c0, ldSrc, Math.Min(8, rows - r0), dst + (long)c0 * ldDst + r0, ldDst);
        }
        for (int c = c0; c < cols; c++)
        {
            float* dr = dst + (long)c * ldDst;
            float* sc = src + c;
            int r = 0;
            for (; r < rows; r++) dr[r] = sc[(long)r * ldSrc];
            for (; r < ldDst; r++) dr[r] = 0f;
        }
    }

    /// <summary>dst[j·ldDst + i] = src[i·ldSrc + j] for i, j &lt; 8, with src rows from <paramref name="valid"/> on read as zeros.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void Transpose8x8(float* src, int ldSrc, int valid, float* dst, int ldDst)
    {
        Vector256<float> Row(int i) => i < valid ? Avx.LoadVector256(src + (long)i * ldSrc) : Vector256<float>.Zero;
        Vector256<float> r0 = Row(0), r1 = Row(1), r2 = Row(2), r3 = Row(3), r4 = Row(4), r5 = Row(5), r6 = Row(6), r7 = Row(7);
        var t0 = Avx.UnpackLow(r0, r1);
        var t1 = Avx.UnpackHigh(r0, r1);
        var t2 = Avx.UnpackLow(r2, r3);
        var t3 = Avx.UnpackHigh(r2, r3);
        var t4 = Avx.UnpackLow(r4, r5);
        var t5 = Avx.UnpackHigh(r4, r5);
        var t6 = Avx.UnpackLow(r6, r7);
        var t7 = Avx.UnpackHigh(r6, r7);
        var u0 = Avx.Shuffle(t0, t2, 0x44);
        var u1 = Avx.Shuffle(t0, t2, 0xEE);
        var u2 = Avx.Shuffle(t1, t3, 0x44);
        var u3 = Avx.Shuffle(t1, t3, 0xEE);
        var u4 = Avx.Shuffle(t4, t6, 0x44);
        var u5 = Avx.Shuffle(t4, t6, 0xEE);
        var u6 = Avx.Shuffle(t5, t7, 0x44);
        var u7 = Avx.Shuffle(t5, t7, 0xEE);
        Avx.Store(dst, Avx.Permute2x128(u0, u4, 0x20));
        Avx.Store(dst + ldDst, Avx.Permute2x128(u1, u5, 0x20));
        Avx.Store(dst + 2L * ldDst, Avx.Permute2x128(u2, u6, 0x20));
        Avx.Store(dst + 3L * ldDst, Avx.Permute2x128(u3, u7, 0x20));
        Avx.Store(dst + 4L * ldDst, Avx.Permute2x128(u0, u4, 0x31));
        Avx.Store(dst + 5L * ldDst, Avx.Permute2x128(u1, u5, 0x31));
        Avx.Store(dst + 6L * ldDst, Avx.Permute2x128(u2, u6, 0x31));
        Avx.Store(dst + 7L * ldDst, Avx.Permute2x128(u3, u7, 0x31));
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
