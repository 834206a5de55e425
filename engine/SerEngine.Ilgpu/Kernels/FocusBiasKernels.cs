using ILGPU;

namespace SerEngine.Ilgpu.Kernels;

/// <summary>
/// The focus bias, the twin of kernels/focus_bias.cl: the forward one thread per bias element
/// (grid-stride), the backward one thread per row summing its T keys.
/// </summary>
internal static class FocusBiasKernels
{
    /// <summary>focus_bias_forward: bias[r, j] = −2 (j − P_r)² / W_r².</summary>
    public static void Forward(ArrayView<float> centres, ArrayView<float> widths, ArrayView<float> bias, int rows, int t) // [R], [R], [R, T]
    {
        for (int i = Grid.GlobalIndex.X; i < rows * t; i += Grid.DimX * Group.DimX)
        {
            int r = i / t;
            float d = (i - r * t) - centres[r];
            float w = widths[r];
            bias[i] = d * d / (w * w) * -2f;
        }
    }

    /// <summary>focus_bias_backward: dP_r = Σ_j dBias·4 (j − P_r) / W_r², dW_r = Σ_j dBias·4 (j − P_r)² / W_r³ (flags select the outputs).</summary>
    public static void Backward(ArrayView<float> centres, ArrayView<float> widths, ArrayView<float> dBias, ArrayView<float> dCentres,
        ArrayView<float> dWidths, int rows, int t, int hasDCentres, int hasDWidths) // [R], [R], [R, T], [R], [R]
    {
        for (int r = Grid.GlobalIndex.X; r < rows; r += Grid.DimX * Group.DimX)
        {
            float p = centres[r], w = widths[r], sp = 0f, sw = 0f;
            for (int j = 0; j < t; j++)
            {
                float d = j - p, g = dBias[r * t + j];
                sp += g * d;
                sw += g * d * d;
            }
            if (hasDCentres != 0) dCentres[r] = 4f * sp / (w * w);
            if (hasDWidths != 0) dWidths[r] = 4f * sw / (w * w * w);
        }
    }
}
