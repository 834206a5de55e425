// attention.cl — fused scaled dot-product attention for short sequences, forward and backward.
//
// Dimension legend: BH batch·heads (one work-group each), T tokens (queries = keys), D head size.
//   q, k, v, o, dOut, dq, dk, dv   [BH, T, D]
//   bias, probs, dropMask, dProbs, dBias   [BH, T, T]
//   keyMask   Int32 [BH / itemsPerMask, T] (non-zero = keep the key)
// Forward:  S = scale·Q Kᵀ + bias over the kept keys, P = softmax of each row of S (masked keys
//           exactly 0, a row with no kept key all 0, never NaN), A = P ∘ dropMask (or P), O = A V.
//           P is written (the backward reads it); S never is.
// Backward: dP = (dO Vᵀ) ∘ dropMask + dProbs, g = P ∘ (dP − Σ_j dP·P), dBias = g,
//           dQ = scale·g K, dK = scale·gᵀ Q, dV = Aᵀ dO (each output optional).
//
// Variant (one): `local_tiles`. Work-item i of the group owns query row i, so the group has at least
// T work-items (T ≤ ATT_TMAX). Keys stream through local memory in chunks of ATT_KC rows of K and V
// (two [ATT_KC, ATT_DMAX] tiles, 16 KiB at the defaults, whatever T), so a CUDA block stays under
// its 48 KiB of static shared memory. A row's q and its accumulators are private arrays of ATT_DMAX
// indexed only by fully unrolled loops (UNROLL, bound-checked against D), so they stay in
// registers: D ≤ ATT_DMAX.
//   attention_fwd   two sweeps over the key chunks: the row's max and sum (online), then P and A V
//   attention_bwd   sweep 1 (work-item = query i): δ_i = Σ_j dP_ij P_ij; sweep 2: g_ij, dBias, dQ_i;
//                   sweep 3 (work-item = key j, chunks of dO and Q over the queries): dV_j and dK_j,
//                   recomputing dP_ij from dO_i and V_j instead of keeping g [T, T] anywhere
// Work-items past T load tiles and meet every barrier but compute and store nothing.
// CPU twin: the default Backend.AttentionForward / AttentionBackward (Gemm + BiasedSoftmax + Gemm)
// on cpu-reference (Backends/Backend.Attention.cs); sums here are in float, in another order.

#ifndef ATT_TMAX
#define ATT_TMAX 128
#endif
#ifndef ATT_DMAX
#define ATT_DMAX 64
#endif
#ifndef ATT_KC
#define ATT_KC 32
#endif

#include "group.h" // FOR_GROUP_STRIDE

// Rows [r0, r0 + ATT_KC) of src [T, D] (rows past T skipped) into tile [ATT_KC, ATT_DMAX].
INLINE void att_load_rows(LOCAL_PTR float* tile, GLOBAL const float* src, const int r0, const int t, const int d)
{
    const int rows = min(ATT_KC, t - r0);
    FOR_GROUP_STRIDE(e, rows * d) tile[(e / d) * ATT_DMAX + e % d] = src[(r0 + e / d) * d + e % d];
}

// x · tile row r over the first d of ATT_DMAX entries.
INLINE float att_dot(const float* x, LOCAL_PTR const float* tile, const int r, const int d)
{
    float s = 0.0f;
    UNROLL
    for (int c = 0; c < ATT_DMAX; c++)
        if (c < d) s += x[c] * tile[r * ATT_DMAX + c];
    return s;
}

// dP_ij = (dO_i · V_j)·dropMask_ij + dProbs_ij, either term optional; s indexes ij in [BH, T, T],
// vtile holds V_j at row jj. The backward's first two sweeps form it the same way.
INLINE float att_dprob(const float* dor, LOCAL_PTR const float* vtile, const int jj, const int d, const int s,
                       const int hasDOut, GLOBAL const float* dropMask, const int hasDrop,
                       GLOBAL const float* dProbs, const int hasDProbs)
{
    float dp = hasDOut ? att_dot(dor, vtile, jj, d) * (hasDrop ? dropMask[s] : 1.0f) : 0.0f;
    if (hasDProbs) dp += dProbs[s];
    return dp;
}

