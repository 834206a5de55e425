// conv2d.cl — 2-D convolution (cross-correlation, as PyTorch): forward, backward-input, backward-weight.
//   (Backend.Conv2dForward, Conv2dBackwardInput, Conv2dBackwardWeight)
//
// Dimensions: x [N, C, H, W], w [K, C, R, S], y [N, K, OH, OW], P = OH·OW output pixels per plane.
// Input row h of output row oh, kernel row r: h = oh·strideH − padTop + r·dilH (same for w with
// padLeft/dilW); positions outside the input read as 0. padBottom/padRight only shape OH/OW.
//
// Variants, simplest to fastest (GpuBackend.Conv2dVariant, $SERENGINE_CONV2D_VARIANT):
//   direct          one work-item per output element, loops straight over the input:
//                   conv2d_fwd_direct (per y), conv2d_bwd_input_direct (per dx, gathers every (k, r, s)
//                   that reaches it), conv2d_bwd_weight_direct (per dw, sums over N·OH·OW).
//   im2col_gemm     conv2d_im2col writes the column buffer col [images, C·R·S, P] (in chunks of images
//                   when large), then gemm.cl does y_n = w [K, C·R·S] · col_n; backward-input is
//                   dcol_n = wᵀ · dy_n followed by the gather conv2d_col2im (no atomics); backward-weight
//                   is a batched GEMM partial_n = dy_n · col_nᵀ and conv2d_sum_partials adds the images
//                   in order. conv2d_add_bias adds the bias afterwards. A 1×1, stride-1, unpadded
//                   conv uses x itself as the column buffer.
//   implicit_gemm   The same three GEMMs with the register-blocked tiling of
//                   gemm_tiled_regblock (the engine passes -DTSM=64 -DTSN=128 -DTSK=16 -DWPTM=8
//                   -DWPTN=8), but the operand slabs are gathered from x / dy / w on the fly, so no
//                   column buffer exists:
//                     forward          C[k, (n,oh,ow)]  = Σ_(c,r,s) w · x-patch      (+ bias)
//                     backward-input   C[c, (n,h,w)]    = Σ_(k,r,s) w · dy (zero where the stride skips)
//                     backward-weight  C[k, (c,r,s)]    = Σ_(n,oh,ow) dy · x-patch, the reduction split
//                                      into chunks (split-K, dim 2) summed by conv2d_sum_partials.
//                   When under a quarter of the padded tiles' multiply-adds would be useful (few
//                   channels; a strided backward-input is mostly zeros), the launch code runs the
//                   direct kernel instead. On PoCL it matches im2col_gemm on large layers, is faster
//                   on backward-weight, and needs no column buffer.
//   implicit_padded, implicit_vec4, implicit_dbuf, implicit_unrolled (DEFAULT)
//                   the tile steps of implicit_gemm, as gemm.cl's regblock steps (conv2d_steps.h):
//                   conflict-free padded slabs, then float4 loads of the weight-like operand, then
//                   double-buffered slabs, then the q loop unrolled; same tiles, launch and fallback.
// Launch: every kernel bounds-checks (global sizes are rounded up to whole work-groups).

#include "gemm_tiles.h" // TSM, TSN, TSK, WPTM, WPTN, RTSM, RTSN: the tiling of gemm.cl's gemm_tiled_regblock
#if (NT % TSN) != 0 || (TSK % (NT / TSN)) != 0
#error "implicit GEMM tiles: work-items per group must be a multiple of TSN and cover TSK rows evenly"
#endif

// The geometry every kernel takes, in this order.
#define CONV_GEOMETRY const int N, const int C, const int H, const int W, const int K, const int R, const int S, \
                      const int OH, const int OW, const int strideH, const int strideW,                        \
                      const int padTop, const int padLeft, const int dilH, const int dilW

// ---- direct --------------------------------------------------------------------------------------

