// conv2d_steps.h — the tile steps of the implicit-GEMM convolution (conv2d.cl includes it at its end):
//   implicit_padded   implicit_gemm's three GEMMs on the conflict-free padded slab tiles of gemm_tiles.h
//   implicit_vec4     + float4 loads of the operand that is unit-stride along the reduction, where the
//                       host has checked alignment: forward's weights w [K, C·R·S] (C·R·S % 4 = 0) and
//                       backward-weight's dy [N, K, P] (P % 4 = 0). Backward-input has no such operand
//                       (w [K, C, R, S] read as [(k,r,s)][c]; dy gathered), so there it equals padded.
//   implicit_dbuf     + double-buffered slabs (fetch slab t+1 while multiplying slab t; one barrier a slab)
//   implicit_unrolled + the TSK-deep q loop unrolled too
// The gathered operand (x patches, dy) is the B tile: work-item tid owns column tid % TSN and gathers
// rows tid / TSN + u·(NT / TSN) of each slab, as in implicit_gemm. The weight-like operand is the A tile,
// staged in float4 groups along q (tile_fetch4 / tile_put4). Each pass is one body; its four kernels
// pass the steps as constants (vec, dbuf, unrolled), as gemm.cl's gemm_regblock_steps does.

#if NT % TSN != 0
#error "implicit GEMM steps: work-items per group must be a multiple of TSN"
#endif
#define CB (TSK * TSN / NT) // gathered B elements per work-item per slab

// The stores of a slab pair: the A groups along q, the gathered B column.
#define CONV_PUT(as, bs)                                                                                        \
    UNROLL                                                                                                     \
    for (int u = 0; u < G4A; u++)                                                                              \
    {                                                                                                          \
        const int g = tid + u * NT;                                                                            \
        tile_put4(as, TSA, tile_group_x(g, TSM, 1), tile_group_q(g, TSM, 1), 1, ra[u]);                        \
    }                                                                                                          \
    UNROLL                                                                                                     \
    for (int u = 0; u < CB; u++) (bs)[(qb + u * (NT / TSN)) * TSB + TILE_SKEW(jj)] = rb[u];

// ---- forward: rows k < K, columns (n, oh, ow) < N·P, reduction (c, r, s) < C·R·S -----------------------

INLINE float conv2d_fwd_gather(GLOBAL const float* xn, const int valid, const int q, const int CRS, const int RS,
                               const int S, const int H, const int W, const int h0, const int w0,
                               const int dilH, const int dilW)
{
    if (!valid || q >= CRS) return 0.0f;
    const int c = q / RS, rs = q - c * RS, r = rs / S, s = rs - r * S;
    const int h = h0 + r * dilH, w = w0 + s * dilW;
    return h >= 0 && h < H && w >= 0 && w < W ? xn[(c * H + h) * W + w] : 0.0f;
}

#define CONV_FWD_ARGS GLOBAL const float* RESTRICT x, GLOBAL const float* RESTRICT wt, GLOBAL const float* RESTRICT bias, \
                      const int hasBias, GLOBAL float* RESTRICT y, const int vecW, CONV_GEOMETRY
#define CONV_FWD_CALL x, wt, bias, hasBias, y, vecW, N, C, H, W, K, R, S, OH, OW, strideH, strideW, padTop, padLeft, dilH, dilW

// x [N, C, H, W], wt [K, C·R·S], bias [K] (read only when hasBias), y [N, K, OH, OW]; vecW: C·R·S % 4 = 0.
INLINE void conv2d_fwd_steps(CONV_FWD_ARGS, LOCAL_PTR float* As, LOCAL_PTR float* Bs,
                             const int vec, const int dbuf, const int unrolled)
{
    const int lx = LID(0), ly = LID(1), tid = ly * RTSN + lx;
    const int i0 = GROUP(1) * TSM, j0 = GROUP(0) * TSN;
    const int P = OH * OW, RS = R * S, CRS = C * RS, NP = N * P;
    const int jj = tid % TSN, j = j0 + jj, qb = tid / TSN;
    const int n = j < NP ? j / P : 0, p = j - n * P, oh = p / OW, ow = p - oh * OW;
    const int h0 = oh * strideH - padTop, w0 = ow * strideW - padLeft;
    GLOBAL const float* xn = x + n * C * H * W;
    const int va = vec && vecW;

    float acc[WPTM * WPTN];
    UNROLL
    for (int e = 0; e < WPTM * WPTN; e++) acc[e] = 0.0f;
    float4 ra[G4A];
    float rb[CB];
#define CONV_FETCH(q0)                                                                                          \
    UNROLL                                                                                                     \
    for (int u = 0; u < G4A; u++)                                                                              \
    {                                                                                                          \
        const int g = tid + u * NT;                                                                            \
        ra[u] = tile_fetch4(wt, i0 + tile_group_x(g, TSM, 1), (q0) + tile_group_q(g, TSM, 1), K, CRS, CRS, 1, 1, va); \
    }                                                                                                          \
    UNROLL                                                                                                     \
    for (int u = 0; u < CB; u++)                                                                               \
        rb[u] = conv2d_fwd_gather(xn, j < NP, (q0) + qb + u * (NT / TSN), CRS, RS, S, H, W, h0, w0, dilH, dilW);
    TILE_SLAB_LOOP(0, CRS, CONV_FETCH, CONV_PUT, As, Bs, acc, lx, ly, dbuf, unrolled)
#undef CONV_FETCH

    conv2d_fwd_store(y, bias, hasBias, acc, i0, j0, lx, ly, K, NP, P);
}

