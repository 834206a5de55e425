using SerEngine.Autograd;
using SerEngine.Backends;

namespace SerEngine;

// ReLU(BatchNorm2d(x)) as one op, optionally with BatchNorm2d's column mask; several inputs give their results side by side along the
// channel axis (the concat of the branches), each normalised with its own parameters and buffers.
// Legend: x_i [N, C_i, H, W]; y [N, ΣC_i, H, W], input i at channels offset_i = ΣC_j (j < i).
// The same float operations in the same order as Ops.BatchNorm2d, Relu and Concat (Backend.BatchNormRelu.cs),
// so the results are those of the separate ops bit for bit; the fast CPU backend runs each in one pass
// per channel and writes the concat in place. Backward: dy where y > 0 (the rectifier's mask), then
// BatchNorm2d's backward per input. An input's InputBias (a per-channel bias already in x, such as the
// convolution's before it, applied there through a detached view) gets its gradient Σ dx here, summed
// in SumTo's order as dx is written, so the convolution's own SumTo pass over dx is not needed.
public static partial class Ops
{
    /// <summary>One input of <see cref="BatchNormRelu(IReadOnlyList{BatchNormReluInput}, bool)"/>: x [N, C, H, W] and its BatchNorm2d settings.</summary>
    /// <param name="X">x [N, C, H, W].</param>
    /// <param name="Weight">[C] or null (1).</param>
    /// <param name="Bias">[C] or null (0).</param>
    /// <param name="RunningMean">[C] or null; moves toward the batch mean in training, normalises in eval.</param>
    /// <param name="RunningVar">[C] or null; moves toward the unbiased batch variance in training.</param>
    /// <param name="Momentum">Running-buffer momentum.</param>
    /// <param name="Eps">Variance epsilon.</param>
    /// <param name="InputBias">[C] or null: a bias already added to x per channel (not added again) whose gradient Σ dx this op returns.</param>
    public readonly record struct BatchNormReluInput(Tensor X, Tensor? Weight, Tensor? Bias, Tensor? RunningMean, Tensor? RunningVar,
        float Momentum = 0.1f, float Eps = 1e-5f, Tensor? InputBias = null);

    /// <summary>ReLU(BatchNorm2d(x)) (<see cref="BatchNorm2d"/> unmasked, then <see cref="Relu"/>), as one op.</summary>
    public static Tensor BatchNormRelu(Tensor x, Tensor? weight, Tensor? bias, Tensor? runningMean, Tensor? runningVar,
        bool training, float momentum = 0.1f, float eps = 1e-5f) =>
        BatchNormRelu([new BatchNormReluInput(x, weight, bias, runningMean, runningVar, momentum, eps)], training);

    /// <summary>
    /// Concat([ReLU(BatchNorm2d(x_i))], axis 1) as one op: each input normalised with its own parameters
    /// and running buffers, all written into one [N, ΣC_i, H, W] result.
    /// </summary>
    public static Tensor BatchNormRelu(IReadOnlyList<BatchNormReluInput> inputs, bool training) => BatchNormRelu(inputs, training, null);