// dim 0: output pixel p < P, dim 1: output channel k < K, dim 2: image n < N.
KERNEL void conv2d_fwd_direct(GLOBAL const float* RESTRICT x,    // [N, C, H, W]
                              GLOBAL const float* RESTRICT wt,   // [K, C, R, S]
                              GLOBAL const float* RESTRICT bias, // [K] (read only when hasBias)
                              const int hasBias,
                              GLOBAL float* RESTRICT y,          // [N, K, OH, OW]
                              CONV_GEOMETRY)
{
    const int p = GID(0), k = GID(1), n = GID(2);
    if (p >= OH * OW || k >= K) return;
    const int oh = p / OW, ow = p - oh * OW;
    const int h0 = oh * strideH - padTop, w0 = ow * strideW - padLeft;
    float acc = 0.0f;
    for (int c = 0; c < C; c++)
    {
        GLOBAL const float* xc = x + (n * C + c) * H * W;
        GLOBAL const float* wc = wt + (k * C + c) * R * S;
        for (int r = 0; r < R; r++)
        {
            const int h = h0 + r * dilH;
            if (h < 0 || h >= H) continue;
            for (int s = 0; s < S; s++)
            {
                const int w = w0 + s * dilW;
                if (w >= 0 && w < W) acc += xc[h * W + w] * wc[r * S + s];
            }
        }
    }
    if (hasBias) acc += bias[k];
    y[(n * K + k) * OH * OW + p] = acc;
}

// dim 0: input pixel h·W + w, dim 1: input channel c < C, dim 2: image n < N.
KERNEL void conv2d_bwd_input_direct(GLOBAL const float* RESTRICT dy, // [N, K, OH, OW]
                                    GLOBAL const float* RESTRICT wt, // [K, C, R, S]
                                    GLOBAL float* RESTRICT dx,       // [N, C, H, W]
                                    CONV_GEOMETRY)
{
    const int hw = GID(0), c = GID(1), n = GID(2);
    if (hw >= H * W || c >= C) return;
    const int h = hw / W, w = hw - h * W;
    float acc = 0.0f;
    for (int r = 0; r < R; r++)
    {
        const int th = h + padTop - r * dilH; // = oh·strideH when output row oh reads this row
        if (th < 0 || th % strideH != 0 || th / strideH >= OH) continue;
        const int oh = th / strideH;
        for (int s = 0; s < S; s++)
        {
            const int tw = w + padLeft - s * dilW;
            if (tw < 0 || tw % strideW != 0 || tw / strideW >= OW) continue;
            const int ow = tw / strideW;
            for (int k = 0; k < K; k++)
                acc += dy[((n * K + k) * OH + oh) * OW + ow] * wt[((k * C + c) * R + r) * S + s];
        }
    }
    dx[(n * C + c) * H * W + hw] = acc;
}

// dim 0: (c, r, s) < C·R·S, dim 1: output channel k < K.
KERNEL void conv2d_bwd_weight_direct(GLOBAL const float* RESTRICT x,  // [N, C, H, W]
                                     GLOBAL const float* RESTRICT dy, // [N, K, OH, OW]
                                     GLOBAL float* RESTRICT dw,       // [K, C, R, S]
                                     CONV_GEOMETRY)
{
    const int crs = GID(0), k = GID(1);
    if (crs >= C * R * S || k >= K) return;
    const int c = crs / (R * S), rs = crs - c * R * S, r = rs / S, s = rs - r * S;
    float acc = 0.0f;
    for (int n = 0; n < N; n++)
    {
        GLOBAL const float* xc = x + (n * C + c) * H * W;
        GLOBAL const float* dyk = dy + (n * K + k) * OH * OW;
        for (int oh = 0; oh < OH; oh++)
        {
            const int h = oh * strideH - padTop + r * dilH;
            if (h < 0 || h >= H) continue;
            for (int ow = 0; ow < OW; ow++)
            {
                const int w = ow * strideW - padLeft + s * dilW;
                if (w >= 0 && w < W) acc += dyk[oh * OW + ow] * xc[h * W + w];
            }
        }
    }
    dw[k * C * R * S + crs] = acc;
}

