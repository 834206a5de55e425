using SerEngine.Autograd;
using SerEngine.Backends;

namespace SerEngine;

// Batch normalisation per channel, PyTorch's nn.BatchNorm2d / F.batch_norm.
// Legend: N batch, C channels, H/W spatial, M = N·H·W values per channel.
// x, y [N, C, H, W]; weight, bias, runningMean, runningVar, mean, invStd [C].
// Training: mean and biased variance of the batch normalise; the running buffers (when given) are
// updated in place: running = (1 − momentum)·running + momentum·batch, with the UNBIASED variance.
// Eval: the running buffers normalise. y = (x − mean)·invStd·weight + bias.
// Backward (x̂ = (x − mean)·invStd): dbias = Σdy, dweight = Σdy·x̂;
// training dx = weight·invStd/M·(M·dy − Σdy − x̂·Σdy·x̂); eval dx = dy·weight·invStd.
// Masked (validColumns [N]: item i holds data in its columns w < validColumns[i], zero padding after):
// M = H·Σvalid and every Σ runs over the valid positions only; y and dx are 0 at the padded ones (in
// eval mode too), and dy there is ignored.
public static partial class Ops
{
    /// <summary>
    /// Batch normalisation over x [N, C, H, W] per channel. Training: batch statistics, and the
    /// running buffers (when given) move by <paramref name="momentum"/> (unbiased variance). Eval:
    /// the running buffers normalise. With <paramref name="validColumns"/> (one count per item): item i
    /// holds data only in its columns w &lt; validColumns[i]; the training statistics (and the running
    /// update, count H·Σvalid) come from those positions alone, and y is 0 at the others (eval mode
    /// too). Null, or every count ≥ W, is the unmasked op.
    /// </summary>
    public static Tensor BatchNorm2d(Tensor x, Tensor? weight, Tensor? bias, Tensor? runningMean, Tensor? runningVar,
        bool training, float momentum = 0.1f, float eps = 1e-5f, int[]? validColumns = null)
    {
        RequireFloat("batchnorm2d", x, "x");
        if (x.Rank != 4) throw new ArgumentException($"batchnorm2d: x must be [N, C, H, W], got {x.Shape}");
        int n = x.Shape[0], c = x.Shape[1], hw = x.Shape[2] * x.Shape[3], w = x.Shape[3];
        if (validColumns is not null && validColumns.Length != n)
            throw new ArgumentException($"batchnorm2d: {validColumns.Length} valid column counts for input {x.Shape}");
        // a mask that keeps every column is no mask: the unmasked launches, bit for bit
        int[]? valid = validColumns is null || validColumns.All(v => v >= w) ? null : BatchNorm2dMask.Clamped(validColumns, w);
        var all = new List<Tensor> { x };
        AddChannelVectors("batchnorm2d", x.Shape, c, all, (weight, "weight"), (bias, "bias"), (runningMean, "running_mean"), (runningVar, "running_var"));
        var backend = SameBackend("batchnorm2d", [.. all]);
        if (!training && (runningMean is null || runningVar is null))
            throw new ArgumentException($"batchnorm2d: eval mode needs running_mean and running_var (input {x.Shape})");
        if (training && BatchNorm2dMask.Count(valid, n, hw, w) <= 1)
            throw new ArgumentException($"batchnorm2d: expected more than 1 {(valid is null ? "" : "valid ")}value per channel when training, got input {x.Shape}");
        var y = NewLike(backend, x.Shape);            // [N, C, H, W]
        var mean = NewLike(backend, new Shape(c));    // [C]
        var invStd = NewLike(backend, new Shape(c));  // [C]
        backend.BatchNorm2dForward(x.Storage, weight?.Storage, bias?.Storage, y.Storage, mean.Storage, invStd.Storage,
            runningMean?.Storage, runningVar?.Storage, n, c, hw, eps, momentum, training, valid, w);
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
                dx.Storage, dw?.Storage, db?.Storage, n, c, hw, training, valid, w);
            var grads = new List<Tensor?> { x.RequiresGrad ? dx : null };
            if (weight is not null) grads.Add(dw);
            if (bias is not null) grads.Add(db);
            return [.. grads];
        });
    }

    /// <summary>
    /// Checks each given per-channel tensor of a batch norm over x (float, [<paramref name="c"/>]) and adds it to
    /// <paramref name="all"/>; null ones are skipped. The batch-norm ops and their fused forms share it.
    /// </summary>
    private static void AddChannelVectors(string op, Shape xShape, int c, List<Tensor> all, params (Tensor? T, string What)[] vectors)
    {
        foreach (var (t, what) in vectors)
        {
            if (t is null) continue;
            RequireFloat(op, t, what);
            if (t.Rank != 1 || t.Size != c)
                throw new ArgumentException($"{op}: {what} must be [{c}] for input {xShape}, got {t.Shape}");
            all.Add(t);
        }
    }
}
