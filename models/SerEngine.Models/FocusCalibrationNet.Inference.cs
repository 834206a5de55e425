using SerEngine.Backends;
using SerEngine.Autograd;
using SerEngine.Models.Attention;
using SerEngine.Models.Inference;
using SerEngine.Nn;

namespace SerEngine.Models;

// The fused eval-mode forward of FocusCalibrationNet, taken when the network and its layers are in
// eval mode and gradients are off (inference): every conv + eval BatchNorm + ReLU is one primitive call
// (Backend.Conv2dForwardRelu) with the BatchNorm folded into the conv's weights and bias,
//   w'[k] = w[k] · s[k], b'[k] = (b[k] − mean[k]) · s[k] + β[k], s[k] = γ[k] / √(var[k] + eps),
// so each feature map is written once instead of three times (conv, BatchNorm, ReLU); the attention
// block runs its own fused path (FocusCalibrationAttention.Inference.cs) on the tokens feature-major
// (Xᵀ [N, 80·F', T'] is the last conv map as it lies, so no token permute). The folded weights are cached
// (DerivedWeights) and rebuilt when a parameter or running statistic changes. Results equal the plain
// forward's up to rounding (the folding reorders a multiply). The folded 3×3 filters of conv2 … conv5 are
// also kept packed for the backend (Backend.PackConv2dWeight; on the fast CPU backend Winograd
// F(2×2, 3×3) panels, which take 16 multiplies per 2×2 outputs instead of 36). conv2 and conv3 are pooled in the
// same call (Ops.Conv2dReluMaxPool: on the fast CPU backend each F(4×4, 3×3) Winograd tile holds four pool windows, so
// their full-size maps are never stored).
public sealed partial class FocusCalibrationNet
{
    private DerivedWeights<PackedConv2dWeight>? _folded;

    /// <summary>
    /// Whether eval-mode forward passes without gradient tracking take the fused path (default on).
    /// Off, they run layer by layer like training-mode passes (tests compare the two).
    /// </summary>
    public bool FusedInference { get; set; } = true;

    private (Conv2d Conv, BatchNorm2d Bn)[] ConvLayers() =>
        [(Conv1a, Bn1a), (Conv1b, Bn1b), (Conv2, Bn2), (Conv3, Bn3), (Conv4, Bn4), (Conv5, Bn5)];

    private bool UsesFusedPath() => FusedInference && !Graph.IsGradEnabled && ConvFolding.InEval(this);

    /// <summary>
    /// Releases the cached folded weights of the fused path (device memory on GPU backends); the next
    /// fused forward builds them again.
    /// </summary>
    public void ReleaseFusedWeights()
    {
        _folded?.Dispose();
        Attn.ReleaseFusedWeights();
    }

    /// <summary>How many forward passes took the fused path (tests check that it is taken).</summary>
    internal int FusedForwards => _fusedForwards;

    private int _fusedForwards;

    /// <summary>conv2 … conv5's packed weights as the fused path uses them (tests check which form the backend chose).</summary>
    internal PackedConv2dWeight[] PackedConvWeights => _folded?.GetPacked().Packed ?? [];

    private (Tensor Logits, FocusCalibrationAttention.Internals Internals) ForwardFused(Tensor x)
    {
        Interlocked.Increment(ref _fusedForwards);
        var folded = LazyInitializer.EnsureInitialized(ref _folded, () => new DerivedWeights<PackedConv2dWeight>(
            [.. ConvLayers().SelectMany(l => new[] { l.Conv.Weight, l.Conv.Bias, l.Bn.Weight, l.Bn.Bias, l.Bn.RunningMean, l.Bn.RunningVar }.OfType<Tensor>())],
            () => [.. ConvLayers().SelectMany(l => ConvFolding.FoldBatchNorm(l.Conv, l.Bn))],
            PackConvWeights));
        var (w, packed) = folded.GetPacked(); // per layer: folded weight [K, C, R, S], folded bias [K]; the 3×3 weights packed
        var a = ConvRelu(x, w[0], w[1], Conv1a);                        // [N, 8, F−1, T−1]
        var b = ConvRelu(x, w[2], w[3], Conv1b);                        // [N, 8, F−1, T−1]
        var h = Ops.Concat([a, b], 1);                                  // [N, 16, F−1, T−1]
        h = ConvFolding.ConvReluMaxPool(h, packed[0], w[5], Conv2);     // [N, 32, ⌊(F−1)/2⌋, ⌊(T−1)/2⌋]
        h = ConvFolding.ConvReluMaxPool(h, packed[1], w[7], Conv3);     // [N, 48, F', T']
        h = ConvRelu(h, packed[2], w[9], Conv4);                        // [N, 64, F', T']
        h = ConvRelu(h, packed[3], w[11], Conv5);                       // [N, 80, F', T']
        int n = h.Shape[0], c = h.Shape[1], f = h.Shape[2], t = h.Shape[3];
        var tokensT = h.Reshape(n, c * f, t);                           // [N, 80·F', T']: the tokens feature-major, as they lie
        var (z, internals) = Attn.ForwardFusedResidualMean(tokensT);     // [N, d_in] = mean_T ReLU(Xᵀ + attn(X)ᵀ)
        return (Fc.Forward(z), internals);
    }

    private static Tensor ConvRelu(Tensor x, Tensor weight, Tensor bias, Conv2d layer) => ConvFolding.ConvRelu(x, weight, bias, layer);

    private static Tensor ConvRelu(Tensor x, PackedConv2dWeight weight, Tensor bias, Conv2d layer) => ConvFolding.ConvRelu(x, weight, bias, layer);

    /// <summary>The folded 3×3 weights of conv2 … conv5 packed by their backend (Winograd panels on the fast CPU backend).</summary>
    private PackedConv2dWeight[] PackConvWeights(Tensor[] folded)
    {
        Conv2d[] layers = [Conv2, Conv3, Conv4, Conv5];
        return [.. layers.Select((layer, i) => ConvFolding.Pack(folded[4 + 2 * i], layer))]; // folded[4 + 2i]: [K, C, 3, 3]
    }
}