// ---- im2col + GEMM -------------------------------------------------------------------------------

// col [images, C·R·S, P] for images n0 .. n0+images−1. dim 0: pixel p, dim 1: (c, r, s), dim 2: image.
KERNEL void conv2d_im2col(GLOBAL const float* RESTRICT x, // [N, C, H, W]
                          const int n0,
                          GLOBAL float* RESTRICT col,     // [images, C·R·S, OH·OW]
                          CONV_GEOMETRY)
{
    const int p = GID(0), crs = GID(1), m = GID(2);
    const int P = OH * OW, CRS = C * R * S;
    if (p >= P || crs >= CRS) return;
    const int oh = p / OW, ow = p - oh * OW;
    const int c = crs / (R * S), rs = crs - c * R * S, r = rs / S, s = rs - r * S;
    const int h = oh * strideH - padTop + r * dilH, w = ow * strideW - padLeft + s * dilW;
    float v = 0.0f;
    if (h >= 0 && h < H && w >= 0 && w < W) v = x[((n0 + m) * C + c) * H * W + h * W + w];
    col[(m * CRS + crs) * P + p] = v;
}

// The adjoint of im2col as a gather: dx[n0+m, c, h, w] = Σ of the dcol entries that im2col copied
// from (c, h, w). dim 0: pixel h·W + w, dim 1: channel c, dim 2: image m.
KERNEL void conv2d_col2im(GLOBAL const float* RESTRICT col, // [images, C·R·S, OH·OW]
                          const int n0,
                          GLOBAL float* RESTRICT dx,        // [N, C, H, W]
                          CONV_GEOMETRY)
{
    const int hw = GID(0), c = GID(1), m = GID(2);
    if (hw >= H * W || c >= C) return;
    const int h = hw / W, w = hw - h * W;
    const int P = OH * OW;
    GLOBAL const float* colc = col + (m * C + c) * R * S * P; // rows (c, 0, 0) .. (c, R−1, S−1)
    float acc = 0.0f;
    for (int r = 0; r < R; r++)
    {
        const int th = h + padTop - r * dilH;
        if (th < 0 || th % strideH != 0 || th / strideH >= OH) continue;
        const int oh = th / strideH;
        for (int s = 0; s < S; s++)
        {
            const int tw = w + padLeft - s * dilW;
            if (tw < 0 || tw % strideW != 0 || tw / strideW >= OW) continue;
            acc += colc[(r * S + s) * P + oh * OW + tw / strideW];
        }
    }
    dx[((n0 + m) * C + c) * H * W + hw] = acc;
}

// y[n, k, p] += bias[k]. dim 0: pixel p < P, dim 1: plane n·K + k < planes.
KERNEL void conv2d_add_bias(GLOBAL float* RESTRICT y,          // [N, K, P]
                            GLOBAL const float* RESTRICT bias, // [K]
                            const int K, const int P, const int planes)
{
    const int p = GID(0), plane = GID(1);
    if (p < P && plane < planes) y[plane * P + p] += bias[plane % K];
}

// ---- implicit GEMM -------------------------------------------------------------------------------

// acc[wm·WPTN + wn] += Σ_q as[q][ly + wm·RTSM] · bs[q][lx + wn·RTSN] over one staged slab pair.
INLINE void conv2d_accumulate(LOCAL_PTR const float* as, // [TSK, TSM]
                              LOCAL_PTR const float* bs, // [TSK, TSN]
                              float* acc, const int lx, const int ly)
{
    for (int q = 0; q < TSK; q++)
    {
        float ar[WPTM], br[WPTN];
        UNROLL
        for (int wm = 0; wm < WPTM; wm++) ar[wm] = as[q * TSM + ly + wm * RTSM];
        UNROLL
        for (int wn = 0; wn < WPTN; wn++) br[wn] = bs[q * TSN + lx + wn * RTSN];
        UNROLL
        for (int wm = 0; wm < WPTM; wm++)
            UNROLL
            for (int wn = 0; wn < WPTN; wn++) acc[wm * WPTN + wn] += ar[wm] * br[wn];
    }
}

