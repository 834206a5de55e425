// focus_bias.cl — FocusCalibrationNet's Focus-Attention bias, forward and backward.
//
// Dimension legend: R rows (one per batch·head·query), T keys; centres P and widths W [R];
// bias and dBias [R, T] (row-major).
//
// Kernels (one variant each):
//   focus_bias_forward    bias[r, j] = −2 (j − P_r)² / W_r²; one work-item per element, in the CPU
//                         twin's float order                                 (Backend.FocusBiasForward)
//   focus_bias_backward   dP_r = Σ_j dBias[r, j]·4 (j − P_r) / W_r², dW_r = Σ_j dBias[r, j]·4 (j − P_r)² / W_r³;
//                         one work-item per row: T is the key count (15 in the model), a short loop,
//                         and the row's sums need no reduction across work-items (Backend.FocusBiasBackward)
// Optional outputs come with a has* flag; when it is 0 the buffer is a stand-in never written.
// CPU twin: CpuReference.FocusBias.cs (it sums in double; these sum in float).

KERNEL void focus_bias_forward(GLOBAL const float* centres, // [R]
                               GLOBAL const float* widths,  // [R]
                               GLOBAL float* bias,          // [R, T]
                               const int rows, const int t)
{
    const int i = GID(0);
    if (i >= rows * t) return;
    const int r = i / t;
    const float d = (float)(i - r * t) - centres[r];
    const float w = widths[r];
    bias[i] = d * d / (w * w) * -2.0f;
}

KERNEL void focus_bias_backward(GLOBAL const float* centres, // [R]
                                GLOBAL const float* widths,  // [R]
                                GLOBAL const float* dBias,   // [R, T]
                                GLOBAL float* dCentres,      // [R] when hasDCentres
                                GLOBAL float* dWidths,       // [R] when hasDWidths
                                const int rows, const int t, const int hasDCentres, const int hasDWidths)
{
    const int r = GID(0);
    if (r >= rows) return;
    const float p = centres[r];
    const float w = widths[r];
    GLOBAL const float* g = dBias + r * t;
    float sp = 0.0f, sw = 0.0f;
    for (int j = 0; j < t; j++)
    {
        const float d = (float)j - p;
        sp += g[j] * d;
        sw += g[j] * d * d;
    }
    if (hasDCentres) dCentres[r] = 4.0f * sp / (w * w);
    if (hasDWidths) dWidths[r] = 4.0f * sw / (w * w * w);
}
