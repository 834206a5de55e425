using SerEngine.Autograd;
using SerEngine.Backends;
using SerEngine.Models.Inference;
using SerEngine.Nn;

namespace SerEngine.Models;

// The fused eval-mode encoder of AttentionFcn, taken when the network and all its layers are in eval
// mode and gradients are off (inference): each conv + ReLU (with an eval batch norm between them folded
// into the conv's weights and bias, ConvFolding.FoldBatchNorm) is one primitive call, so each feature
// map is written once, and the filters are packed for the backend once (Backend.PackConv2dWeight; on the
// fast CPU backend the 5×5 and 3×3 layers become Winograd panels, not transformed again per call). The
// folded and packed weights are cached (DerivedWeights) and rebuilt when a parameter or running
// statistic changes. Padding of shorter utterances is zeroed after each conv and pool as in Encode.
// Results equal the layer-by-layer encoder's up to rounding (Winograd and the folding reorder sums).
public sealed partial class AttentionFcn
{
    private DerivedWeights<PackedConv2dWeight>? _fused;
    private int _fusedForwards;

    /// <summary>
    /// Whether eval-mode forward passes without gradient tracking take the fused encoder (default on).
    /// Off, they run layer by layer like training-mode passes (tests compare the two).
    /// </summary>
    public bool FusedInference { get; set; } = true;

    /// <summary>
    /// Releases the cached folded and packed weights of the fused path (device memory on GPU backends);
    /// the next fused forward builds them again.
    /// </summary>
    public void ReleaseFusedWeights() => _fused?.Dispose();

    /// <summary>How many forward passes took the fused path (tests check that it is taken).</summary>
    internal int FusedForwards => _fusedForwards;

    /// <summary>The five convolutions' packed weights as the fused path uses them (tests check which form the backend chose).</summary>
    internal PackedConv2dWeight[] PackedConvWeights => _fused?.GetPacked().Packed ?? [];

    private bool UsesFusedPath() => FusedInference && !Graph.IsGradEnabled && ConvFolding.InEval(this);

    /// <summary>The convolutions of <see cref="Features"/> with their layer index (each is followed by its ReLU).</summary>
    private (int Index, Conv2d Conv)[] ConvLayers() =>
        [.. Features.Layers.Select((layer, i) => (i, layer)).Where(p => p.layer is Conv2d).Select(p => (p.i, (Conv2d)p.layer))];

    /// <summary>The fused encoder: the same result as <see cref="Encode"/> up to rounding.</summary>
    private (Tensor H, int[]? Valid) EncodeFused(Tensor x, int[]? validFrames)
    {
        Interlocked.Increment(ref _fusedForwards);
        var convs = ConvLayers();
        var fused = LazyInitializer.EnsureInitialized(ref _fused, () => new DerivedWeights<PackedConv2dWeight>(
            [.. convs.SelectMany(c => FusedSources(c.Index, c.Conv))],
            () => [.. convs.SelectMany(c => NormAfter(c.Index) is { } bn ? ConvFolding.FoldBatchNorm(c.Conv, bn) : [])],
            folded => [.. convs.Select((c, j) => ConvFolding.Pack(FusedWeight(j, c.Conv, folded).Weight, c.Conv))]));
        var (foldedAll, packed) = fused.GetPacked(); // with batch norms: folded weight [K, C, R, S] and bias [K] per conv
        var valid = (int[]?)validFrames?.Clone();
        for (int i = 0, j = 0; i < Features.Layers.Count; i++)
        {
            var layer = Features.Layers[i];
            if (layer is Conv2d conv)
            {
                if (Features.Layers[i + 1] is not Relu) throw new InvalidOperationException($"features.{i + 1}: the fused encoder expects a ReLU after each conv");
                x = ConvFolding.ConvRelu(x, packed[j], FusedWeight(j, conv, foldedAll).Bias, conv); // [N, K, OutH, OutW]
                j++;
            }
            else x = layer.Forward(x);
            if (ShrinksTime(layer, valid) && valid is not null) x = ZeroBeyond(x, valid);
            if (layer is Conv2d) i++; // its ReLU ran with it
        }
        return (x, valid);
    }

    /// <summary>What conv <paramref name="conv"/>'s fused weights derive from: its parameters and those of the batch norm after it.</summary>
    private IEnumerable<Tensor> FusedSources(int index, Conv2d conv)
    {
        var bn = NormAfter(index);
        Tensor?[] all = bn is null ? [conv.Weight, conv.Bias] : [conv.Weight, conv.Bias, bn.Weight, bn.Bias, bn.RunningMean, bn.RunningVar];
        return all.OfType<Tensor>();
    }

    /// <summary>Conv number <paramref name="j"/> (<paramref name="conv"/>)'s weight and bias for the fused path: folded with its batch norm, or its own.</summary>
    private (Tensor Weight, Tensor? Bias) FusedWeight(int j, Conv2d conv, Tensor[] folded) =>
        Norms is null ? (conv.Weight, conv.Bias) : (folded[2 * j], folded[2 * j + 1]);
}
