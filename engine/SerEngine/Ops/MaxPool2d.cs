using SerEngine.Autograd;
using SerEngine.Backends;

namespace SerEngine;

// 2-D max pooling, PyTorch's nn.MaxPool2d (floor mode, dilation 1).
// Legend: N batch, C channels, H/W input size, OutH/OutW output size; x [N, C, H, W], y [N, C, OutH, OutW].
// Output size: OutH = floor((H + 2·padH − kernelH) / strideH) + 1; padded positions are −∞.
// The forward pass keeps the winner's index (argmax, Int32 [N, C, OutH, OutW]) and the backward pass
// routes each dy to it (overlapping windows accumulate).
public static partial class Ops
{
    /// <summary>Max pooling over x [N, C, H, W]; stride defaults to the kernel size, padding to 0.</summary>
    public static Tensor MaxPool2d(Tensor x, (int H, int W) kernel, (int H, int W)? stride = null, (int H, int W)? padding = null)
    {
        RequireFloat("maxpool2d", x, "x");
        if (x.Rank != 4) throw new ArgumentException($"maxpool2d: x must be [N, C, H, W], got {x.Shape}");
        var st = stride ?? kernel;
        var pad = padding ?? (0, 0);
        if (kernel.H < 1 || kernel.W < 1) throw new ArgumentException($"maxpool2d: kernel must be positive, got ({kernel.H}, {kernel.W})");
        if (st.H < 1 || st.W < 1) throw new ArgumentException($"maxpool2d: stride must be positive, got ({st.H}, {st.W})");
        if (pad.H < 0 || pad.W < 0 || 2 * pad.H > kernel.H || 2 * pad.W > kernel.W)
            throw new ArgumentException($"maxpool2d: padding ({pad.H}, {pad.W}) must be between 0 and half the kernel ({kernel.H}, {kernel.W})");
        var g = new Pool2dGeometry(x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3], kernel.H, kernel.W, st.H, st.W, pad.H, pad.W);
        int minH = kernel.H - 2 * pad.H, minW = kernel.W - 2 * pad.W;
        if (g.H < minH || g.W < minW)
            throw new ArgumentException($"maxpool2d: input {x.Shape} is too small for kernel ({kernel.H}, {kernel.W}) with padding ({pad.H}, {pad.W}): " +
                $"the input needs at least {minH}×{minW} (H×W), got {g.H}×{g.W}");
        var backend = x.Backend;
        var outShape = new Shape(g.N, g.C, g.OutH, g.OutW);
        var y = NewLike(backend, outShape);                             // [N, C, OutH, OutW]
        var argmax = Tensor.Empty(outShape, DType.Int32, backend);      // [N, C, OutH, OutW], h·W + w
        backend.MaxPool2dForward(x.Storage, y.Storage, argmax.Storage, g);
        return Graph.Record("maxpool2d", y, [x], dy =>
        {
            var dx = NewLike(dy.Backend, x.Shape); // [N, C, H, W]
            dy.Backend.MaxPool2dBackward(dy.Storage, argmax.Storage, dx.Storage, g);
            return [dx];
        });
    }
}
