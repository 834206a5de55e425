// gemm.cl — batched single-precision GEMM: C = alpha·op(A)·op(B) + beta·C   (Backend.Gemm)
//
// Variants, simplest to fastest (GpuBackend.GemmVariant, $SERENGINE_GEMM_VARIANT):
//   gemm_naive           one work-item per C element; the dot product reads A and B from global memory.
//   gemm_tiled           TS×TS tiles of op(A) and op(B) staged in local memory, one C element per
//                        work-item, work-group TS×TS (-DTS=16).
//   gemm_tiled_regblock  A TSM×TSN tile of C per work-group, TSK-deep slabs of op(A) and op(B)
//                        in local memory, and each work-item accumulates a WPTM×WPTN block of C in
//                        registers (the engine passes -DTSM=64 -DTSN=128 -DTSK=16 -DWPTM=8 -DWPTN=8:
//                        16×8 work-items). A work-item owns rows ly + w·(TSM/WPTM) and columns
//                        lx + w·(TSN/WPTN), so neighbouring work-items read neighbouring local words.
//                        Its slabs are [TSK][TSM] and [TSK][TSN]: the reads are conflict-free, but
//                        staging an operand whose unit stride runs along q (A [M, K], B stored [N, K])
//                        stores down a column of 64 or 128 words: 16-way bank conflicts (gemm_tiles.h).
// The tile steps of gemm_tiled_regblock, same tiles and launch, each adding one step to the previous
// (gemm_regblock_steps below; bank-conflict counts per warp in gemm_tiles.h):
//   gemm_regblock_padded    conflict-free slab tiles: row stride padded to ≡ 32/TSK (mod 32) words and
//                           one spare word per 32 (TILE_STRIDE, TILE_SKEW); staged in groups of 4
//                           along the operand's unit stride, still scalar loads
//   gemm_regblock_vec4      + float4 loads (LOAD4) of each operand whose leading dimension, offset and
//                           batch stride are multiples of 4 (the host passes vecA / vecB)
//   gemm_regblock_dbuf      + double-buffered slabs: slab t+1 is loaded into registers while slab t is
//                           multiplied, then stored to the other buffer; one barrier per slab
//   gemm_regblock_unrolled  DEFAULT. + the TSK-deep q loop unrolled as well as the WPTM×WPTN loops
// GpuBackend.DefaultGemmVariant says why; the lab's gemm op times them all.
//
// Sizes: op(A) [M, K], op(B) [K, N], C [M, N] row-major; batch item p starts at
//   A + aOff + p·aBatch, B + bOff + p·bBatch, C + cOff + p·cBatch   (batch stride 0 = shared operand).
// Transposes are folded into strides: op(A)[i, q] = A[i·aRow + q·aCol] (aRow = K, aCol = 1 when A is
// stored [M, K]; aRow = 1, aCol = M when stored [K, M]); op(B)[q, j] = B[q·bRow + j·bCol].
// beta = 0 overwrites C without reading it (NaN in C is ignored).
// Launch: dim 0 over columns j (N), dim 1 over rows i (M), dim 2 over batch items; global sizes are
// rounded up to whole work-groups, so every kernel bounds-checks.

#ifndef TS
#define TS 16
#endif
#include "gemm_tiles.h" // TSM, TSN, TSK, WPTM, WPTN, RTSM, RTSN of gemm_tiled_regblock

// C element store with the beta rule: beta = 0 ignores the old value.
INLINE void gemm_store(GLOBAL float* c, const float alpha, const float acc, const float beta)
{
    *c = beta == 0.0f ? alpha * acc : alpha * acc + beta * *c;
}

KERNEL void gemm_naive(const int M, const int N, const int K, const float alpha,
                       GLOBAL const float* A, const int aOff, const int aBatch, const int aRow, const int aCol,
                       GLOBAL const float* B, const int bOff, const int bBatch, const int bRow, const int bCol,
                       const float beta, GLOBAL float* C, const int cOff, const int cBatch)
{
    const int j = GID(0), i = GID(1), p = GID(2);
    if (i >= M || j >= N) return;
    GLOBAL const float* a = A + aOff + p * aBatch + i * aRow; // row i of op(A)
    GLOBAL const float* b = B + bOff + p * bBatch + j * bCol; // column j of op(B)
    float acc = 0.0f;
    for (int q = 0; q < K; q++) acc += a[q * aCol] * b[q * bRow];
    gemm_store(C + cOff + p * cBatch + i * N + j, alpha, acc, beta);
}

