// softmax.cl — row-wise softmax / log-softmax and the fused attention softmax, forward and backward.
//
// Dimension legend: every buffer is [rows, cols] (row-major) except keyMask, Int32
// [rows / rowsPerMask, cols] (row r reads mask row r / rowsPerMask; non-zero = keep the key).
//
// Three variants (GpuBackend.SoftmaxVariants, simplest → fastest; ChooseSoftmax picks and names one):
//
// group_tree (the default where the device has no subgroups, e.g. PoCL) — one work-group per row (G
// work-items, a power of two). Each work-item strides over the row (j = LID, LID + LSIZE, ...);
// the row max, then the row sum, are tree reductions in local memory: 2·(log₂G + 2) barriers per
// row in the forward, log₂G + 2 in the backward.
//   softmax_rows                  y = softmax(x) or log-softmax(x)                (Backend.Softmax)
//   softmax_rows_backward         softmax: dx = y·(dy − Σ dy·y); log: dx = dy − e^y·Σ dy
//                                                                          (Backend.SoftmaxBackward)
//   biased_softmax                z = scale·x + bias (bias optional), y = softmax over the kept keys,
//                                 masked keys exactly 0, a row with every key masked all 0
//                                 (never NaN)                               (Backend.BiasedSoftmax)
//   biased_softmax_backward       g = y·(dy − Σ dy·y); dx = scale·g, dBias = g (each optional)
//                                                                    (Backend.BiasedSoftmaxBackward)
// group_online — the same geometry, forward in one pass over the row: each work-item keeps a running
// max m and sum s (s = s·e^(m_old − m_new) + e^(x − m_new)), and the group merges the (m, s) pairs in
// one local-memory tree: log₂G + 1 barriers per row, and x read twice instead of three times. The
// backward (one sum) is group_tree's kernels. Slower than group_tree on PoCL, whose barriers are cheap.
//   softmax_rows_online, biased_softmax_online
// subgroup (the default where the device has subgroups: CUDA) — one subgroup (CUDA: a 32-lane warp)
// per row, several rows per work-group, no local memory and no barriers: online (m, s) per lane,
// then the row max and the rescaled sum by SUBGROUP_MAX / SUBGROUP_SUM (shuffles). Lanes stride
// over the row, so any length is correct; the launch code sends rows longer than
// SoftmaxSubgroupMaxCols to the group variants, where a whole work-group shares the row. Compiled
// only where the prelude defines HAS_SUBGROUPS (CUDA always; OpenCL with cl_khr_subgroups); the
// host checks the device before it launches them.
//   softmax_rows_subgroup, softmax_rows_backward_subgroup, biased_softmax_subgroup,
//   biased_softmax_backward_subgroup
// Optional buffers come with a has* flag; when the flag is 0 the buffer is a stand-in never read.
// The group variants' work-group size is a power of two ≤ MAX_GROUP (the launch code picks it from cols).
// CPU twins: CpuReference.Softmax.cs, CpuReference.BiasedSoftmax.cs (they sum in double; these
// kernels sum in float, so results agree to float round-off, not bit for bit).

#define MAX_GROUP 256

#include "group.h" // FOR_GROUP_STRIDE, group_max, group_sum

KERNEL void softmax_rows(GLOBAL const float* x, // [rows, cols]
                         GLOBAL float* y,       // [rows, cols]; may alias x
                         const int rows, const int cols, const int logSoftmax)
{
    LOCAL float scratch[MAX_GROUP];
    const int row = GROUP(0);
    if (row >= rows) return; // uniform over the group
    GLOBAL const float* xr = x + row * cols;
    GLOBAL float* yr = y + row * cols;

    float m = -INFINITY;
    FOR_GROUP_STRIDE(j, cols) m = fmax(m, xr[j]);
    m = group_max(scratch, m);
    float s = 0.0f;
    FOR_GROUP_STRIDE(j, cols) s += exp(xr[j] - m);
    s = group_sum(scratch, s);

    if (logSoftmax)
    {
        const float logSum = log(s);
        FOR_GROUP_STRIDE(j, cols) yr[j] = xr[j] - m - logSum;
    }
    else
    {
        FOR_GROUP_STRIDE(j, cols) yr[j] = exp(xr[j] - m) / s;
    }
}

