// batchnorm2d.cl — batch normalisation over x [N, C, HW], forward and backward
//   (Backend.BatchNorm2dForward, BatchNorm2dBackward)
//
// Per channel c, over its count = N·HW values: x̂ = (x − mean)·invStd, y = x̂·weight + bias.
// Kernels (one variant each):
//   batchnorm2d_stats       training: one work-group per channel; two-pass work-group reductions give
//                           the mean, then the biased variance Σ(x − mean)²/count; writes mean and
//                           invStd = 1/√(var + eps) and, when hasRunning, moves runningMean/runningVar
//                           by momentum toward the mean and the unbiased variance Σ(x − mean)²/(count − 1).
//   batchnorm2d_eval_stats  eval: mean = runningMean, invStd = 1/√(runningVar + eps), one work-item per channel.
//   batchnorm2d_apply       y from x, mean, invStd and the optional weight/bias; one work-item per element.
//   batchnorm2d_bwd_reduce  one work-group per channel: Σdy and Σdy·x̂ into sums [2, C]; also written to
//                           dBias / dWeight when those are asked for.
//   batchnorm2d_bwd_dx      training: dx = weight·invStd·(dy − Σdy/count − x̂·Σdy·x̂/count);
//                           eval: dx = weight·invStd·dy. One work-item per element.
//   *_masked                the same four with a column mask: valid [N] (item n holds data in the columns
//                           w < valid[n] of each row of W, HW = H·W); the reductions skip the other positions
//                           (count = H·Σvalid comes from the host), y and dx are 0 there.
// Reductions use a work-group of BN_GROUP work-items (a power of two, -DBN_GROUP=256) and local memory.
// Element kernels: dim 0 over HW, dim 1 over planes n·C + c. Each kernel is one inline body, called with
// valid = 0 (every position kept, the test folds away) by the unmasked kernel.

#ifndef BN_GROUP
#define BN_GROUP 256
#endif

#ifdef CUDA
#define BN_SQRT(v) sqrtf(v)
#else
#define BN_SQRT(v) sqrt(v)
#endif

// Sum of v over the work-group (every work-item gets the total). All work-items must call it.
INLINE float batchnorm2d_group_sum(LOCAL_PTR float* red, const float v, const int t)
{
    red[t] = v;
    BARRIER;
    for (int span = BN_GROUP / 2; span > 0; span >>= 1)
    {
        if (t < span) red[t] += red[t + span];
        BARRIER;
    }
    const float total = red[0];
    BARRIER; // red is reused by the next call
    return total;
}

// 1 when column j % W of item n is valid (always, without a mask).
#define BN_KEPT(valid, n, j, W) ((valid) == 0 || (j) % (W) < (valid)[n])

// dim 0: channel c (one work-group of BN_GROUP per channel). count: the kept values per channel.
INLINE void batchnorm2d_stats_body(LOCAL_PTR float* red, GLOBAL const float* RESTRICT x, GLOBAL float* RESTRICT mean,
                                   GLOBAL float* RESTRICT invStd, GLOBAL float* runningMean, GLOBAL float* runningVar,
                                   const int hasRunning, const int N, const int C, const int HW, const float eps,
                                   const float momentum, GLOBAL const int* RESTRICT valid, const int W, const int count)
{
    const int c = GROUP(0), t = LID(0), total = N * HW;
    float s = 0.0f;
    for (int e = t; e < total; e += BN_GROUP)
    {
        const int n = e / HW, j = e - n * HW;
        if (BN_KEPT(valid, n, j, W)) s += x[(n * C + c) * HW + j];
    }
    const float m = batchnorm2d_group_sum(red, s, t) / (float)count;
    float ss = 0.0f;
    for (int e = t; e < total; e += BN_GROUP)
    {
        const int n = e / HW, j = e - n * HW;
        if (!BN_KEPT(valid, n, j, W)) continue;
        const float d = x[(n * C + c) * HW + j] - m;
        ss += d * d;
    }
    const float sumSq = batchnorm2d_group_sum(red, ss, t);
    if (t == 0)
    {
        const float var = sumSq / (float)count;
        mean[c] = m;
        invStd[c] = 1.0f / BN_SQRT(var + eps);
        if (hasRunning)
        {
            runningMean[c] = (1.0f - momentum) * runningMean[c] + momentum * m;
            runningVar[c] = (1.0f - momentum) * runningVar[c] + momentum * (sumSq / (float)(count - 1));
        }
    }
}

