using ILGPU;
using ILGPU.Algorithms;

namespace SerEngine.Ilgpu.Kernels;

/// <summary>Adam's float scalars (SerEngine's AdamScalars, as a kernel argument).</summary>
internal readonly record struct AdamArgs(int N, int Decoupled, float Decay, float Wd, float B1, float OneMinusB1,
    float B2, float OneMinusB2, float StepSize, float Bc2Sqrt, float Eps);

/// <summary>SGD's settings as a kernel argument.</summary>
internal readonly record struct SgdArgs(int N, float Lr, float Momentum, float OneMinusDampening, float Wd, int Nesterov, int FirstStep);

/// <summary>
/// In-place optimizer updates, the twin of kernels/optim.cl (adam_step, sgd_step), in the CPU
/// reference's order of float operations; one thread per parameter (grid-stride). ILGPU has no
/// FP_CONTRACT pragma: its PTX backend may fuse a·b + c (≤ 1 ulp), as NVRTC may.
/// </summary>
internal static class OptimKernels
{
    /// <summary>adam_step: AdamW w *= 1 − lr·wd or Adam g += wd·w; then the moments and the bias-corrected step.</summary>
    public static void Adam(ArrayView<float> param, ArrayView<float> grad, ArrayView<float> m, ArrayView<float> v, AdamArgs a) // all [n]
    {
        for (int i = Grid.GlobalIndex.X; i < a.N; i += Grid.DimX * Group.DimX)
        {
            float w = param[i], g = grad[i];
            if (a.Decoupled != 0) w *= a.Decay;
            else if (a.Wd != 0f) g += a.Wd * w;
            float mi = m[i] * a.B1 + a.OneMinusB1 * g;
            float vi = v[i] * a.B2 + a.OneMinusB2 * g * g;
            float denom = XMath.Sqrt(vi) / a.Bc2Sqrt + a.Eps;
            m[i] = mi;
            v[i] = vi;
            param[i] = w - a.StepSize * (mi / denom);
        }
    }

    /// <summary>sgd_step: d = g + wd·p; momentum buffer (set to d on the first step); Nesterov; p −= lr·d.</summary>
    public static void Sgd(ArrayView<float> param, ArrayView<float> grad, ArrayView<float> momentumBuffer, SgdArgs a) // all [n]
    {
        for (int i = Grid.GlobalIndex.X; i < a.N; i += Grid.DimX * Group.DimX)
        {
            float d = grad[i];
            if (a.Wd != 0f) d += a.Wd * param[i];
            if (a.Momentum != 0f)
            {
                float buf = a.FirstStep != 0 ? d : momentumBuffer[i] * a.Momentum + a.OneMinusDampening * d;
                momentumBuffer[i] = buf;
                d = a.Nesterov != 0 ? d + a.Momentum * buf : buf;
            }
            param[i] -= a.Lr * d;
        }
    }
}