KERNEL void softmax_rows_backward(GLOBAL const float* y,  // [rows, cols] forward output
                                  GLOBAL const float* dy, // [rows, cols]
                                  GLOBAL float* dx,       // [rows, cols]
                                  const int rows, const int cols, const int logSoftmax)
{
    LOCAL float scratch[MAX_GROUP];
    const int row = GROUP(0);
    if (row >= rows) return;
    const int o = row * cols;

    float dot = 0.0f;
    if (logSoftmax)
        FOR_GROUP_STRIDE(j, cols) dot += dy[o + j];
    else
        FOR_GROUP_STRIDE(j, cols) dot += dy[o + j] * y[o + j];
    dot = group_sum(scratch, dot);

    if (logSoftmax)
        FOR_GROUP_STRIDE(j, cols) dx[o + j] = dy[o + j] - exp(y[o + j]) * dot;
    else
        FOR_GROUP_STRIDE(j, cols) dx[o + j] = y[o + j] * (dy[o + j] - dot);
}

// The biased softmax forward kernels' arguments (biased_softmax, _online, _subgroup), and the score and
// keep test of key j in row o's terms (o = row·cols, mo = the row's mask row·cols).
#define BIASED_SOFTMAX_ARGS                                                                     \
    GLOBAL const float* x,       /* [rows, cols] */                                             \
    GLOBAL const float* bias,    /* [rows, cols] when hasBias */                                \
    const int hasBias,                                                                          \
    GLOBAL const int* keyMask,   /* [rows / rowsPerMask, cols] when hasMask */                  \
    const int hasMask,                                                                          \
    GLOBAL float* y,             /* [rows, cols] */                                             \
    const int rows, const int cols, const int rowsPerMask, const float scale
#define BIASED_Z(j) (scale * x[o + (j)] + (hasBias ? bias[o + (j)] : 0.0f))
#define BIASED_KEPT(j) (!hasMask || keyMask[mo + (j)] != 0)

KERNEL void biased_softmax(BIASED_SOFTMAX_ARGS)
{
    LOCAL float scratch[MAX_GROUP];
    const int row = GROUP(0);
    if (row >= rows) return;
    const int o = row * cols;
    const int mo = hasMask ? row / rowsPerMask * cols : 0;

    float m = -INFINITY;
    FOR_GROUP_STRIDE(j, cols)
        if (BIASED_KEPT(j)) m = fmax(m, BIASED_Z(j));
    m = group_max(scratch, m);
    // every key masked (or every score −inf): the row is all zeros, never NaN. No early return:
    // every work-item must reach the barriers in group_sum.
    const int anyKept = m != -INFINITY;
    float s = 0.0f;
    if (anyKept)
    {
        FOR_GROUP_STRIDE(j, cols)
            if (BIASED_KEPT(j)) s += exp(BIASED_Z(j) - m);
    }
    s = group_sum(scratch, s);
    FOR_GROUP_STRIDE(j, cols)
        y[o + j] = anyKept && BIASED_KEPT(j) ? exp(BIASED_Z(j) - m) / s : 0.0f;
}

KERNEL void biased_softmax_backward(GLOBAL const float* y,  // [rows, cols] forward output
                                    GLOBAL const float* dy, // [rows, cols]
                                    GLOBAL float* dx,       // [rows, cols] when hasDx
                                    const int hasDx,
                                    GLOBAL float* dBias,    // [rows, cols] when hasDBias
                                    const int hasDBias,
                                    const int rows, const int cols, const float scale)
{
    LOCAL float scratch[MAX_GROUP];
    const int row = GROUP(0);
    if (row >= rows) return;
    const int o = row * cols;

    float dot = 0.0f;
    FOR_GROUP_STRIDE(j, cols) dot += dy[o + j] * y[o + j];
    dot = group_sum(scratch, dot);
    FOR_GROUP_STRIDE(j, cols)
    {
        const float g = y[o + j] * (dy[o + j] - dot);
        if (hasDx) dx[o + j] = scale * g;
        if (hasDBias) dBias[o + j] = g;
    }
}

// ---- online (m, s) softmax statistics: group_online and subgroup --------------------------------