KERNEL void conv2d_fwd_implicit_padded(CONV_FWD_ARGS)
{
    LOCAL float As[TSK * TSA], Bs[TSK * TSB];
    conv2d_fwd_steps(CONV_FWD_CALL, As, Bs, 0, 0, 0);
}
KERNEL void conv2d_fwd_implicit_vec4(CONV_FWD_ARGS)
{
    LOCAL float As[TSK * TSA], Bs[TSK * TSB];
    conv2d_fwd_steps(CONV_FWD_CALL, As, Bs, 1, 0, 0);
}
KERNEL void conv2d_fwd_implicit_dbuf(CONV_FWD_ARGS)
{
    LOCAL float As[2 * TSK * TSA], Bs[2 * TSK * TSB];
    conv2d_fwd_steps(CONV_FWD_CALL, As, Bs, 1, 1, 0);
}
KERNEL void conv2d_fwd_implicit_unrolled(CONV_FWD_ARGS)
{
    LOCAL float As[2 * TSK * TSA], Bs[2 * TSK * TSB];
    conv2d_fwd_steps(CONV_FWD_CALL, As, Bs, 1, 1, 1);
}

// ---- backward-input: rows c < C, columns (n, h, w) < N·H·W, reduction (k, r, s) < K·R·S ----------------

// w [K, C, R, S] as the A tile [(k,r,s)][c]: four scalar loads a group (no unit stride along (k, r, s)).
INLINE float4 conv2d_bwd_input_w4(GLOBAL const float* wt, const int c, const int q, const int C, const int KRS, const int RS)
{
    float v[4];
    UNROLL
    for (int e = 0; e < 4; e++)
    {
        const int k = (q + e) / RS, rs = q + e - k * RS;
        v[e] = c < C && q + e < KRS ? wt[(k * C + c) * RS + rs] : 0.0f;
    }
    return FLOAT4(v[0], v[1], v[2], v[3]);
}

// dy entries that no output position maps to (the stride skips them, or outside OH×OW) count as 0.
INLINE float conv2d_bwd_input_gather(GLOBAL const float* dyn, const int valid, const int q, const int KRS, const int RS,
                                     const int S, const int h, const int w, const int OH, const int OW,
                                     const int strideH, const int strideW, const int padTop, const int padLeft,
                                     const int dilH, const int dilW)
{
    if (!valid || q >= KRS) return 0.0f;
    const int k = q / RS, rs = q - k * RS, r = rs / S, s = rs - r * S;
    const int th = h + padTop - r * dilH, tw = w + padLeft - s * dilW;
    if (th < 0 || tw < 0 || th % strideH != 0 || tw % strideW != 0) return 0.0f;
    const int oh = th / strideH, ow = tw / strideW;
    return oh < OH && ow < OW ? dyn[(k * OH + oh) * OW + ow] : 0.0f;
}

#define CONV_BWD_INPUT_ARGS GLOBAL const float* RESTRICT dy, GLOBAL const float* RESTRICT wt, GLOBAL float* RESTRICT dx, CONV_GEOMETRY
#define CONV_BWD_INPUT_CALL dy, wt, dx, N, C, H, W, K, R, S, OH, OW, strideH, strideW, padTop, padLeft, dilH, dilW

