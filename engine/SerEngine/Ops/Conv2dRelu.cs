using SerEngine.Autograd;

namespace SerEngine;

// Conv2d followed by ReLU as one primitive call (Backend.Conv2dForwardRelu): the fast CPU backend
// applies bias and the rectifier while it stores each output tile, so the feature map is written once.
// Shapes as in Conv2d.cs: x [N, C, H, W], weight [K, C, R, S], bias [K], y [N, K, OutH, OutW].
// Backward: the ReLU mask (y > 0, the same as pre-activation > 0) applied to dy, then conv2d's backward.
// The form with a PackedConv2dWeight (Backend.PackConv2dWeight: filters kept in the backend's kernel
// layout, e.g. Winograd panels) is for inference and records no gradient.
public static partial class Ops
{
    /// <summary>ReLU(conv2d(x, weight) + bias), with padding per side (top, bottom, left, right).</summary>
    public static Tensor Conv2dRelu(Tensor x, Tensor weight, Tensor? bias,
        (int H, int W) stride, (int Top, int Bottom, int Left, int Right) padding, (int H, int W) dilation)
    {
        var (y, g) = Conv2dForwardOf(x, weight, bias, stride, padding, dilation, relu: true); // [N, K, OutH, OutW]
        Tensor[] inputs = bias is null ? [x, weight] : [x, weight, bias];
        return Graph.Record("conv2d_relu", y, inputs, dy =>
        {
            var masked = NewLike(dy.Backend, dy.Shape); // [N, K, OutH, OutW] = dy where y > 0
            dy.Backend.UnaryBackward(Backends.UnaryOp.Relu, y.Storage, y.Storage, dy.Storage, masked.Storage, dy.Size, 0f);
            return Conv2dGrads(x, weight, bias, g, masked);
        });
    }

    /// <summary>
    /// ReLU(conv2d(x, weight) + bias) with filters packed by <see cref="Backends.Backend.PackConv2dWeight"/>
    /// (their stride and dilation; padding per side as given), for inference: no gradient is recorded.
    /// </summary>
    /// <exception cref="InvalidOperationException">gradients are being recorded and x or bias requires one.</exception>
    public static Tensor Conv2dRelu(Tensor x, Backends.PackedConv2dWeight weight, Tensor? bias, (int Top, int Bottom, int Left, int Right) padding)
    {
        var p = weight.Geometry;
        if (Graph.IsGradEnabled && (x.RequiresGrad || bias?.RequiresGrad == true))
            throw new InvalidOperationException("conv2d_relu with a packed weight records no gradient: call it without gradient tracking (Graph.NoGrad) or with the weight as a tensor");
        var backend = bias is null ? SameBackend("conv2d", x) : SameBackend("conv2d", x, bias);
        if (!ReferenceEquals(weight.Backend, backend))
            throw new ArgumentException($"conv2d: the packed weight belongs to backend {weight.Backend.Name}, the input to {backend.Name}");
        var g = Conv2dGeometryOf(x, new Shape(p.K, p.C, p.R, p.S), bias, (p.StrideH, p.StrideW), padding, (p.DilationH, p.DilationW));
        var y = NewLike(backend, new Shape(g.N, g.K, g.OutH, g.OutW)); // [N, K, OutH, OutW]
        backend.Conv2dForwardPacked(x.Storage, weight, bias?.Storage, y.Storage, g, relu: true);
        return y;
    }
}