// Merges the partial (m2, s2) into (m, s): both are (max, Σ e^(x − max)) of disjoint parts of a row.
// One exp: the part with the smaller max is rescaled by e^−|m − m2|. Selects, not branches, so that
// PoCL still vectorises the loop across work-items. An empty part (m2 = −inf, s2 = 0) leaves (m, s)
// as it is (−inf − (−inf) would make a NaN); a NaN input reaches s (as in group_tree), never m.
INLINE void online_merge(float* m, float* s, const float m2, const float s2)
{
    const float d = m2 - *m;
    const float e = exp(-fabs(d));
    const int up = d > 0.0f;
    const float merged = up ? *s * e + s2 : *s + s2 * e;
    *s = m2 == -INFINITY ? *s : merged;
    *m = up ? m2 : *m;
}

// The group's (m, s) from every work-item's, by one tree of merges in local memory (LSIZE(0) a power
// of two): 1 + log₂G barriers. Every work-item gets the result; sm and ss are not read again after.
INLINE void group_online(LOCAL_PTR float* sm, LOCAL_PTR float* ss, float* m, float* s)
{
    const int lid = LID(0);
    sm[lid] = *m;
    ss[lid] = *s;
    BARRIER;
    for (int gap = LSIZE(0) / 2; gap > 0; gap >>= 1)
    {
        if (lid < gap)
        {
            float gm = sm[lid], gs = ss[lid];
            online_merge(&gm, &gs, sm[lid + gap], ss[lid + gap]);
            sm[lid] = gm;
            ss[lid] = gs;
        }
        BARRIER;
    }
    *m = sm[0];
    *s = ss[0];
}

KERNEL void softmax_rows_online(GLOBAL const float* x, // [rows, cols]
                                GLOBAL float* y,       // [rows, cols]; may alias x
                                const int rows, const int cols, const int logSoftmax)
{
    LOCAL float sm[MAX_GROUP];
    LOCAL float ss[MAX_GROUP];
    const int row = GROUP(0);
    if (row >= rows) return; // uniform over the group
    GLOBAL const float* xr = x + row * cols;
    GLOBAL float* yr = y + row * cols;

    float m = -INFINITY, s = 0.0f;
    FOR_GROUP_STRIDE(j, cols) online_merge(&m, &s, xr[j], 1.0f);
    group_online(sm, ss, &m, &s);

    if (logSoftmax)
    {
        const float logSum = log(s);
        FOR_GROUP_STRIDE(j, cols) yr[j] = xr[j] - m - logSum;
    }
    else
    {
        FOR_GROUP_STRIDE(j, cols) yr[j] = exp(xr[j] - m) / s;
    }
}

KERNEL void biased_softmax_online(BIASED_SOFTMAX_ARGS)
{
    LOCAL float sm[MAX_GROUP];
    LOCAL float ss[MAX_GROUP];
    const int row = GROUP(0);
    if (row >= rows) return;
    const int o = row * cols;
    const int mo = hasMask ? row / rowsPerMask * cols : 0;

    float m = -INFINITY, s = 0.0f;
    FOR_GROUP_STRIDE(j, cols)
        online_merge(&m, &s, BIASED_KEPT(j) ? BIASED_Z(j) : -INFINITY, 1.0f); // a masked key is an empty part
    group_online(sm, ss, &m, &s);
    // every key masked (or every score −inf): m stays −inf and the row is all zeros, never NaN
    const int anyKept = m != -INFINITY;
    FOR_GROUP_STRIDE(j, cols)
        y[o + j] = anyKept && BIASED_KEPT(j) ? exp(BIASED_Z(j) - m) / s : 0.0f;
}

#ifdef HAS_SUBGROUPS

// A lane's (m, s) rescaled to the row max M (an empty lane, m = −inf, adds 0).
INLINE float online_rescaled(const float m, const float s, const float rowMax)
{
    return m == -INFINITY ? 0.0f : s * exp(m - rowMax);
}

// Row loop of the subgroup kernels: subgroup SUBGROUP_ID of group GROUP(0) takes rows
// GROUP(0)·NUM_SUBGROUPS + SUBGROUP_ID, then every NGROUPS(0)·NUM_SUBGROUPS rows after it, so the
// result is right whatever number of subgroups per group the host assumed. Uniform over a subgroup.
#define FOR_SUBGROUP_ROWS(row, rows) \
    for (int row = GROUP(0) * NUM_SUBGROUPS + SUBGROUP_ID; row < (rows); row += NGROUPS(0) * NUM_SUBGROUPS)

