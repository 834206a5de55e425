using SerEngine.Autograd;

namespace SerEngine;

// Conv2d, ReLU and a 2×2 max pool (stride 2, floor mode) as one primitive call for inference
// (Backend.Conv2dForwardPackedReluMaxPool): the fast CPU backend's Winograd path pools each 2×2 output
// tile as it stores it, so the full-size feature map and the pool's argmax are never written.
// Shapes: x [N, C, H, W], packed weight [K, C, R, S], bias [K], y [N, K, ⌊OutH/2⌋, ⌊OutW/2⌋]
// (OutH, OutW the convolution's output size). The values equal MaxPool2d(Conv2dRelu(x, …), (2, 2)):
// bias and ReLU are monotone, so pooling before or after them picks the same output.
public static partial class Ops
{
    /// <summary>
    /// MaxPool2d(ReLU(conv2d(x, weight) + bias), (2, 2)) with filters packed by <see cref="Backends.Backend.PackConv2dWeight"/>
    /// (their stride and dilation; padding per side as given), for inference: no gradient is recorded.
    /// </summary>
    /// <exception cref="InvalidOperationException">gradients are being recorded and x or bias requires one.</exception>
    public static Tensor Conv2dReluMaxPool(Tensor x, Backends.PackedConv2dWeight weight, Tensor? bias, (int Top, int Bottom, int Left, int Right) padding)
    {
        var p = weight.Geometry;
        if (Graph.IsGradEnabled && (x.RequiresGrad || bias?.RequiresGrad == true))
            throw new InvalidOperationException("conv2d_relu_maxpool with a packed weight records no gradient: call it without gradient tracking (Graph.NoGrad)");
        var backend = bias is null ? SameBackend("conv2d", x) : SameBackend("conv2d", x, bias);
        if (!ReferenceEquals(weight.Backend, backend))
            throw new ArgumentException($"conv2d: the packed weight belongs to backend {weight.Backend.Name}, the input to {backend.Name}");
        var g = Conv2dGeometryOf(x, new Shape(p.K, p.C, p.R, p.S), bias, (p.StrideH, p.StrideW), padding, (p.DilationH, p.DilationW));
        if (g.OutH < 2 || g.OutW < 2)
            throw new ArgumentException($"conv2d_relu_maxpool: the conv output {g.OutH}×{g.OutW} is too small for a 2×2 pool");
        var y = NewLike(backend, new Shape(g.N, g.K, g.OutH / 2, g.OutW / 2)); // [N, K, OutH/2, OutW/2]
        backend.Conv2dForwardPackedReluMaxPool(x.Storage, weight, bias?.Storage, y.Storage, g);
        return y;
    }
}