KERNEL void attention_fwd(GLOBAL const float* q,         // [BH, T, D]
                          GLOBAL const float* k,         // [BH, T, D]
                          GLOBAL const float* v,         // [BH, T, D]
                          GLOBAL const float* bias,      // [BH, T, T] when hasBias
                          const int hasBias,
                          GLOBAL const int* keyMask,     // [BH / itemsPerMask, T] when hasMask
                          const int hasMask,
                          GLOBAL const float* dropMask,  // [BH, T, T] when hasDrop
                          const int hasDrop,
                          GLOBAL float* probs,           // [BH, T, T]
                          GLOBAL float* o,               // [BH, T, D]
                          const int t, const int d, const int itemsPerMask, const float scale)
{
    LOCAL float kTile[ATT_KC * ATT_DMAX];
    LOCAL float vTile[ATT_KC * ATT_DMAX];
    const int bh = GROUP(0);
    const int i = LID(0);
    const int active = i < t;
    const int row = active ? i : 0; // idle work-items keep in-bounds indices and store nothing
    GLOBAL const float* kb = k + bh * t * d;
    GLOBAL const float* vb = v + bh * t * d;
    const int so = (bh * t + row) * t;          // row i of [BH, T, T]
    const int mo = bh / itemsPerMask * t;       // this item's key mask row

    float qr[ATT_DMAX];
    UNROLL
    for (int c = 0; c < ATT_DMAX; c++) qr[c] = c < d ? q[(bh * t + row) * d + c] : 0.0f;

    // sweep 1: row max m and Σ exp(z − m) over the kept keys, updated online chunk by chunk
    float m = -INFINITY, l = 0.0f;
    for (int j0 = 0; j0 < t; j0 += ATT_KC)
    {
        att_load_rows(kTile, kb, j0, t, d);
        BARRIER;
        const int rows = min(ATT_KC, t - j0);
        if (active)
            for (int jj = 0; jj < rows; jj++)
            {
                const int j = j0 + jj;
                if (hasMask && keyMask[mo + j] == 0) continue;
                const float z = scale * att_dot(qr, kTile, jj, d) + (hasBias ? bias[so + j] : 0.0f);
                if (z > m) { l = l * exp(m - z) + 1.0f; m = z; }
                else if (z != -INFINITY) l += exp(z - m);
            }
        BARRIER; // the tile is overwritten next
    }

    // sweep 2: P = exp(z − m) / l (0 on masked keys and on rows with no kept key), O = (P ∘ dropMask) V
    const int anyKept = m != -INFINITY;
    float acc[ATT_DMAX];
    UNROLL
    for (int c = 0; c < ATT_DMAX; c++) acc[c] = 0.0f;
    for (int j0 = 0; j0 < t; j0 += ATT_KC)
    {
        att_load_rows(kTile, kb, j0, t, d);
        att_load_rows(vTile, vb, j0, t, d);
        BARRIER;
        const int rows = min(ATT_KC, t - j0);
        if (active)
            for (int jj = 0; jj < rows; jj++)
            {
                const int j = j0 + jj;
                float p = 0.0f;
                if (anyKept && (!hasMask || keyMask[mo + j] != 0))
                    p = exp(scale * att_dot(qr, kTile, jj, d) + (hasBias ? bias[so + j] : 0.0f) - m) / l;
                probs[so + j] = p;
                const float a = hasDrop ? p * dropMask[so + j] : p;
                UNROLL
                for (int c = 0; c < ATT_DMAX; c++)
                    if (c < d) acc[c] += a * vTile[jj * ATT_DMAX + c];
            }
        BARRIER;
    }
    UNROLL
    for (int c = 0; c < ATT_DMAX; c++)
        if (active && c < d) o[(bh * t + row) * d + c] = acc[c];
}

