using SerEngine.Autograd;
using SerEngine.Backends;

namespace SerEngine;

// MaxPool2d(ReLU(BatchNorm2d(x))) as one op, unmasked, the pool's stride = its kernel and no padding
// (FocusCalibrationNet's 2×2 pools after conv2 and conv3). Legend: x [N, C, H, W];
// y, argmax [N, C, OutH, OutW], OutH = ⌊H / kH⌋, OutW = ⌊W / kW⌋.
// The same float operations in the same order as Ops.BatchNorm2d, Relu and MaxPool2d
// (Backend.BatchNormReluMaxPool.cs), so the results are those of the separate ops bit for bit, without
// the rectified pre-pool map: in the backward a position gets dy only as its window's winner, where the
// rectifier's mask is y > 0 of the pooled value. inputBias, as in Ops.BatchNormRelu: a per-channel bias
// already in x (the convolution's, applied through a detached view) whose gradient Σ dx this op returns.
public static partial class Ops
{
    /// <summary>
    /// MaxPool2d(ReLU(BatchNorm2d(x)), kernel) (stride = kernel, no padding) as one op; <paramref name="inputBias"/> [C],
    /// when given, is a bias already added to x per channel (not added again) whose gradient Σ dx this op returns.
    /// </summary>
    public static Tensor BatchNormReluMaxPool(Tensor x, Tensor? weight, Tensor? bias, Tensor? runningMean, Tensor? runningVar,
        bool training, (int H, int W) kernel, float momentum = 0.1f, float eps = 1e-5f, Tensor? inputBias = null)
    {
        RequireFloat("batchnorm2d_relu_maxpool2d", x, "x");
        if (x.Rank != 4) throw new ArgumentException($"batchnorm2d_relu_maxpool2d: x must be [N, C, H, W], got {x.Shape}");
        int n = x.Shape[0], c = x.Shape[1], h = x.Shape[2], w = x.Shape[3];
        var all = new List<Tensor> { x };
        AddChannelVectors("batchnorm2d_relu_maxpool2d", x.Shape, c, all,
            (weight, "weight"), (bias, "bias"), (runningMean, "running_mean"), (runningVar, "running_var"), (inputBias, "input_bias"));
        var backend = SameBackend("batchnorm2d_relu_maxpool2d", [.. all]);
        if (!training && (runningMean is null || runningVar is null))
            throw new ArgumentException($"batchnorm2d_relu_maxpool2d: eval mode needs running_mean and running_var (input {x.Shape})");
        if (training && (long)n * h * w <= 1)
            throw new ArgumentException($"batchnorm2d_relu_maxpool2d: expected more than 1 value per channel when training, got input {x.Shape}");
        if (kernel.H < 1 || kernel.W < 1 || h < kernel.H || w < kernel.W)
            throw new ArgumentException($"batchnorm2d_relu_maxpool2d: kernel ({kernel.H}, {kernel.W}) must be positive and fit input {x.Shape}");
        var g = new Pool2dGeometry(n, c, h, w, kernel.H, kernel.W, kernel.H, kernel.W, 0, 0);
        var outShape = new Shape(n, c, g.OutH, g.OutW);
        var y = NewLike(backend, outShape);                        // [N, C, OutH, OutW]
        var argmax = Tensor.Empty(outShape, DType.Int32, backend); // [N, C, OutH, OutW], h·W + w
        var mean = NewLike(backend, new Shape(c));                 // [C]
        var invStd = NewLike(backend, new Shape(c));               // [C]
        backend.BatchNorm2dReluMaxPoolForward(x.Storage, weight?.Storage, bias?.Storage, y.Storage, argmax.Storage,
            mean.Storage, invStd.Storage, runningMean?.Storage, runningVar?.Storage, g, eps, momentum, training);
        if (training)
        {
            runningMean?.MarkModified();
            runningVar?.MarkModified();
        }
        var inputs = new List<Tensor> { x };
        if (weight is not null) inputs.Add(weight);
        if (bias is not null) inputs.Add(bias);
        if (inputBias is not null) inputs.Add(inputBias);
        return Graph.Record("batchnorm2d_relu_maxpool2d", y, [.. inputs], dy =>
        {
            var be = dy.Backend;
            var dx = NewLike(be, x.Shape); // [N, C, H, W]
            var dw = weight is not null && weight.RequiresGrad ? NewLike(be, weight.Shape) : null; // [C]
            var db = bias is not null && bias.RequiresGrad ? NewLike(be, bias.Shape) : null;       // [C]
            var dib = inputBias is not null && inputBias.RequiresGrad ? NewLike(be, inputBias.Shape) : null; // [C] = Σ dx
            be.BatchNorm2dReluMaxPoolBackward(dy.Storage, y.Storage, argmax.Storage, x.Storage, weight?.Storage,
                mean.Storage, invStd.Storage, dx.Storage, dw?.Storage, db?.Storage, g, training, dib?.Storage);
            var grads = new List<Tensor?> { x.RequiresGrad ? dx : null };
            if (weight is not null) grads.Add(dw);
            if (bias is not null) grads.Add(db);
            if (inputBias is not null) grads.Add(dib);
            return [.. grads];
        });
    }
}
