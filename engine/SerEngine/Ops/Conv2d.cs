using SerEngine.Autograd;
using SerEngine.Backends;

namespace SerEngine;

// 2-D convolution (cross-correlation, as PyTorch's nn.Conv2d with groups = 1).
// Legend: N batch, C input channels, K output channels, H/W input size, R/S kernel size,
// OutH/OutW output size. x [N, C, H, W], weight [K, C, R, S], bias [K], y [N, K, OutH, OutW].
// Output size: OutH = floor((H + padTop + padBottom − dilH·(R − 1) − 1) / strideH) + 1 (likewise W).
// Backward: dx = Conv2dBackwardInput(dy, w) (the adjoint: a transposed convolution),
// dw = Conv2dBackwardWeight(x, dy) (Σ over n, oh, ow of dy · input patch), dbias = Σ dy over N, OutH, OutW.
public static partial class Ops
{
    /// <summary>
    /// 2-D convolution (cross-correlation, as PyTorch): x [N, C, H, W], weight [K, C, R, S], bias [K]
    /// optional; padding may differ per side (top, bottom, left, right).
    /// </summary>
    public static Tensor Conv2d(Tensor x, Tensor weight, Tensor? bias,
        (int H, int W) stride, (int Top, int Bottom, int Left, int Right) padding, (int H, int W) dilation)
    {
        var (y, g) = Conv2dForwardOf(x, weight, bias, stride, padding, dilation, relu: false);
        Tensor[] inputs = bias is null ? [x, weight] : [x, weight, bias];
        return Graph.Record("conv2d", y, inputs, dy => Conv2dGrads(x, weight, bias, g, dy));
    }

    /// <summary>y [N, K, OutH, OutW] = conv2d(x, weight) + bias, rectified when <paramref name="relu"/> (Conv2dRelu.cs), and its geometry.</summary>
    private static (Tensor Y, Conv2dGeometry G) Conv2dForwardOf(Tensor x, Tensor weight, Tensor? bias,
        (int H, int W) stride, (int Top, int Bottom, int Left, int Right) padding, (int H, int W) dilation, bool relu)
    {
        var backend = bias is null ? SameBackend("conv2d", x, weight) : SameBackend("conv2d", x, weight, bias);
        RequireFloat("conv2d", weight, "weight");
        var g = Conv2dGeometryOf(x, weight.Shape, bias, stride, padding, dilation);
        var y = NewLike(backend, new Shape(g.N, g.K, g.OutH, g.OutW)); // [N, K, OutH, OutW]
        if (relu) backend.Conv2dForwardRelu(x.Storage, weight.Storage, bias?.Storage, y.Storage, g);
        else backend.Conv2dForward(x.Storage, weight.Storage, bias?.Storage, y.Storage, g);
        return (y, g);
    }

    /// <summary>dx, dw and dbias (null where not wanted) of a conv2d for the output gradient dy [N, K, OutH, OutW].</summary>
    private static Tensor?[] Conv2dGrads(Tensor x, Tensor weight, Tensor? bias, Conv2dGeometry g, Tensor dy)
    {
        var be = dy.Backend;
        Tensor? dx = null, dw = null, db = null;
        if (x.RequiresGrad)
        {
            dx = NewLike(be, x.Shape); // [N, C, H, W]
            be.Conv2dBackwardInput(dy.Storage, weight.Storage, dx.Storage, g);
        }
        if (weight.RequiresGrad)
        {
            dw = NewLike(be, weight.Shape); // [K, C, R, S]
            be.Conv2dBackwardWeight(x.Storage, dy.Storage, dw.Storage, g);
        }
        if (bias is not null && bias.RequiresGrad)
        {
            db = NewLike(be, bias.Shape); // [K] viewed as [1, K, 1, 1]
            be.SumTo(dy.Storage, dy.Shape, db.Storage, new Shape(1, g.K, 1, 1));
        }
        return bias is null ? [dx, dw] : [dx, dw, db];
    }

    /// <summary>2-D convolution with symmetric padding (PyTorch's <c>padding=(ph, pw)</c>).</summary>
    public static Tensor Conv2d(Tensor x, Tensor weight, Tensor? bias = null,
        (int H, int W)? stride = null, (int H, int W)? padding = null, (int H, int W)? dilation = null)
    {
        var p = padding ?? (0, 0);
        return Conv2d(x, weight, bias, stride ?? (1, 1), (p.H, p.H, p.W, p.W), dilation ?? (1, 1));
    }

    /// <summary>Checks the operands and settings of a conv2d call and returns its geometry.</summary>
    private static Conv2dGeometry Conv2dGeometryOf(Tensor x, Shape weight, Tensor? bias,
        (int H, int W) stride, (int Top, int Bottom, int Left, int Right) padding, (int H, int W) dilation)
    {
        RequireFloat("conv2d", x, "x");
        if (x.Rank != 4) throw new ArgumentException($"conv2d: x must be [N, C, H, W], got {x.Shape}");
        if (weight.Rank != 4) throw new ArgumentException($"conv2d: weight must be [K, C, R, S], got {weight}");
        if (x.Shape[1] != weight[1])
            throw new ArgumentException($"conv2d: input {x.Shape} has {x.Shape[1]} channels but weight {weight} expects {weight[1]}");
        int k = weight[0];
        if (bias is not null)
        {
            RequireFloat("conv2d", bias, "bias");
            if (bias.Rank != 1 || bias.Size != k)
                throw new ArgumentException($"conv2d: bias must be [{k}] for weight {weight}, got {bias.Shape}");
        }
        if (stride.H < 1 || stride.W < 1) throw new ArgumentException($"conv2d: stride must be positive, got ({stride.H}, {stride.W})");
        if (dilation.H < 1 || dilation.W < 1) throw new ArgumentException($"conv2d: dilation must be positive, got ({dilation.H}, {dilation.W})");
        if (padding.Top < 0 || padding.Bottom < 0 || padding.Left < 0 || padding.Right < 0)
            throw new ArgumentException($"conv2d: padding must be non-negative, got (top {padding.Top}, bottom {padding.Bottom}, left {padding.Left}, right {padding.Right})");
        if (weight[2] < 1 || weight[3] < 1 || k < 1)
            throw new ArgumentException($"conv2d: weight {weight} has an empty dimension");
        var g = new Conv2dGeometry(x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3], k, weight[2], weight[3],
            stride.H, stride.W, padding.Top, padding.Bottom, padding.Left, padding.Right, dilation.H, dilation.W);
        // the smallest input whose padded size still holds one dilated kernel window
        int minH = dilation.H * (g.R - 1) + 1 - padding.Top - padding.Bottom;
        int minW = dilation.W * (g.S - 1) + 1 - padding.Left - padding.Right;
        if (g.H < minH || g.W < minW)
            throw new ArgumentException($"conv2d: input {x.Shape} is too small for weight {weight} with this padding/dilation: " +
                $"the output would be empty; the input needs at least {Math.Max(minH, 1)}×{Math.Max(minW, 1)} (H×W), got {g.H}×{g.W}");
        return g;
    }
}