// The implicit-GEMM kernels' epilogues (implicit_gemm here and its tile steps in conv2d_steps.h): the
// work-item's register tile acc [WPTM × WPTN], rows i0 + ly + wm·RTSM, columns j0 + lx + wn·RTSN, to its output.
INLINE void conv2d_fwd_store(GLOBAL float* y, GLOBAL const float* bias, const int hasBias, const float* acc,
                             const int i0, const int j0, const int lx, const int ly, const int K, const int NP, const int P)
{
    UNROLL
    for (int wn = 0; wn < WPTN; wn++)
    {
        const int jo = j0 + lx + wn * RTSN;
        if (jo >= NP) break;
        const int no = jo / P, po = jo - no * P;
        UNROLL
        for (int wm = 0; wm < WPTM; wm++)
        {
            const int k = i0 + ly + wm * RTSM;
            if (k < K) y[(no * K + k) * P + po] = acc[wm * WPTN + wn] + (hasBias ? bias[k] : 0.0f);
        }
    }
}

INLINE void conv2d_bwd_input_store(GLOBAL float* dx, const float* acc, const int i0, const int j0, const int lx, const int ly,
                                   const int C, const int NHW, const int HW)
{
    UNROLL
    for (int wn = 0; wn < WPTN; wn++)
    {
        const int jo = j0 + lx + wn * RTSN;
        if (jo >= NHW) break;
        const int no = jo / HW, hwo = jo - no * HW;
        UNROLL
        for (int wm = 0; wm < WPTM; wm++)
        {
            const int c = i0 + ly + wm * RTSM;
            if (c < C) dx[(no * C + c) * HW + hwo] = acc[wm * WPTN + wn];
        }
    }
}

INLINE void conv2d_bwd_weight_store(GLOBAL float* dw, const float* acc, const int i0, const int j0, const int lx, const int ly,
                                    const int K, const int CRS)
{
    UNROLL
    for (int wm = 0; wm < WPTM; wm++)
    {
        const int k = i0 + ly + wm * RTSM;
        if (k >= K) break;
        UNROLL
        for (int wn = 0; wn < WPTN; wn++)
        {
            const int jo = j0 + lx + wn * RTSN;
            if (jo < CRS) dw[(GROUP(2) * K + k) * CRS + jo] = acc[wm * WPTN + wn];
        }
    }
}

// Rows k < K, columns (n, oh, ow) < N·P, reduction (c, r, s) < C·R·S. dim 0: column tiles, dim 1: row tiles.
KERNEL void conv2d_fwd_implicit_gemm(GLOBAL const float* RESTRICT x,    // [N, C, H, W]
                                     GLOBAL const float* RESTRICT wt,   // [K, C·R·S]
                                     GLOBAL const float* RESTRICT bias, // [K] (read only when hasBias)
                                     const int hasBias,
                                     GLOBAL float* RESTRICT y,          // [N, K, OH, OW]
                                     CONV_GEOMETRY)
{
    LOCAL float As[TSK][TSM]; // w slab [(c,r,s)][k]
    LOCAL float Bs[TSK][TSN]; // patch slab [(c,r,s)][(n,oh,ow)]
    const int lx = LID(0), ly = LID(1), tid = ly * RTSN + lx;
    const int i0 = GROUP(1) * TSM, j0 = GROUP(0) * TSN;
    const int P = OH * OW, RS = R * S, CRS = C * RS, NP = N * P;

    // The column this work-item stages into Bs is the same in every slab: decode it once.
    const int jj = tid % TSN, j = j0 + jj;
    const int n = j < NP ? j / P : 0, p = j - n * P, oh = p / OW, ow = p - oh * OW;
    const int h0 = oh * strideH - padTop, w0 = ow * strideW - padLeft;
    GLOBAL const float* xn = x + n * C * H * W;

    float acc[WPTM * WPTN];
    UNROLL
    for (int e = 0; e < WPTM * WPTN; e++) acc[e] = 0.0f;
    for (int q0 = 0; q0 < CRS; q0 += TSK)
    {
        for (int e = tid; e < TSM * TSK; e += NT)
        {
            const int qq = e % TSK, i = i0 + e / TSK, q = q0 + qq;
            As[qq][e / TSK] = (i < K && q < CRS) ? wt[i * CRS + q] : 0.0f;
        }
        for (int qq = tid / TSN; qq < TSK; qq += NT / TSN)
        {
            const int q = q0 + qq;
            float v = 0.0f;
            if (j < NP && q < CRS)
            {
                const int c = q / RS, rs = q - c * RS, r = rs / S, s = rs - r * S;
                const int h = h0 + r * dilH, w = w0 + s * dilW;
                if (h >= 0 && h < H && w >= 0 && w < W) v = xn[(c * H + h) * W + w];
            }
            Bs[qq][jj] = v;
        }
        BARRIER;
        conv2d_accumulate(&As[0][0], &Bs[0][0], acc, lx, ly);
        BARRIER;
    }

    conv2d_fwd_store(y, bias, hasBias, acc, i0, j0, lx, ly, K, NP, P);
}

