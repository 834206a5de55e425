using SerEngine.Autograd;

namespace SerEngine;

// Batch normalisation per channel, PyTorch's nn.BatchNorm2d / F.batch_norm.
// Legend: N batch, C channels, H/W spatial, M = N·H·W values per channel.
// x, y [N, C, H, W]; weight, bias, runningMean, runningVar, mean, invStd [C].
// Training: mean and biased variance of the batch normalise; the running buffers (when given) are
// updated in place: running = (1 − momentum)·running + momentum·batch, with the UNBIASED variance.
// Eval: the running buffers normalise. y = (x − mean)·invStd·weight + bias.
// Backward (x̂ = (x − mean)·invStd): dbias = Σdy, dweight = Σdy·x̂;
// training dx = weight·invStd/M·(M·dy − Σdy − x̂·Σdy·x̂); eval dx = dy·weight·invStd.
public static partial class Ops
{
    /// <summary>
    /// Batch normalisation over x [N, C, H, W] per channel. Training: batch statistics, and the
    /// running buffers (when given) move by <paramref name="momentum"/> (unbiased variance). Eval:
    /// the running buffers normalise.
    /// </summary>
    public static Tensor BatchNorm2d(Tensor x, Tensor? weight, Tensor? bias, Tensor? runningMean, Tensor? runningVar,
        bool training, float momentum = 0.1f, float eps = 1e-5f)
    {
        RequireFloat("batchnorm2d", x, "x");
        if (x.Rank != 4) throw new ArgumentException($"batchnorm2d: x must be [N, C, H, W], got {x.Shape}");
        int n = x.Shape[0], c = x.Shape[1], hw = x.Shape[2] * x.Shape[3];
        var all = new List<Tensor> { x };
        foreach (var (t, what) in new[] { (weight, "weight"), (bias, "bias"), (runningMean, "running_mean"), (runningVar, "running_var") })
        {
            if (t is null) continue;
            RequireFloat("batchnorm2d", t, what);
            if (t.Rank != 1 || t.Size != c)
                throw new ArgumentException($"batchnorm2d: {what} must be [{c}] for input {x.Shape}, got {t.Shape}");
            all.Add(t);
        }
        var backend = SameBackend("batchnorm2d", [.. all]);
        if (!training && (runningMean is null || runningVar is null))
            throw new ArgumentException($"batchnorm2d: eval mode needs running_mean and running_var (input {x.Shape})");
        if (training && (long)n * hw <= 1)
            throw new ArgumentException($"batchnorm2d: expected more than 1 value per channel when training, got input {x.Shape}");
        var y = NewLike(backend, x.Shape);            // [N, C, H, W]
        var mean = NewLike(backend, new Shape(c));    // [C]
        var invStd = NewLike(backend, new Shape(c));  // [C]
        backend.BatchNorm2dForward(x.Storage, weight?.Storage, bias?.Storage, y.Storage, mean.Storage, invStd.Storage,
            runningMean?.Storage, runningVar?.Storage, n, c, hw, eps, momentum, training);
        if (training)
        {
            runningMean?.MarkModified();
            runningVar?.MarkModified();
        }
        // eval: the backend read the running buffers into mean/invStd, so later updates to them do not matter
        var inputs = new List<Tensor> { x };
        if (weight is not null) inputs.Add(weight);
        if (bias is not null) inputs.Add(bias);
        return Graph.Record("batchnorm2d", y, [.. inputs], dy =>
        {
            var be = dy.Backend;
            var dx = NewLike(be, x.Shape); // [N, C, H, W]
            var dw = weight is not null && weight.RequiresGrad ? NewLike(be, weight.Shape) : null; // [C]
            var db = bias is not null && bias.RequiresGrad ? NewLike(be, bias.Shape) : null;       // [C]
            be.BatchNorm2dBackward(dy.Storage, x.Storage, weight?.Storage, mean.Storage, invStd.Storage,
                dx.Storage, dw?.Storage, db?.Storage, n, c, hw, training);
            var grads = new List<Tensor?> { x.RequiresGrad ? dx : null };
            if (weight is not null) grads.Add(dw);
            if (bias is not null) grads.Add(db);
            return [.. grads];
        });
    }
}