KERNEL void batchnorm2d_stats(GLOBAL const float* RESTRICT x, // [N, C, HW]
                              GLOBAL float* RESTRICT mean,    // [C]
                              GLOBAL float* RESTRICT invStd,  // [C]
                              GLOBAL float* runningMean,      // [C] (used when hasRunning)
                              GLOBAL float* runningVar,       // [C] (used when hasRunning)
                              const int hasRunning, const int N, const int C, const int HW,
                              const float eps, const float momentum)
{
    LOCAL float red[BN_GROUP];
    batchnorm2d_stats_body(red, x, mean, invStd, runningMean, runningVar, hasRunning, N, C, HW, eps, momentum, 0, HW, N * HW);
}

KERNEL void batchnorm2d_stats_masked(GLOBAL const float* RESTRICT x,     // [N, C, HW]
                                     GLOBAL float* RESTRICT mean,        // [C]
                                     GLOBAL float* RESTRICT invStd,      // [C]
                                     GLOBAL float* runningMean,          // [C] (used when hasRunning)
                                     GLOBAL float* runningVar,           // [C] (used when hasRunning)
                                     const int hasRunning, const int N, const int C, const int HW,
                                     const float eps, const float momentum,
                                     GLOBAL const int* RESTRICT valid,   // [N]
                                     const int W, const int count)
{
    LOCAL float red[BN_GROUP];
    batchnorm2d_stats_body(red, x, mean, invStd, runningMean, runningVar, hasRunning, N, C, HW, eps, momentum, valid, W, count);
}

// dim 0: channel c.
KERNEL void batchnorm2d_eval_stats(GLOBAL const float* RESTRICT runningMean, // [C]
                                   GLOBAL const float* RESTRICT runningVar,  // [C]
                                   GLOBAL float* RESTRICT mean,              // [C]
                                   GLOBAL float* RESTRICT invStd,            // [C]
                                   const int C, const float eps)
{
    const int c = GID(0);
    if (c >= C) return;
    mean[c] = runningMean[c];
    invStd[c] = 1.0f / BN_SQRT(runningVar[c] + eps);
}

INLINE void batchnorm2d_apply_body(GLOBAL const float* RESTRICT x, GLOBAL const float* RESTRICT mean,
                                   GLOBAL const float* RESTRICT invStd, GLOBAL const float* RESTRICT weight,
                                   GLOBAL const float* RESTRICT bias, const int hasWeight, const int hasBias,
                                   GLOBAL float* RESTRICT y, const int planes, const int C, const int HW,
                                   GLOBAL const int* RESTRICT valid, const int W)
{
    const int i = GID(0), plane = GID(1);
    if (i >= HW || plane >= planes) return;
    const int c = plane % C, at = plane * HW + i;
    if (!BN_KEPT(valid, plane / C, i, W))
    {
        y[at] = 0.0f;
        return;
    }
    const float scale = invStd[c] * (hasWeight ? weight[c] : 1.0f);
    y[at] = (x[at] - mean[c]) * scale + (hasBias ? bias[c] : 0.0f);
}