// Rows c < C, columns (n, h, w) < N·H·W, reduction (k, r, s) < K·R·S; dy entries that no output
// position maps to (the stride skips them, or they fall outside OH×OW) count as 0.
KERNEL void conv2d_bwd_input_implicit_gemm(GLOBAL const float* RESTRICT dy, // [N, K, OH, OW]
                                           GLOBAL const float* RESTRICT wt, // [K, C, R, S]
                                           GLOBAL float* RESTRICT dx,       // [N, C, H, W]
                                           CONV_GEOMETRY)
{
    LOCAL float As[TSK][TSM]; // w slab [(k,r,s)][c]
    LOCAL float Bs[TSK][TSN]; // dy slab [(k,r,s)][(n,h,w)]
    const int lx = LID(0), ly = LID(1), tid = ly * RTSN + lx;
    const int i0 = GROUP(1) * TSM, j0 = GROUP(0) * TSN;
    const int HW = H * W, RS = R * S, KRS = K * RS, NHW = N * HW;

    const int jj = tid % TSN, j = j0 + jj;
    const int n = j < NHW ? j / HW : 0, hw = j - n * HW, h = hw / W, w = hw - h * W;
    GLOBAL const float* dyn = dy + n * K * OH * OW;

    float acc[WPTM * WPTN];
    UNROLL
    for (int e = 0; e < WPTM * WPTN; e++) acc[e] = 0.0f;
    for (int q0 = 0; q0 < KRS; q0 += TSK)
    {
        for (int e = tid; e < TSM * TSK; e += NT)
        {
            const int qq = e % TSK, c = i0 + e / TSK, q = q0 + qq;
            float v = 0.0f;
            if (c < C && q < KRS)
            {
                const int k = q / RS, rs = q - k * RS;
                v = wt[(k * C + c) * RS + rs];
            }
            As[qq][e / TSK] = v;
        }
        for (int qq = tid / TSN; qq < TSK; qq += NT / TSN)
        {
            const int q = q0 + qq;
            float v = 0.0f;
            if (j < NHW && q < KRS)
            {
                const int k = q / RS, rs = q - k * RS, r = rs / S, s = rs - r * S;
                const int th = h + padTop - r * dilH, tw = w + padLeft - s * dilW;
                if (th >= 0 && tw >= 0 && th % strideH == 0 && tw % strideW == 0)
                {
                    const int oh = th / strideH, ow = tw / strideW;
                    if (oh < OH && ow < OW) v = dyn[(k * OH + oh) * OW + ow];
                }
            }
            Bs[qq][jj] = v;
        }
        BARRIER;
        conv2d_accumulate(&As[0][0], &Bs[0][0], acc, lx, ly);
        BARRIER;
    }

    conv2d_bwd_input_store(dx, acc, i0, j0, lx, ly, C, NHW, HW);
}