// Column loop of one lane: j = lane, lane + SUBGROUP_SIZE, ... below n.
#define FOR_LANE_STRIDE(j, n) for (int j = SUBGROUP_LOCAL_ID; j < (n); j += SUBGROUP_SIZE)

KERNEL void softmax_rows_subgroup(GLOBAL const float* x, // [rows, cols]
                                  GLOBAL float* y,       // [rows, cols]; may alias x
                                  const int rows, const int cols, const int logSoftmax)
{
    FOR_SUBGROUP_ROWS(row, rows)
    {
        GLOBAL const float* xr = x + row * cols;
        GLOBAL float* yr = y + row * cols;
        float m = -INFINITY, s = 0.0f;
        FOR_LANE_STRIDE(j, cols) online_merge(&m, &s, xr[j], 1.0f);
        const float rowMax = SUBGROUP_MAX(m);
        const float rowSum = SUBGROUP_SUM(online_rescaled(m, s, rowMax));
        if (logSoftmax)
        {
            const float logSum = log(rowSum);
            FOR_LANE_STRIDE(j, cols) yr[j] = xr[j] - rowMax - logSum;
        }
        else
        {
            FOR_LANE_STRIDE(j, cols) yr[j] = exp(xr[j] - rowMax) / rowSum;
        }
    }
}

KERNEL void softmax_rows_backward_subgroup(GLOBAL const float* y,  // [rows, cols] forward output
                                           GLOBAL const float* dy, // [rows, cols]
                                           GLOBAL float* dx,       // [rows, cols]
                                           const int rows, const int cols, const int logSoftmax)
{
    FOR_SUBGROUP_ROWS(row, rows)
    {
        const int o = row * cols;
        float dot = 0.0f;
        if (logSoftmax)
            FOR_LANE_STRIDE(j, cols) dot += dy[o + j];
        else
            FOR_LANE_STRIDE(j, cols) dot += dy[o + j] * y[o + j];
        dot = SUBGROUP_SUM(dot);
        if (logSoftmax)
            FOR_LANE_STRIDE(j, cols) dx[o + j] = dy[o + j] - exp(y[o + j]) * dot;
        else
            FOR_LANE_STRIDE(j, cols) dx[o + j] = y[o + j] * (dy[o + j] - dot);
    }
}

KERNEL void biased_softmax_subgroup(BIASED_SOFTMAX_ARGS)
{
    FOR_SUBGROUP_ROWS(row, rows)
    {
        const int o = row * cols;
        const int mo = hasMask ? row / rowsPerMask * cols : 0;
        float m = -INFINITY, s = 0.0f;
        FOR_LANE_STRIDE(j, cols)
            online_merge(&m, &s, BIASED_KEPT(j) ? BIASED_Z(j) : -INFINITY, 1.0f); // a masked key is an empty part
        const float rowMax = SUBGROUP_MAX(m);
        const float rowSum = SUBGROUP_SUM(online_rescaled(m, s, rowMax));
        const int anyKept = rowMax != -INFINITY; // all masked or all −inf: zeros, never NaN
        FOR_LANE_STRIDE(j, cols)
            y[o + j] = anyKept && BIASED_KEPT(j) ? exp(BIASED_Z(j) - rowMax) / rowSum : 0.0f;
    }
}

KERNEL void biased_softmax_backward_subgroup(GLOBAL const float* y,  // [rows, cols] forward output
                                             GLOBAL const float* dy, // [rows, cols]
                                             GLOBAL float* dx,       // [rows, cols] when hasDx
                                             const int hasDx,
                                             GLOBAL float* dBias,    // [rows, cols] when hasDBias
                                             const int hasDBias,
                                             const int rows, const int cols, const float scale)
{
    FOR_SUBGROUP_ROWS(row, rows)
    {
        const int o = row * cols;
        float dot = 0.0f;
        FOR_LANE_STRIDE(j, cols) dot += dy[o + j] * y[o + j];
        dot = SUBGROUP_SUM(dot);
        FOR_LANE_STRIDE(j, cols)
        {
            const float g = y[o + j] * (dy[o + j] - dot);
            if (hasDx) dx[o + j] = scale * g;
            if (hasDBias) dBias[o + j] = g;
        }
    }
}

#endif // HAS_SUBGROUPS