KERNEL void batchnorm2d_apply(GLOBAL const float* RESTRICT x,      // [N, C, HW]
                              GLOBAL const float* RESTRICT mean,   // [C]
                              GLOBAL const float* RESTRICT invStd, // [C]
                              GLOBAL const float* RESTRICT weight, // [C] (used when hasWeight)
                              GLOBAL const float* RESTRICT bias,   // [C] (used when hasBias)
                              const int hasWeight, const int hasBias,
                              GLOBAL float* RESTRICT y,            // [N, C, HW]
                              const int planes, const int C, const int HW)
{
    batchnorm2d_apply_body(x, mean, invStd, weight, bias, hasWeight, hasBias, y, planes, C, HW, 0, HW);
}

KERNEL void batchnorm2d_apply_masked(GLOBAL const float* RESTRICT x,      // [N, C, HW]
                                     GLOBAL const float* RESTRICT mean,   // [C]
                                     GLOBAL const float* RESTRICT invStd, // [C]
                                     GLOBAL const float* RESTRICT weight, // [C] (used when hasWeight)
                                     GLOBAL const float* RESTRICT bias,   // [C] (used when hasBias)
                                     const int hasWeight, const int hasBias,
                                     GLOBAL float* RESTRICT y,            // [N, C, HW]
                                     const int planes, const int C, const int HW,
                                     GLOBAL const int* RESTRICT valid,    // [N]
                                     const int W)
{
    batchnorm2d_apply_body(x, mean, invStd, weight, bias, hasWeight, hasBias, y, planes, C, HW, valid, W);
}

// dim 0: channel c (one work-group of BN_GROUP per channel).
INLINE void batchnorm2d_bwd_reduce_body(LOCAL_PTR float* red, GLOBAL const float* RESTRICT dy, GLOBAL const float* RESTRICT x,
                                        GLOBAL const float* RESTRICT mean, GLOBAL const float* RESTRICT invStd,
                                        GLOBAL float* RESTRICT sums, GLOBAL float* dWeight, GLOBAL float* dBias,
                                        const int hasDWeight, const int hasDBias, const int N, const int C, const int HW,
                                        GLOBAL const int* RESTRICT valid, const int W)
{
    const int c = GROUP(0), t = LID(0), total = N * HW;
    const float m = mean[c], is = invStd[c];
    float sdy = 0.0f, sdyx = 0.0f;
    for (int e = t; e < total; e += BN_GROUP)
    {
        const int n = e / HW, j = e - n * HW, at = (n * C + c) * HW + j;
        if (!BN_KEPT(valid, n, j, W)) continue;
        const float g = dy[at];
        sdy += g;
        sdyx += g * (x[at] - m) * is;
    }
    sdy = batchnorm2d_group_sum(red, sdy, t);
    sdyx = batchnorm2d_group_sum(red, sdyx, t);
    if (t == 0)
    {
        sums[c] = sdy;
        sums[C + c] = sdyx;
        if (hasDBias) dBias[c] = sdy;
        if (hasDWeight) dWeight[c] = sdyx;
    }
}

KERNEL void batchnorm2d_bwd_reduce(GLOBAL const float* RESTRICT dy,     // [N, C, HW]
                                   GLOBAL const float* RESTRICT x,      // [N, C, HW]
                                   GLOBAL const float* RESTRICT mean,   // [C]
                                   GLOBAL const float* RESTRICT invStd, // [C]
                                   GLOBAL float* RESTRICT sums,         // [2, C]: Σdy, Σdy·x̂
                                   GLOBAL float* dWeight,               // [C] (written when hasDWeight)
                                   GLOBAL float* dBias,                 // [C] (written when hasDBias)
                                   const int hasDWeight, const int hasDBias,
                                   const int N, const int C, const int HW)
{
    LOCAL float red[BN_GROUP];
    batchnorm2d_bwd_reduce_body(red, dy, x, mean, invStd, sums, dWeight, dBias, hasDWeight, hasDBias, N, C, HW, 0, HW);
}

