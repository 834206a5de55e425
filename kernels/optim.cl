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
//   sgd_step    d = g + wd·p (wd ≠ 0); buf = d on the first step else momentum·buf + (1 − dampening)·d;
//               d = d + momentum·buf (Nesterov) or buf; p −= lr·d  (momentum ≠ 0)  (Backend.SgdStep)
// CPU twins: CpuReference.Adam.cs, CpuReference.Sgd.cs. OpenCL builds turn off a·b + c contraction
// so that the float operations are the reference's own (NVRTC may still fuse them: ≤ 1 ulp).

#ifdef OPENCL
#pragma OPENCL FP_CONTRACT OFF
#endif

KERNEL void adam_step(GLOBAL float* RESTRICT param,      // [n]
                      GLOBAL const float* RESTRICT grad, // [n]
                      GLOBAL float* RESTRICT m,          // [n] first moment
                      GLOBAL float* RESTRICT v,          // [n] second moment
                      const int n,
                      const int decoupled,   // 1: AdamW (decoupled decay), 0: Adam (L2 in the gradient)
                      const float decay,     // 1 − lr·wd
                      const float wd,        // weight decay
                      const float b1, const float oneMinusB1,
                      const float b2, const float oneMinusB2,
                      const float stepSize,  // lr / (1 − β1^t)
                      const float bc2Sqrt,   // √(1 − β2^t)
                      const float eps)
{
    const int i = GID(0);
    if (i >= n) return;
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