// dy [N, K, OH, OW], wt [K, C, R, S], dx [N, C, H, W].
INLINE void conv2d_bwd_input_steps(CONV_BWD_INPUT_ARGS, LOCAL_PTR float* As, LOCAL_PTR float* Bs,
                                   const int vec, const int dbuf, const int unrolled)
{
    const int lx = LID(0), ly = LID(1), tid = ly * RTSN + lx;
    const int i0 = GROUP(1) * TSM, j0 = GROUP(0) * TSN;
    const int HW = H * W, RS = R * S, KRS = K * RS, NHW = N * HW;
    const int jj = tid % TSN, j = j0 + jj, qb = tid / TSN;
    const int n = j < NHW ? j / HW : 0, hw = j - n * HW, h = hw / W, w = hw - h * W;
    GLOBAL const float* dyn = dy + n * K * OH * OW;
    (void)vec; // no operand of this GEMM is unit-stride along (k, r, s)

    float acc[WPTM * WPTN];
    UNROLL
    for (int e = 0; e < WPTM * WPTN; e++) acc[e] = 0.0f;
    float4 ra[G4A];
    float rb[CB];
#define CONV_FETCH(q0)                                                                                          \
    UNROLL                                                                                                     \
    for (int u = 0; u < G4A; u++)                                                                              \
    {                                                                                                          \
        const int g = tid + u * NT;                                                                            \
        ra[u] = conv2d_bwd_input_w4(wt, i0 + tile_group_x(g, TSM, 1), (q0) + tile_group_q(g, TSM, 1), C, KRS, RS); \
    }                                                                                                          \
    UNROLL                                                                                                     \
    for (int u = 0; u < CB; u++)                                                                               \
        rb[u] = conv2d_bwd_input_gather(dyn, j < NHW, (q0) + qb + u * (NT / TSN), KRS, RS, S, h, w, OH, OW,     \
                                        strideH, strideW, padTop, padLeft, dilH, dilW);
    TILE_SLAB_LOOP(0, KRS, CONV_FETCH, CONV_PUT, As, Bs, acc, lx, ly, dbuf, unrolled)
#undef CONV_FETCH

    conv2d_bwd_input_store(dx, acc, i0, j0, lx, ly, C, NHW, HW);
}

KERNEL void conv2d_bwd_input_implicit_padded(CONV_BWD_INPUT_ARGS)
{
    LOCAL float As[TSK * TSA], Bs[TSK * TSB];
    conv2d_bwd_input_steps(CONV_BWD_INPUT_CALL, As, Bs, 0, 0, 0);
}
KERNEL void conv2d_bwd_input_implicit_vec4(CONV_BWD_INPUT_ARGS)
{
    LOCAL float As[TSK * TSA], Bs[TSK * TSB];
    conv2d_bwd_input_steps(CONV_BWD_INPUT_CALL, As, Bs, 1, 0, 0);
}
KERNEL void conv2d_bwd_input_implicit_dbuf(CONV_BWD_INPUT_ARGS)
{
    LOCAL float As[2 * TSK * TSA], Bs[2 * TSK * TSB];
    conv2d_bwd_input_steps(CONV_BWD_INPUT_CALL, As, Bs, 1, 1, 0);
}
KERNEL void conv2d_bwd_input_implicit_unrolled(CONV_BWD_INPUT_ARGS)
{
    LOCAL float As[2 * TSK * TSA], Bs[2 * TSK * TSB];
    conv2d_bwd_input_steps(CONV_BWD_INPUT_CALL, As, Bs, 1, 1, 1);
}

// ---- backward-weight: rows k < K, columns (c, r, s) < C·R·S, reduction (n, oh, ow) split into qChunk ----

// dy [N, K, P] as the A tile [(n,p)][k], q < qEnd; vec (P % 4 = 0, so a group stays in one image, aligned).
INLINE float4 conv2d_bwd_weight_dy4(GLOBAL const float* dy, const int k, const int q, const int K, const int qEnd,
                                    const int P, const int vec)
{
    if (k >= K || q >= qEnd) return FLOAT4(0.0f, 0.0f, 0.0f, 0.0f);
    if (vec && q + 4 <= qEnd)
    {
        const int n = q / P, p = q - n * P;
        return LOAD4(dy + (n * K + k) * P + p);
    }
    float v[4];
    UNROLL
    for (int e = 0; e < 4; e++)
    {
        const int n = (q + e) / P, p = q + e - n * P;
        v[e] = q + e < qEnd ? dy[(n * K + k) * P + p] : 0.0f;
    }
    return FLOAT4(v[0], v[1], v[2], v[3]);
}

INLINE float conv2d_bwd_weight_gather(GLOBAL const float* x, const int valid, const int q, const int qEnd, const int P,
                                      const int C, const int c, const int H, const int W, const int OW,
                                      const int strideH, const int strideW, const int hOff, const int wOff)
{
    if (!valid || q >= qEnd) return 0.0f;
    const int n = q / P, p = q - n * P, oh = p / OW, ow = p - oh * OW;
    const int h = oh * strideH + hOff, w = ow * strideW + wOff;
    return h >= 0 && h < H && w >= 0 && w < W ? x[((n * C + c) * H + h) * W + w] : 0.0f;
}