KERNEL void batchnorm2d_bwd_reduce_masked(GLOBAL const float* RESTRICT dy,     // [N, C, HW]
                                          GLOBAL const float* RESTRICT x,      // [N, C, HW]
                                          GLOBAL const float* RESTRICT mean,   // [C]
                                          GLOBAL const float* RESTRICT invStd, // [C]
                                          GLOBAL float* RESTRICT sums,         // [2, C]: Σdy, Σdy·x̂ over the kept positions
                                          GLOBAL float* dWeight,               // [C] (written when hasDWeight)
                                          GLOBAL float* dBias,                 // [C] (written when hasDBias)
                                          const int hasDWeight, const int hasDBias,
                                          const int N, const int C, const int HW,
                                          GLOBAL const int* RESTRICT valid,    // [N]
                                          const int W)
{
    LOCAL float red[BN_GROUP];
    batchnorm2d_bwd_reduce_body(red, dy, x, mean, invStd, sums, dWeight, dBias, hasDWeight, hasDBias, N, C, HW, valid, W);
}

INLINE void batchnorm2d_bwd_dx_body(GLOBAL const float* RESTRICT dy, GLOBAL const float* RESTRICT x,
                                    GLOBAL const float* RESTRICT weight, GLOBAL const float* RESTRICT mean,
                                    GLOBAL const float* RESTRICT invStd, GLOBAL const float* RESTRICT sums,
                                    const int hasWeight, const int training, GLOBAL float* RESTRICT dx,
                                    const int planes, const int C, const int HW, const int count,
                                    GLOBAL const int* RESTRICT valid, const int W)
{
    const int i = GID(0), plane = GID(1);
    if (i >= HW || plane >= planes) return;
    const int c = plane % C, at = plane * HW + i;
    if (!BN_KEPT(valid, plane / C, i, W))
    {
        dx[at] = 0.0f;
        return;
    }
    const float scale = invStd[c] * (hasWeight ? weight[c] : 1.0f);
    if (training)
    {
        const float xhat = (x[at] - mean[c]) * invStd[c];
        dx[at] = scale * (dy[at] - sums[c] / (float)count - xhat * sums[C + c] / (float)count);
    }
    else
    {
        dx[at] = scale * dy[at];
    }
}

KERNEL void batchnorm2d_bwd_dx(GLOBAL const float* RESTRICT dy,     // [N, C, HW]
                               GLOBAL const float* RESTRICT x,      // [N, C, HW]
                               GLOBAL const float* RESTRICT weight, // [C] (used when hasWeight)
                               GLOBAL const float* RESTRICT mean,   // [C]
                               GLOBAL const float* RESTRICT invStd, // [C]
                               GLOBAL const float* RESTRICT sums,   // [2, C] (used when training)
                               const int hasWeight, const int training,
                               GLOBAL float* RESTRICT dx,           // [N, C, HW]
                               const int planes, const int C, const int HW, const int count)
{
    batchnorm2d_bwd_dx_body(dy, x, weight, mean, invStd, sums, hasWeight, training, dx, planes, C, HW, count, 0, HW);
}

KERNEL void batchnorm2d_bwd_dx_masked(GLOBAL const float* RESTRICT dy,     // [N, C, HW]
                                      GLOBAL const float* RESTRICT x,      // [N, C, HW]
                                      GLOBAL const float* RESTRICT weight, // [C] (used when hasWeight)
                                      GLOBAL const float* RESTRICT mean,   // [C]
                                      GLOBAL const float* RESTRICT invStd, // [C]
                                      GLOBAL const float* RESTRICT sums,   // [2, C] (used when training)
                                      const int hasWeight, const int training,
                                      GLOBAL float* RESTRICT dx,           // [N, C, HW]
                                      const int planes, const int C, const int HW, const int count,
                                      GLOBAL const int* RESTRICT valid,    // [N]
                                      const int W)
{
    batchnorm2d_bwd_dx_body(dy, x, weight, mean, invStd, sums, hasWeight, training, dx, planes, C, HW, count, valid, W);
}
