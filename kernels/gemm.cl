// gemm.cl — batched single-precision GEMM: C = alpha·op(A)·op(B) + beta·C   (Backend.Gemm)
//
// Variants, simplest to fastest (GpuBackend.GemmVariant, $SERENGINE_GEMM_VARIANT):
//   gemm_naive           one work-item per C element; the dot product reads A and B from global memory.
//   gemm_tiled           TS×TS tiles of op(A) and op(B) staged in local memory, one C element per
//                        work-item, work-group TS×TS (-DTS=16).
//   gemm_tiled_regblock  DEFAULT. A TSM×TSN tile of C per work-group, TSK-deep slabs of op(A) and op(B)
//                        in local memory, and each work-item accumulates a WPTM×WPTN block of C in
//                        registers (the engine passes -DTSM=64 -DTSN=128 -DTSK=16 -DWPTM=8 -DWPTN=8:
//                        16×8 work-items). A work-item owns rows ly + w·(TSM/WPTM) and columns
//                        lx + w·(TSN/WPTN), so neighbouring work-items read neighbouring local words.
//                        The fastest of the three on PoCL (GpuGemmBenchmarks; the kernel lab's gemm op).
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
