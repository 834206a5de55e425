using SerEngine.Backends;
using SerEngine.Nn;

namespace SerEngine.Models.Inference;

/// <summary>
/// The conv-side helpers of the fused eval-mode forwards (FocusCalibrationNet, AttentionFcn): an eval
/// BatchNorm folded into the convolution before it, and filters packed for the backend's kernels.
/// </summary>
internal static class ConvFolding
{
    /// <summary>
    /// The conv's weight [K, C, R, S] and bias [K] with the eval BatchNorm after it folded in:
    /// w'[k] = w[k] · s[k], b'[k] = (b[k] − mean[k]) · s[k] + β[k], s[k] = γ[k] / √(var[k] + eps).
    /// </summary>
    public static Tensor[] FoldBatchNorm(Conv2d conv, BatchNorm2d bn)
    {
        var w = conv.Weight.ToArray();                                  // [K, C·R·S]
        int k = conv.Weight.Shape[0], per = w.Length / k;
        var bias = conv.Bias?.ToArray() ?? new float[k];                // [K]
        float[] gamma = bn.Weight.ToArray(), beta = bn.Bias.ToArray();  // [K]
        float[] mean = bn.RunningMean.ToArray(), var = bn.RunningVar.ToArray(); // [K]
        var foldedBias = new float[k];
        for (int i = 0; i < k; i++)
        {
            double s = gamma[i] / Math.Sqrt((double)var[i] + bn.Eps);
            for (int j = 0; j < per; j++) w[i * per + j] = (float)(w[i * per + j] * s);
            foldedBias[i] = (float)((bias[i] - (double)mean[i]) * s + beta[i]);
        }
        var backend = conv.Weight.Backend;
        return [Tensor.FromArray(w, conv.Weight.Shape, backend), Tensor.FromArray(foldedBias, new Shape(k), backend)];
    }

    /// <summary>
    /// <paramref name="weight"/> [K, C, R, S] (the conv's own or a folded one) packed by its backend for
    /// <paramref name="conv"/>'s stride, padding and dilation (on the fast CPU backend: Winograd panels where its routing gives them).
    /// </summary>
    public static PackedConv2dWeight Pack(Tensor weight, Conv2d conv)
    {
        // packing depends on the filter shape, stride and dilation; the image size here is a placeholder
        var g = new Conv2dGeometry(1, weight.Shape[1], weight.Shape[2], weight.Shape[3], weight.Shape[0], weight.Shape[2], weight.Shape[3],
            conv.Stride.H, conv.Stride.W, conv.Padding.H, conv.Padding.H, conv.Padding.W, conv.Padding.W, conv.Dilation.H, conv.Dilation.W);
        return weight.Backend.PackConv2dWeight(weight.Storage, g);
    }

    /// <summary>ReLU(conv(x) + bias) with <paramref name="conv"/>'s symmetric padding and packed filters.</summary>
    public static Tensor ConvRelu(Tensor x, PackedConv2dWeight weight, Tensor? bias, Conv2d conv) =>
        Ops.Conv2dRelu(x, weight, bias, (conv.Padding.H, conv.Padding.H, conv.Padding.W, conv.Padding.W));

    /// <summary>2×2 max pool of ReLU(conv(x) + bias) with <paramref name="conv"/>'s symmetric padding and packed filters, in one call.</summary>
    public static Tensor ConvReluMaxPool(Tensor x, PackedConv2dWeight weight, Tensor? bias, Conv2d conv) =>
        Ops.Conv2dReluMaxPool(x, weight, bias, (conv.Padding.H, conv.Padding.H, conv.Padding.W, conv.Padding.W));

    /// <summary>ReLU(conv(x) + bias) with <paramref name="conv"/>'s stride, symmetric padding and dilation.</summary>
    public static Tensor ConvRelu(Tensor x, Tensor weight, Tensor? bias, Conv2d conv) =>
        Ops.Conv2dRelu(x, weight, bias, conv.Stride, (conv.Padding.H, conv.Padding.H, conv.Padding.W, conv.Padding.W), conv.Dilation);

    /// <summary>True when <paramref name="module"/> and every module under it are in eval mode.</summary>
    public static bool InEval(Module module) => !module.Training && module.NamedChildren().All(c => InEval(c.Module));
}