KERNEL void attention_bwd(GLOBAL const float* q,         // [BH, T, D]
                          GLOBAL const float* k,         // [BH, T, D]
                          GLOBAL const float* v,         // [BH, T, D]
                          GLOBAL const float* probs,     // [BH, T, T] the forward's P
                          GLOBAL const float* dropMask,  // [BH, T, T] when hasDrop
                          const int hasDrop,
                          GLOBAL const float* dOut,      // [BH, T, D] when hasDOut
                          const int hasDOut,
                          GLOBAL const float* dProbs,    // [BH, T, T] when hasDProbs
                          const int hasDProbs,
                          GLOBAL float* dq,              // [BH, T, D] when hasDq
                          const int hasDq,
                          GLOBAL float* dk,              // [BH, T, D] when hasDk
                          const int hasDk,
                          GLOBAL float* dv,              // [BH, T, D] when hasDv
                          const int hasDv,
                          GLOBAL float* dBias,           // [BH, T, T] when hasDBias
                          const int hasDBias,
                          const int t, const int d, const float scale)
{
    LOCAL float tileA[ATT_KC * ATT_DMAX];
    LOCAL float tileB[ATT_KC * ATT_DMAX];
    LOCAL float delta[ATT_TMAX]; // δ_i = Σ_j dP_ij P_ij, read by sweep 3
    const int bh = GROUP(0);
    const int lid = LID(0);
    const int active = lid < t;
    const int row = active ? lid : 0;
    const int base = bh * t * d;              // item bh of [BH, T, D]
    const int sbase = bh * t * t;             // item bh of [BH, T, T]
    const int needG = hasDq || hasDk || hasDBias;

    // sweeps 1 and 2: work-item = query i = row; dO_i in registers, V (tileA) and K (tileB) chunks
    float dor[ATT_DMAX];
    UNROLL
    for (int c = 0; c < ATT_DMAX; c++) dor[c] = hasDOut && c < d ? dOut[base + row * d + c] : 0.0f;
    float dot = 0.0f;
    if (needG)
        for (int j0 = 0; j0 < t; j0 += ATT_KC)
        {
            att_load_rows(tileA, v + base, j0, t, d);
            BARRIER;
            const int rows = min(ATT_KC, t - j0);
            if (active)
                for (int jj = 0; jj < rows; jj++)
                {
                    const int s = sbase + row * t + j0 + jj;
                    dot += att_dprob(dor, tileA, jj, d, s, hasDOut, dropMask, hasDrop, dProbs, hasDProbs) * probs[s];
                }
            BARRIER;
        }
    if (active) delta[row] = dot;
    float acc[ATT_DMAX];
    UNROLL
    for (int c = 0; c < ATT_DMAX; c++) acc[c] = 0.0f;
    if (hasDq || hasDBias)
        for (int j0 = 0; j0 < t; j0 += ATT_KC)
        {
            att_load_rows(tileA, v + base, j0, t, d);
            att_load_rows(tileB, k + base, j0, t, d);
            BARRIER;
            const int rows = min(ATT_KC, t - j0);
            if (active)
                for (int jj = 0; jj < rows; jj++)
                {
                    const int s = sbase + row * t + j0 + jj;
                    const float dp = att_dprob(dor, tileA, jj, d, s, hasDOut, dropMask, hasDrop, dProbs, hasDProbs);
                    const float g = probs[s] * (dp - dot);
                    if (hasDBias) dBias[s] = g;
                    UNROLL
                    for (int c = 0; c < ATT_DMAX; c++)
                        if (c < d) acc[c] += g * tileB[jj * ATT_DMAX + c];
                }
            BARRIER;
        }
    UNROLL
    for (int c = 0; c < ATT_DMAX; c++)
        if (active && hasDq && c < d) dq[base + row * d + c] = scale * acc[c];
    BARRIER; // delta is complete before sweep 3 reads it

    // sweep 3: work-item = key j = row; V_j in registers, dO (tileA) and Q (tileB) chunks over queries
    if (!hasDk && !hasDv) return; // uniform over the group: no barrier is skipped by only some
    float vr[ATT_DMAX];
    UNROLL
    for (int c = 0; c < ATT_DMAX; c++) vr[c] = c < d ? v[base + row * d + c] : 0.0f;
    float accV[ATT_DMAX];
    UNROLL
    for (int c = 0; c < ATT_DMAX; c++) { acc[c] = 0.0f; accV[c] = 0.0f; } // acc: dK_j / scale
    for (int i0 = 0; i0 < t; i0 += ATT_KC)
    {
        if (hasDOut) att_load_rows(tileA, dOut + base, i0, t, d);
        att_load_rows(tileB, q + base, i0, t, d);
        BARRIER;
        const int rows = min(ATT_KC, t - i0);
        if (active)
            for (int ii = 0; ii < rows; ii++)
            {
                const int qi = i0 + ii;
                const int s = sbase + qi * t + row;
                const float p = probs[s];
                const float mk = hasDrop ? dropMask[s] : 1.0f;
                float dp = 0.0f;
                if (hasDOut)
                {
                    const float a = p * mk;
                    float da = 0.0f;
                    UNROLL
                    for (int c = 0; c < ATT_DMAX; c++)
                        if (c < d)
                        {
                            const float dOut_ic = tileA[ii * ATT_DMAX + c];
                            accV[c] += a * dOut_ic;
                            da += dOut_ic * vr[c];
                        }
                    dp = da * mk;
                }
                if (hasDProbs) dp += dProbs[s];
                const float g = p * (dp - delta[qi]);
                UNROLL
                for (int c = 0; c < ATT_DMAX; c++)
                    if (c < d) acc[c] += g * tileB[ii * ATT_DMAX + c];
            }
        BARRIER;
    }
    UNROLL
    for (int c = 0; c < ATT_DMAX; c++)
    {
        if (active && hasDk && c < d) dk[base + row * d + c] = scale * acc[c];
        if (active && hasDv && c < d) dv[base + row * d + c] = accV[c];
    }
}
