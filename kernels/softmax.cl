// softmax.cl — row-wise softmax / log-softmax and the fused attention softmax, forward and backward.
//
// Dimension legend: every buffer is [rows, cols] (row-major) except keyMask, Int32
// [rows / rowsPerMask, cols] (row r reads mask row r / rowsPerMask; non-zero = keep the key).
//
// Kernels (one variant each): one work-group per row. Each work-item strides over the row
// (j = LID, LID + LSIZE, ...), so a row may be longer than the group; row maxima and sums are
// tree reductions in local memory. Numerically stable: the row max is subtracted before exp.
//   softmax_rows                  y = softmax(x) or log-softmax(x)                (Backend.Softmax)
//   softmax_rows_backward         softmax: dx = y·(dy − Σ dy·y); log: dx = dy − e^y·Σ dy
//                                                                          (Backend.SoftmaxBackward)
//   biased_softmax                z = scale·x + bias (bias optional), y = softmax over the kept keys,
//                                 masked keys exactly 0, a row with every key masked all 0
//                                 (never NaN)                               (Backend.BiasedSoftmax)
//   biased_softmax_backward       g = y·(dy − Σ dy·y); dx = scale·g, dBias = g (each optional)
//                                                                    (Backend.BiasedSoftmaxBackward)
// Optional buffers come with a has* flag; when the flag is 0 the buffer is a stand-in never read.
// The work-group size is a power of two ≤ MAX_GROUP (the launch code picks it from cols).
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

KERNEL void biased_softmax(GLOBAL const float* x,       // [rows, cols]
                           GLOBAL const float* bias,    // [rows, cols] when hasBias
                           const int hasBias,
                           GLOBAL const int* keyMask,   // [rows / rowsPerMask, cols] when hasMask
                           const int hasMask,
                           GLOBAL float* y,             // [rows, cols]
                           const int rows, const int cols, const int rowsPerMask, const float scale)
{
    LOCAL float scratch[MAX_GROUP];
    const int row = GROUP(0);
    if (row >= rows) return;
    const int o = row * cols;
    const int mo = hasMask ? row / rowsPerMask * cols : 0;
#define BIASED_Z(j) (scale * x[o + (j)] + (hasBias ? bias[o + (j)] : 0.0f))
#define BIASED_KEPT(j) (!hasMask || keyMask[mo + (j)] != 0)

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
#undef BIASED_Z
#undef BIASED_KEPT
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