KERNEL void gemm_tiled(const int M, const int N, const int K, const float alpha,
                       GLOBAL const float* A, const int aOff, const int aBatch, const int aRow, const int aCol,
                       GLOBAL const float* B, const int bOff, const int bBatch, const int bRow, const int bCol,
                       const float beta, GLOBAL float* C, const int cOff, const int cBatch)
{
    LOCAL float As[TS][TS]; // op(A) tile [i][q]
    LOCAL float Bs[TS][TS]; // op(B) tile [q][j]
    const int lx = LID(0), ly = LID(1);
    const int j = GROUP(0) * TS + lx, i = GROUP(1) * TS + ly, p = GROUP(2);
    GLOBAL const float* a = A + aOff + p * aBatch;
    GLOBAL const float* b = B + bOff + p * bBatch;
    float acc = 0.0f;
    for (int q0 = 0; q0 < K; q0 += TS)
    {
        const int qa = q0 + lx, qb = q0 + ly;
        As[ly][lx] = (i < M && qa < K) ? a[i * aRow + qa * aCol] : 0.0f;
        Bs[ly][lx] = (qb < K && j < N) ? b[qb * bRow + j * bCol] : 0.0f;
        BARRIER;
        for (int q = 0; q < TS; q++) acc += As[ly][q] * Bs[q][lx];
        BARRIER;
    }
    if (i < M && j < N) gemm_store(C + cOff + p * cBatch + i * N + j, alpha, acc, beta);
}

KERNEL void gemm_tiled_regblock(const int M, const int N, const int K, const float alpha,
                                GLOBAL const float* A, const int aOff, const int aBatch, const int aRow, const int aCol,
                                GLOBAL const float* B, const int bOff, const int bBatch, const int bRow, const int bCol,
                                const float beta, GLOBAL float* C, const int cOff, const int cBatch)
{
    LOCAL float As[TSK][TSM]; // op(A) slab, stored [q][i]
    LOCAL float Bs[TSK][TSN]; // op(B) slab [q][j]
    const int lx = LID(0), ly = LID(1), tid = ly * RTSN + lx;
    const int i0 = GROUP(1) * TSM, j0 = GROUP(0) * TSN, p = GROUP(2);
    GLOBAL const float* a = A + aOff + p * aBatch;
    GLOBAL const float* b = B + bOff + p * bBatch;

    float acc[WPTM][WPTN];
    UNROLL
    for (int wm = 0; wm < WPTM; wm++)
        UNROLL
        for (int wn = 0; wn < WPTN; wn++) acc[wm][wn] = 0.0f;

    for (int q0 = 0; q0 < K; q0 += TSK)
    {
        // Stage the slabs; consecutive work-items walk the operand's unit-stride direction.
        for (int e = tid; e < TSM * TSK; e += RTSM * RTSN)
        {
            const int ii = aCol == 1 ? e / TSK : e % TSM;
            const int qq = aCol == 1 ? e % TSK : e / TSM;
            const int i = i0 + ii, q = q0 + qq;
            As[qq][ii] = (i < M && q < K) ? a[i * aRow + q * aCol] : 0.0f;
        }
        for (int e = tid; e < TSN * TSK; e += RTSM * RTSN)
        {
            const int jj = bCol == 1 ? e % TSN : e / TSK;
            const int qq = bCol == 1 ? e / TSN : e % TSK;
            const int j = j0 + jj, q = q0 + qq;
            Bs[qq][jj] = (j < N && q < K) ? b[q * bRow + j * bCol] : 0.0f;
        }
        BARRIER;
        for (int q = 0; q < TSK; q++)
        {
            float ar[WPTM], br[WPTN];
            UNROLL
            for (int wm = 0; wm < WPTM; wm++) ar[wm] = As[q][ly + wm * RTSM];
            UNROLL
            for (int wn = 0; wn < WPTN; wn++) br[wn] = Bs[q][lx + wn * RTSN];
            UNROLL
            for (int wm = 0; wm < WPTM; wm++)
                UNROLL
                for (int wn = 0; wn < WPTN; wn++) acc[wm][wn] += ar[wm] * br[wn];
        }
        BARRIER;
    }

    GLOBAL float* c = C + cOff + p * cBatch;
    UNROLL
    for (int wm = 0; wm < WPTM; wm++)
    {
        const int i = i0 + ly + wm * RTSM;
        if (i >= M) break;
        UNROLL
        for (int wn = 0; wn < WPTN; wn++)
        {
            const int j = j0 + lx + wn * RTSN;
            if (j < N) gemm_store(c + i * N + j, alpha, acc[wm][wn], beta);
        }
    }
}