    /// <summary>
    /// <see cref="BatchNormRelu(IReadOnlyList{BatchNormReluInput}, bool)"/> with <see cref="BatchNorm2d"/>'s column mask:
    /// item i holds data in its columns w &lt; validColumns[i] (of W); the statistics skip the others, where y and dx are 0.
    /// </summary>
    public static Tensor BatchNormRelu(IReadOnlyList<BatchNormReluInput> inputs, bool training, int[]? validColumns)
    {
        if (inputs.Count == 0) throw new ArgumentException("batchnorm2d_relu: no inputs");
        var first = inputs[0].X;
        int n = first.Rank == 4 ? first.Shape[0] : 0, h = first.Rank == 4 ? first.Shape[2] : 0, w = first.Rank == 4 ? first.Shape[3] : 0;
        var all = new List<Tensor>();
        int total = 0;
        foreach (var p in inputs)
        {
            RequireFloat("batchnorm2d_relu", p.X, "x");
            if (p.X.Rank != 4 || p.X.Shape[0] != n || p.X.Shape[2] != h || p.X.Shape[3] != w)
                throw new ArgumentException($"batchnorm2d_relu: every x must be [N, C, H, W] with the first's N, H and W, got {p.X.Shape} and {first.Shape}");
            int c = p.X.Shape[1];
            all.Add(p.X);
            AddChannelVectors("batchnorm2d_relu", p.X.Shape, c, all,
                (p.Weight, "weight"), (p.Bias, "bias"), (p.RunningMean, "running_mean"), (p.RunningVar, "running_var"), (p.InputBias, "input_bias"));
            if (!training && (p.RunningMean is null || p.RunningVar is null))
                throw new ArgumentException($"batchnorm2d_relu: eval mode needs running_mean and running_var (input {p.X.Shape})");
            total += c;
        }
        if (validColumns is not null && validColumns.Length != n)
            throw new ArgumentException($"batchnorm2d_relu: {validColumns.Length} valid column counts for input {first.Shape}");
        // a mask that keeps every column is no mask: the unmasked launches, bit for bit (as Ops.BatchNorm2d)
        int[]? valid = validColumns is null || validColumns.All(v => v >= w) ? null : BatchNorm2dMask.Clamped(validColumns, w);
        if (training && BatchNorm2dMask.Count(valid, n, h * w, w) <= 1)
            throw new ArgumentException($"batchnorm2d_relu: expected more than 1 {(valid is null ? "" : "valid ")}value per channel when training, got input {first.Shape}");
        var backend = SameBackend("batchnorm2d_relu", [.. all]);
        int hw = h * w;
        var y = NewLike(backend, new Shape(n, total, h, w)); // [N, ΣC, H, W]
        var stats = new (Tensor Mean, Tensor InvStd)[inputs.Count];
        int offset = 0;
        var offsets = new int[inputs.Count];
        for (int i = 0; i < inputs.Count; i++)
        {
            var p = inputs[i];
            int c = p.X.Shape[1];
            var mean = NewLike(backend, new Shape(c));   // [C]
            var invStd = NewLike(backend, new Shape(c)); // [C]
            backend.BatchNorm2dReluForward(p.X.Storage, p.Weight?.Storage, p.Bias?.Storage, y.Storage, total, offset,
                mean.Storage, invStd.Storage, p.RunningMean?.Storage, p.RunningVar?.Storage, n, c, hw, p.Eps, p.Momentum, training, valid, w);
            if (training)
            {
                p.RunningMean?.MarkModified();
                p.RunningVar?.MarkModified();
            }
            stats[i] = (mean, invStd);
            offsets[i] = offset;
            offset += c;
        }
        var graphInputs = new List<Tensor>();
        foreach (var p in inputs)
        {
            graphInputs.Add(p.X);
            if (p.Weight is not null) graphInputs.Add(p.Weight);
            if (p.Bias is not null) graphInputs.Add(p.Bias);
            if (p.InputBias is not null) graphInputs.Add(p.InputBias);
        }
        return Graph.Record("batchnorm2d_relu", y, [.. graphInputs], dy =>
        {
            var be = dy.Backend;
            var grads = new List<Tensor?>();
            for (int i = 0; i < inputs.Count; i++)
            {
                var p = inputs[i];
                int c = p.X.Shape[1];
                var dx = NewLike(be, p.X.Shape); // [N, C, H, W]
                var dw = p.Weight is not null && p.Weight.RequiresGrad ? NewLike(be, p.Weight.Shape) : null; // [C]
                var db = p.Bias is not null && p.Bias.RequiresGrad ? NewLike(be, p.Bias.Shape) : null;       // [C]
                var dib = p.InputBias is not null && p.InputBias.RequiresGrad ? NewLike(be, p.InputBias.Shape) : null; // [C] = Σ dx
                be.BatchNorm2dReluBackward(dy.Storage, y.Storage, total, offsets[i], p.X.Storage, p.Weight?.Storage,
                    stats[i].Mean.Storage, stats[i].InvStd.Storage, dx.Storage, dw?.Storage, db?.Storage, n, c, hw, training, dib?.Storage, valid, w);
                grads.Add(p.X.RequiresGrad ? dx : null);
                if (p.Weight is not null) grads.Add(dw);
                if (p.Bias is not null) grads.Add(db);
                if (p.InputBias is not null) grads.Add(dib);
            }
            return [.. grads];
        });
    }
}
