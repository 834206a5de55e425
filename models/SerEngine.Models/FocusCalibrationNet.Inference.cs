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
// same call (Backend.Conv2dForwardPackedReluMaxPool: on the fast CPU backend each F(4×4, 3×3) Winograd tile holds four pool
// windows, so their full-size maps are never stored). The primitives are called directly with the arguments Ops would pass
// (the same results), writing into a workspace kept between calls (FusedWorkspace): a call allocates only what it returns.
public sealed partial class FocusCalibrationNet
{
    private DerivedWeights<PackedConv2dWeight>? _folded;
    private FusedWorkspace? _workspace;

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
        Interlocked.Exchange(ref _workspace, null)?.Dispose();
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
        // (the ?? keeps the factory delegate, which captures this, off the per-call path)
        var folded = Volatile.Read(ref _folded) ?? LazyInitializer.EnsureInitialized(ref _folded, () => new DerivedWeights<PackedConv2dWeight>(
            [.. ConvLayers().SelectMany(l => new[] { l.Conv.Weight, l.Conv.Bias, l.Bn.Weight, l.Bn.Bias, l.Bn.RunningMean, l.Bn.RunningVar }.OfType<Tensor>())],
            () => [.. ConvLayers().SelectMany(l => ConvFolding.FoldBatchNorm(l.Conv, l.Bn))],
            PackConvWeights));
        var (w, packed) = folded.GetPacked(); // per layer: folded weight [K, C, R, S], folded bias [K]; the 3×3 weights packed
        if (x.Rank != 4 || x.DType != DType.Float32 || x.Shape[1] != Conv1a.Weight.Shape[1])
            throw new ArgumentException($"FocusCalibrationNet expects x [N, {Conv1a.Weight.Shape[1]}, F, T] of float32, got {x.DType} {x.Shape}");
        var backend = x.Backend;
        if (!ReferenceEquals(backend, w[0].Backend))
            throw new ArgumentException($"FocusCalibrationNet: the input is on backend {backend.Name}, the model on {w[0].Backend.Name}");
        // the intermediates live in a workspace kept between calls (slots 0-6 here, 7 on in the attention block)
        var ws = FusedWorkspace.Rent(ref _workspace, backend);
        try
        {
            int n = x.Shape[0];
            Tensor h;                                                   // [N, 16, F−1, T−1] = [conv1a | conv1b] along the channels
            if (n == 1)
            {
                // one image: conv1a's map [1, 8, F−1, T−1] is the first half of h as it lies, so it is written there; conv1b's is copied after it
                var g1a = ConvGeometry(x, w[0], Conv1a);
                h = ws.Get(2, 1, g1a.K + w[2].Shape[0], g1a.OutH, g1a.OutW);
                backend.Conv2dForwardRelu(x.Storage, w[0].Storage, w[1].Storage, h.Storage, g1a);
                var b = ConvRelu(ws, 1, x, w[2], w[3], Conv1b);          // [1, 8, F−1, T−1]
                if (b.Shape[2] != g1a.OutH || b.Shape[3] != g1a.OutW)
                    throw new ArgumentException($"concat along axis 1: conv1a's map [1, {g1a.K}, {g1a.OutH}, {g1a.OutW}] and conv1b's {b.Shape} differ");
                backend.CopyBlocks(b.Storage, 0, b.Size, h.Storage, g1a.K * g1a.OutH * g1a.OutW, h.Size, b.Size, 1);
            }
            else
            {
                var a = ConvRelu(ws, 0, x, w[0], w[1], Conv1a);          // [N, 8, F−1, T−1]
                var b = ConvRelu(ws, 1, x, w[2], w[3], Conv1b);          // [N, 8, F−1, T−1]
                h = ConcatChannels(ws, 2, a, b);
            }
            h = ConvRelu(ws, 3, h, packed[0], w[5], Conv2, pool: true);  // [N, 32, ⌊(F−1)/2⌋, ⌊(T−1)/2⌋]
            h = ConvRelu(ws, 4, h, packed[1], w[7], Conv3, pool: true);  // [N, 48, F', T']
            h = ConvRelu(ws, 5, h, packed[2], w[9], Conv4, pool: false); // [N, 64, F', T']
            h = ConvRelu(ws, 6, h, packed[3], w[11], Conv5, pool: false); // [N, 80, F', T']
            // the tokens feature-major as they lie: Xᵀ [N, 80·F', T']; z [N, d_in] = mean_T ReLU(Xᵀ + attn(X)ᵀ)
            var (z, internals) = Attn.ForwardFusedResidualMean(h.Storage, n, h.Shape[1] * h.Shape[2], h.Shape[3], ws, 7);
            return (Ops.Linear(z, Fc.Weight, Fc.Bias), internals);   // logits [N, classes] = Fc(z)
        }
        finally
        {
            FusedWorkspace.Return(ref _workspace, ws);
        }
    }

    /// <summary>ReLU(conv(x) + bias) (Backend.Conv2dForwardRelu, as Ops.Conv2dRelu) into workspace slot <paramref name="slot"/>.</summary>
    private static Tensor ConvRelu(FusedWorkspace ws, int slot, Tensor x, Tensor weight, Tensor bias, Conv2d layer)
    {
        var g = ConvGeometry(x, weight, layer);
        var y = ws.Get(slot, g.N, g.K, g.OutH, g.OutW);                 // [N, K, OutH, OutW]
        x.Backend.Conv2dForwardRelu(x.Storage, weight.Storage, bias.Storage, y.Storage, g);
        return y;
    }

    /// <summary>The geometry of <paramref name="layer"/> (stride, symmetric padding, dilation) on x [N, C, H, W] with weight [K, C, R, S].</summary>
    private static Conv2dGeometry ConvGeometry(Tensor x, Tensor weight, Conv2d layer)
    {
        var k = weight.Shape;
        return new Conv2dGeometry(x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3], k[0], k[2], k[3], layer.Stride.H, layer.Stride.W,
            layer.Padding.H, layer.Padding.H, layer.Padding.W, layer.Padding.W, layer.Dilation.H, layer.Dilation.W);
    }

    /// <summary>
    /// ReLU(conv(x) + bias) with packed filters (Backend.Conv2dForwardPacked, as Ops.Conv2dRelu), or with the 2×2 max pool
    /// after it (Backend.Conv2dForwardPackedReluMaxPool, as Ops.Conv2dReluMaxPool), into workspace slot <paramref name="slot"/>.
    /// </summary>
    private static Tensor ConvRelu(FusedWorkspace ws, int slot, Tensor x, PackedConv2dWeight weight, Tensor bias, Conv2d layer, bool pool)
    {
        if (x.Shape[1] != weight.Geometry.C) throw new ArgumentException($"conv2d: input {x.Shape} has {x.Shape[1]} channels but the packed weight expects {weight.Geometry.C}");
        var g = weight.Geometry with
        {
            N = x.Shape[0], H = x.Shape[2], W = x.Shape[3],
            PadTop = layer.Padding.H, PadBottom = layer.Padding.H, PadLeft = layer.Padding.W, PadRight = layer.Padding.W,
        };
        if (!pool)
        {
            var y = ws.Get(slot, g.N, g.K, g.OutH, g.OutW);             // [N, K, OutH, OutW]
            x.Backend.Conv2dForwardPacked(x.Storage, weight, bias.Storage, y.Storage, g, relu: true);
            return y;
        }
        if (g.OutH < 2 || g.OutW < 2)
            throw new ArgumentException($"conv2d_relu_maxpool: the conv output {g.OutH}×{g.OutW} is too small for a 2×2 pool");
        var pooled = ws.Get(slot, g.N, g.K, g.OutH / 2, g.OutW / 2);    // [N, K, OutH/2, OutW/2]
        x.Backend.Conv2dForwardPackedReluMaxPool(x.Storage, weight, bias.Storage, pooled.Storage, g);
        return pooled;
    }

    /// <summary>[a | b] along the channels (Backend.CopyBlocks, as Ops.Concat) into workspace slot <paramref name="slot"/>.</summary>
    private static Tensor ConcatChannels(FusedWorkspace ws, int slot, Tensor a, Tensor b)
    {
        int n = a.Shape[0], ka = a.Shape[1], kb = b.Shape[1], oh = a.Shape[2], ow = a.Shape[3];
        if (b.Shape[0] != n || b.Shape[2] != oh || b.Shape[3] != ow)
            throw new ArgumentException($"concat along axis 1: shapes {a.Shape} and {b.Shape} differ outside the channels");
        var y = ws.Get(slot, n, ka + kb, oh, ow);                       // [N, Ka + Kb, OutH, OutW]
        int plane = oh * ow;
        a.Backend.CopyBlocks(a.Storage, 0, ka * plane, y.Storage, 0, (ka + kb) * plane, ka * plane, n);
        a.Backend.CopyBlocks(b.Storage, 0, kb * plane, y.Storage, ka * plane, (ka + kb) * plane, kb * plane, n);
        return y;
    }

    /// <summary>The folded 3×3 weights of conv2 … conv5 packed by their backend (Winograd panels on the fast CPU backend).</summary>
    private PackedConv2dWeight[] PackConvWeights(Tensor[] folded)
    {
        Conv2d[] layers = [Conv2, Conv3, Conv4, Conv5];
        return [.. layers.Select((layer, i) => ConvFolding.Pack(folded[4 + 2 * i], layer))]; // folded[4 + 2i]: [K, C, 3, 3]
    }
}