// ---- the tile steps: regblock_padded → regblock_vec4 → regblock_dbuf → regblock_unrolled ----------
// One body; each variant is a kernel that passes its steps as constants (the compiler folds them).
//   vec       float4 global loads where the host says an operand allows them (vecA, vecB)
//   dbuf      two slab buffers: slab t+1 is fetched into registers while slab t is multiplied, then
//             stored into the other buffer; one barrier per slab instead of two
//   unrolled  the TSK-deep q loop unrolled too (the WPTM×WPTN loops always are)
// Staging, in every step: float4 groups along the operand's unit-stride direction (tile_fetch4);
// without vec each group is four scalar loads.
INLINE void gemm_regblock_steps(const int M, const int N, const int K, const float alpha,
                                GLOBAL const float* a, const int aRow, const int aCol, const int vecA,
                                GLOBAL const float* b, const int bRow, const int bCol, const int vecB,
                                const float beta, GLOBAL float* c,
                                LOCAL_PTR float* As, LOCAL_PTR float* Bs, // [1 or 2][TSK, TSA], [1 or 2][TSK, TSB]
                                const int vec, const int dbuf, const int unrolled)
{
    const int lx = LID(0), ly = LID(1), tid = ly * RTSN + lx;
    const int i0 = GROUP(1) * TSM, j0 = GROUP(0) * TSN;
    const int aQ = aCol == 1, bQ = bRow == 1; // group direction: along q where the operand is unit-stride in q
    const int va = vec && vecA, vb = vec && vecB;

    float acc[WPTM * WPTN];
    UNROLL
    for (int e = 0; e < WPTM * WPTN; e++) acc[e] = 0.0f;
    float4 ra[G4A], rb[G4B]; // the next slab, fetched before it is stored

#define GEMM_FETCH(q0)                                                                                          \
    UNROLL                                                                                                     \
    for (int u = 0; u < G4A; u++)                                                                              \
    {                                                                                                          \
        const int g = tid + u * NT, x = tile_group_x(g, TSM, aQ), q = tile_group_q(g, TSM, aQ);                \
        ra[u] = tile_fetch4(a, i0 + x, (q0) + q, M, K, aRow, aCol, aQ, va);                                    \
    }                                                                                                          \
    UNROLL                                                                                                     \
    for (int u = 0; u < G4B; u++)                                                                              \
    {                                                                                                          \
        const int g = tid + u * NT, x = tile_group_x(g, TSN, bQ), q = tile_group_q(g, TSN, bQ);                \
        rb[u] = tile_fetch4(b, j0 + x, (q0) + q, N, K, bCol, bRow, bQ, vb);                                    \
    }
#define GEMM_PUT(as, bs)                                                                                        \
    UNROLL                                                                                                     \
    for (int u = 0; u < G4A; u++)                                                                              \
    {                                                                                                          \
        const int g = tid + u * NT;                                                                            \
        tile_put4(as, TSA, tile_group_x(g, TSM, aQ), tile_group_q(g, TSM, aQ), aQ, ra[u]);                     \
    }                                                                                                          \
    UNROLL                                                                                                     \
    for (int u = 0; u < G4B; u++)                                                                              \
    {                                                                                                          \
        const int g = tid + u * NT;                                                                            \
        tile_put4(bs, TSB, tile_group_x(g, TSN, bQ), tile_group_q(g, TSN, bQ), bQ, rb[u]);                     \
    }

    TILE_SLAB_LOOP(0, K, GEMM_FETCH, GEMM_PUT, As, Bs, acc, lx, ly, dbuf, unrolled)
#undef GEMM_FETCH
#undef GEMM_PUT

    UNROLL
    for (int wm = 0; wm < WPTM; wm++)
    {
        const int i = i0 + ly + wm * RTSM;
        if (i >= M) break;
        UNROLL
        for (int wn = 0; wn < WPTN; wn++)
        {
            const int j = j0 + lx + wn * RTSN;
            if (j < N) gemm_store(c + i * N + j, alpha, acc[wm * WPTN + wn], beta);
        }
    }
}

// The arguments of every tile-step kernel: gemm_tiled_regblock's, plus vecA / vecB (1 when the host
// has checked that float4 loads of that operand are 16-byte aligned).
#define GEMM_STEP_ARGS const int M, const int N, const int K, const float alpha,                                         \
    GLOBAL const float* A, const int aOff, const int aBatch, const int aRow, const int aCol, const int vecA,             \
    GLOBAL const float* B, const int bOff, const int bBatch, const int bRow, const int bCol, const int vecB,             \
    const float beta, GLOBAL float* C, const int cOff, const int cBatch
#define GEMM_STEP_CALL(As, Bs, vec, dbuf, unrolled)                                                                      \
    gemm_regblock_steps(M, N, K, alpha, A + aOff + GROUP(2) * aBatch, aRow, aCol, vecA,                                 \
                        B + bOff + GROUP(2) * bBatch, bRow, bCol, vecB, beta, C + cOff + GROUP(2) * cBatch,             \
                        As, Bs, vec, dbuf, unrolled)

KERNEL void gemm_regblock_padded(GEMM_STEP_ARGS)
{
    LOCAL float As[TSK * TSA], Bs[TSK * TSB];
    GEMM_STEP_CALL(As, Bs, 0, 0, 0);
}

KERNEL void gemm_regblock_vec4(GEMM_STEP_ARGS)
{
    LOCAL float As[TSK * TSA], Bs[TSK * TSB];
    GEMM_STEP_CALL(As, Bs, 1, 0, 0);
}

KERNEL void gemm_regblock_dbuf(GEMM_STEP_ARGS)
{
    LOCAL float As[2 * TSK * TSA], Bs[2 * TSK * TSB];
    GEMM_STEP_CALL(As, Bs, 1, 1, 0);
}

KERNEL void gemm_regblock_unrolled(GEMM_STEP_ARGS)
{
    LOCAL float As[2 * TSK * TSA], Bs[2 * TSK * TSB];
    GEMM_STEP_CALL(As, Bs, 1, 1, 1);
}