// Rows k < K, columns (c, r, s) < C·R·S, reduction (n, oh, ow) < N·P split into chunks of qChunk:
// dim 2 is the chunk z, which writes its partial sum to dw + z·K·C·R·S (split-K: a few rows and
// columns but a long reduction would otherwise leave all but a handful of work-groups idle).
KERNEL void conv2d_bwd_weight_implicit_gemm(GLOBAL const float* RESTRICT x,  // [N, C, H, W]
                                            GLOBAL const float* RESTRICT dy, // [N, K, OH, OW]
                                            GLOBAL float* RESTRICT dw,       // [splits, K, C·R·S]
                                            const int qChunk,
                                            CONV_GEOMETRY)
{
    LOCAL float As[TSK][TSM]; // dy slab [(n,oh,ow)][k]
    LOCAL float Bs[TSK][TSN]; // patch slab [(n,oh,ow)][(c,r,s)]
    const int lx = LID(0), ly = LID(1), tid = ly * RTSN + lx;
    const int i0 = GROUP(1) * TSM, j0 = GROUP(0) * TSN;
    const int P = OH * OW, RS = R * S, CRS = C * RS, NP = N * P;

    const int jj = tid % TSN, j = j0 + jj;
    const int c = j < CRS ? j / RS : 0, rs = j - c * RS, r = rs / S, s = rs - r * S;
    const int hOff = r * dilH - padTop, wOff = s * dilW - padLeft;

    const int qBegin = GROUP(2) * qChunk, qEnd = min(qBegin + qChunk, NP);
    float acc[WPTM * WPTN];
    UNROLL
    for (int e = 0; e < WPTM * WPTN; e++) acc[e] = 0.0f;
    for (int q0 = qBegin; q0 < qEnd; q0 += TSK)
    {
        for (int e = tid; e < TSM * TSK; e += NT)
        {
            const int qq = e % TSK, k = i0 + e / TSK, q = q0 + qq;
            float v = 0.0f;
            if (k < K && q < qEnd)
            {
                const int n = q / P, p = q - n * P;
                v = dy[(n * K + k) * P + p];
            }
            As[qq][e / TSK] = v;
        }
        for (int qq = tid / TSN; qq < TSK; qq += NT / TSN)
        {
            const int q = q0 + qq;
            float v = 0.0f;
            if (j < CRS && q < qEnd)
            {
                const int n = q / P, p = q - n * P, oh = p / OW, ow = p - oh * OW;
                const int h = oh * strideH + hOff, w = ow * strideW + wOff;
                if (h >= 0 && h < H && w >= 0 && w < W) v = x[((n * C + c) * H + h) * W + w];
            }
            Bs[qq][jj] = v;
        }
        BARRIER;
        conv2d_accumulate(&As[0][0], &Bs[0][0], acc, lx, ly);
        BARRIER;
    }

    conv2d_bwd_weight_store(dw, acc, i0, j0, lx, ly, K, CRS);
}

// dw[i] (+)= Σ_z partial[z·length + i]: the split-K and per-image partial sums of backward-weight,
// added in a fixed order (deterministic). dim 0: i < length.
KERNEL void conv2d_sum_partials(GLOBAL const float* RESTRICT partial, // [parts, length]
                                GLOBAL float* RESTRICT dw,            // [length]
                                const int parts, const int length, const int accumulate)
{
    const int i = GID(0);
    if (i >= length) return;
    float acc = accumulate ? dw[i] : 0.0f;
    for (int z = 0; z < parts; z++) acc += partial[z * length + i];
    dw[i] = acc;
}

#include "conv2d_steps.h" // the tile steps of implicit_gemm: implicit_padded, implicit_vec4, implicit_dbuf, implicit_unrolled