#define CONV_BWD_WEIGHT_ARGS GLOBAL const float* RESTRICT x, GLOBAL const float* RESTRICT dy, GLOBAL float* RESTRICT dw, \
                             const int qChunk, const int vecDy, CONV_GEOMETRY
#define CONV_BWD_WEIGHT_CALL x, dy, dw, qChunk, vecDy, N, C, H, W, K, R, S, OH, OW, strideH, strideW, padTop, padLeft, dilH, dilW

// x [N, C, H, W], dy [N, K, OH, OW], dw [splits, K, C·R·S]: chunk z = dim 2 of the (n, oh, ow)
// reduction (a multiple of TSK) writes its partial sum to dw + z·K·C·R·S; vecDy: P % 4 = 0.
INLINE void conv2d_bwd_weight_steps(CONV_BWD_WEIGHT_ARGS, LOCAL_PTR float* As, LOCAL_PTR float* Bs,
                                    const int vec, const int dbuf, const int unrolled)
{
    const int lx = LID(0), ly = LID(1), tid = ly * RTSN + lx;
    const int i0 = GROUP(1) * TSM, j0 = GROUP(0) * TSN;
    const int P = OH * OW, RS = R * S, CRS = C * RS, NP = N * P;
    const int jj = tid % TSN, j = j0 + jj, qb = tid / TSN;
    const int c = j < CRS ? j / RS : 0, rs = j - c * RS, r = rs / S, s = rs - r * S;
    const int hOff = r * dilH - padTop, wOff = s * dilW - padLeft;
    const int qBegin = GROUP(2) * qChunk, qEnd = min(qBegin + qChunk, NP);
    const int va = vec && vecDy;

    float acc[WPTM * WPTN];
    UNROLL
    for (int e = 0; e < WPTM * WPTN; e++) acc[e] = 0.0f;
    float4 ra[G4A];
    float rb[CB];
#define CONV_FETCH(q0)                                                                                          \
    UNROLL                                                                                                     \
    for (int u = 0; u < G4A; u++)                                                                              \
    {                                                                                                          \
        const int g = tid + u * NT;                                                                            \
        ra[u] = conv2d_bwd_weight_dy4(dy, i0 + tile_group_x(g, TSM, 1), (q0) + tile_group_q(g, TSM, 1), K, qEnd, P, va); \
    }                                                                                                          \
    UNROLL                                                                                                     \
    for (int u = 0; u < CB; u++)                                                                               \
        rb[u] = conv2d_bwd_weight_gather(x, j < CRS, (q0) + qb + u * (NT / TSN), qEnd, P, C, c, H, W, OW,       \
                                         strideH, strideW, hOff, wOff);
    TILE_SLAB_LOOP(qBegin, qEnd, CONV_FETCH, CONV_PUT, As, Bs, acc, lx, ly, dbuf, unrolled)
#undef CONV_FETCH

    conv2d_bwd_weight_store(dw, acc, i0, j0, lx, ly, K, CRS);
}

KERNEL void conv2d_bwd_weight_implicit_padded(CONV_BWD_WEIGHT_ARGS)
{
    LOCAL float As[TSK * TSA], Bs[TSK * TSB];
    conv2d_bwd_weight_steps(CONV_BWD_WEIGHT_CALL, As, Bs, 0, 0, 0);
}
KERNEL void conv2d_bwd_weight_implicit_vec4(CONV_BWD_WEIGHT_ARGS)
{
    LOCAL float As[TSK * TSA], Bs[TSK * TSB];
    conv2d_bwd_weight_steps(CONV_BWD_WEIGHT_CALL, As, Bs, 1, 0, 0);
}
KERNEL void conv2d_bwd_weight_implicit_dbuf(CONV_BWD_WEIGHT_ARGS)
{
    LOCAL float As[2 * TSK * TSA], Bs[2 * TSK * TSB];
    conv2d_bwd_weight_steps(CONV_BWD_WEIGHT_CALL, As, Bs, 1, 1, 0);
}
KERNEL void conv2d_bwd_weight_implicit_unrolled(CONV_BWD_WEIGHT_ARGS)
{
    LOCAL float As[2 * TSK * TSA], Bs[2 * TSK * TSB];
    conv2d_bwd_weight_steps(CONV_BWD_WEIGHT_CALL, As, Bs, 1, 1, 1);
}

#undef CONV_PUT
