// optim.cl — in-place optimizer updates, one work-item per parameter.
//
// Dimension legend: n parameters; param, grad, m, v, momentumBuffer are all [n].
//
// Kernels (one variant each), in exactly the CPU reference's order of float operations; every
// scalar that the reference forms in double (bias corrections, 1 − β, 1 − lr·wd) arrives
// precomputed as a float argument:
//   adam_step   AdamW: p *= 1 − lr·wd; Adam: g += wd·p. Then m = β1·m + (1 − β1)·g,
//               v = β2·v + (1 − β2)·g·g, denom = √v / √(1 − β2^t) + eps,
//               p = p − (lr / (1 − β1^t))·(m / denom)                           (Backend.AdamStep)
//   adam_step_multi  adam_step over up to ADAM_MULTI tensors in one launch (PyTorch's multi-tensor
//               Adam): each tensor gets its own run of work-groups (tensor k's start at group
//               groupStart_k), one work-item per element, so the tensor and its pointers are uniform
//               over a group (no warp straddles two tensors); the per-element update is adam_step's
//               own (adam_update)                                          (Backend.AdamStepMulti)
//   sgd_step    d = g + wd·p (wd ≠ 0); buf = d on the first step else momentum·buf + (1 − dampening)·d;
//               d = d + momentum·buf (Nesterov) or buf; p −= lr·d  (momentum ≠ 0)  (Backend.SgdStep)
// CPU twins: CpuReference.Adam.cs, CpuReference.Sgd.cs. OpenCL builds turn off a·b + c contraction
// so that the float operations are the reference's own (NVRTC may still fuse them: ≤ 1 ulp).

#ifdef OPENCL
#pragma OPENCL FP_CONTRACT OFF
#endif

// The scalars of one Adam update, in kernel-argument order (adam_step, adam_step_multi).
#define ADAM_SCALAR_PARAMS                                                                          \
    const int decoupled,   /* 1: AdamW (decoupled decay), 0: Adam (L2 in the gradient) */         \
    const float decay,     /* 1 − lr·wd */                                                         \
    const float wd,        /* weight decay */                                                      \
    const float b1, const float oneMinusB1,                                                        \
    const float b2, const float oneMinusB2,                                                        \
    const float stepSize,  /* lr / (1 − β1^t) */                                                   \
    const float bc2Sqrt,   /* √(1 − β2^t) */                                                       \
    const float eps
#define ADAM_SCALAR_ARGS decoupled, decay, wd, b1, oneMinusB1, b2, oneMinusB2, stepSize, bc2Sqrt, eps

// Element i of one tensor: the reference's float operations, in its order.
INLINE void adam_update(GLOBAL float* RESTRICT param, GLOBAL const float* RESTRICT grad,
                        GLOBAL float* RESTRICT m, GLOBAL float* RESTRICT v, const int i, ADAM_SCALAR_PARAMS)
{
    float w = param[i];
    float g = grad[i];
    if (decoupled) w *= decay;
    else if (wd != 0.0f) g += wd * w;
    const float mi = m[i] * b1 + oneMinusB1 * g;
    const float vi = v[i] * b2 + oneMinusB2 * g * g;
    const float denom = sqrt(vi) / bc2Sqrt + eps;
    m[i] = mi;
    v[i] = vi;
    param[i] = w - stepSize * (mi / denom);
}

KERNEL void adam_step(GLOBAL float* RESTRICT param,      // [n]
                      GLOBAL const float* RESTRICT grad, // [n]
                      GLOBAL float* RESTRICT m,          // [n] first moment
                      GLOBAL float* RESTRICT v,          // [n] second moment
                      const int n,
                      ADAM_SCALAR_PARAMS)
{
    const int i = GID(0);
    if (i >= n) return;
    adam_update(param, grad, m, v, i, ADAM_SCALAR_ARGS);
}

// Tensors per adam_step_multi launch: 8 × (4 buffers + a count) arguments stay far below OpenCL's
// smallest CL_DEVICE_MAX_PARAMETER_SIZE (1024 bytes) and CUDA's 4 KB; the host splits longer lists.
#define ADAM_MULTI 8

// Tensor k of the chunk: its param, grad, m, v [n_k], and its first work-group (slots past the chunk
// start at the launch's group count, so no group maps to them).
// RESTRICT although unused slots repeat tensor 0's buffers: a slot no group maps to is never accessed.
#define ADAM_TENSOR_PARAMS(k) GLOBAL float* RESTRICT p##k, GLOBAL const float* RESTRICT g##k, GLOBAL float* RESTRICT m##k, \
                              GLOBAL float* RESTRICT v##k, const int n##k, const int groupStart##k
#define ADAM_PICK(k, x) ((k) == 0 ? x##0 : (k) == 1 ? x##1 : (k) == 2 ? x##2 : (k) == 3 ? x##3 \
                       : (k) == 4 ? x##4 : (k) == 5 ? x##5 : (k) == 6 ? x##6 : x##7)

KERNEL void adam_step_multi(ADAM_TENSOR_PARAMS(0), ADAM_TENSOR_PARAMS(1), ADAM_TENSOR_PARAMS(2), ADAM_TENSOR_PARAMS(3),
                            ADAM_TENSOR_PARAMS(4), ADAM_TENSOR_PARAMS(5), ADAM_TENSOR_PARAMS(6), ADAM_TENSOR_PARAMS(7),
                            ADAM_SCALAR_PARAMS)
{
    // groupStart0 = 0 ≤ groupStart1 ≤ ... ≤ groupStart7; an empty tensor has no groups and is skipped
    const int group = GROUP(0);
    const int k = (group >= groupStart1) + (group >= groupStart2) + (group >= groupStart3) + (group >= groupStart4)
                + (group >= groupStart5) + (group >= groupStart6) + (group >= groupStart7);
    const int i = (group - ADAM_PICK(k, groupStart)) * LSIZE(0) + LID(0);
    if (i >= ADAM_PICK(k, n)) return;
    adam_update(ADAM_PICK(k, p), ADAM_PICK(k, g), ADAM_PICK(k, m), ADAM_PICK(k, v), i, ADAM_SCALAR_ARGS);
}

KERNEL void sgd_step(GLOBAL float* RESTRICT param,      // [n]
                     GLOBAL const float* RESTRICT grad, // [n]
                     GLOBAL float* momentumBuffer,      // [n] when momentum ≠ 0 (else a stand-in, never read)
                     const int n,
                     const float lr, const float momentum,
                     const float oneMinusDampening,     // 1 − dampening
                     const float wd,
                     const int nesterov, const int firstStep)
{
    const int i = GID(0);
    if (i >= n) return;
    float d = grad[i];
    if (wd != 0.0f) d += wd * param[i];
    if (momentum != 0.0f)
    {
        const float buf = firstStep ? d : momentumBuffer[i] * momentum + oneMinusDampening * d;
        momentumBuffer[i] = buf;
        d = nesterov ? d + momentum * buf : buf;
    }
    param[i] -= lr * d;
}
