using SerEngine.Autograd;

namespace SerEngine;

// Conv2d followed by ReLU as one primitive call (Backend.Conv2dForwardRelu): the fast CPU backend
// applies bias and the rectifier while it stores each output tile, so the feature map is written once.
// Shapes as in Conv2d.cs: x [N, C, H, W], weight [K, C, R, S], bias [K], y [N, K, OutH, OutW].
// Backward: the ReLU mask (y > 0, the same as pre-activation > 0) applied to dy, then conv2d's backward.
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
}
