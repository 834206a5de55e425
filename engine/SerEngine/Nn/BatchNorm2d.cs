using SerEngine.Backends;

namespace SerEngine.Nn;

/// <summary>
/// Batch normalisation per channel of [N, C, H, W]. Parameters <c>weight</c>, <c>bias</c>;
/// buffers <c>running_mean</c>, <c>running_var</c> (PyTorch's names and defaults).
/// </summary>
public sealed class BatchNorm2d : Layer
{
    /// <summary>Creates the layer: weight 1, bias 0, running mean 0, running variance 1.</summary>
    public BatchNorm2d(int channels, float eps = 1e-5f, float momentum = 0.1f, Backend? backend = null)
    {
        Eps = eps;
        Momentum = momentum;
        Weight = RegisterParameter("weight", Tensor.Ones(new Shape(channels), backend));
        Bias = RegisterParameter("bias", Tensor.Zeros(new Shape(channels), backend));
        RunningMean = RegisterBuffer("running_mean", Tensor.Zeros(new Shape(channels), backend));
        RunningVar = RegisterBuffer("running_var", Tensor.Ones(new Shape(channels), backend));
    }

    /// <summary>Variance epsilon.</summary>
    public float Eps { get; }

    /// <summary>Running-statistics momentum.</summary>
    public float Momentum { get; }

    /// <summary>[C]</summary>
    public Tensor Weight { get; }

    /// <summary>[C]</summary>
    public Tensor Bias { get; }

    /// <summary>[C] running mean.</summary>
    public Tensor RunningMean { get; }

    /// <summary>[C] running (unbiased) variance.</summary>
    public Tensor RunningVar { get; }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor x) => Ops.BatchNorm2d(x, Weight, Bias, RunningMean, RunningVar, Training, Momentum, Eps);

    /// <summary>
    /// Batch normalisation of x [N, C, H, T] whose item i holds data only in its first
    /// <paramref name="validColumns"/>[i] columns (zero padding after): in training the batch mean and
    /// variance come from the valid positions alone, so how much padding a batch carries does not move
    /// the statistics. Eval mode, and a batch without padding, is <see cref="Forward(Tensor)"/>. The
    /// padded columns of the result are not zero; the caller masks them.
    /// </summary>
    public Tensor Forward(Tensor x, int[]? validColumns)
    {
        if (x.Rank != 4) throw new ArgumentException($"batchnorm2d: x must be [N, C, H, W], got {x.Shape}");
        int n = x.Shape[0], c = x.Shape[1], h = x.Shape[2], t = x.Shape[3];
        if (!Training || validColumns is null || validColumns.All(v => v >= t)) return Forward(x);
        if (validColumns.Length != n) throw new ArgumentException($"batchnorm2d: {validColumns.Length} valid lengths for a batch of {n}");
        long count = (long)h * validColumns.Sum(v => Math.Clamp(v, 0, t));   // valid values per channel
        if (count <= 1) throw new ArgumentException($"batchnorm2d: expected more than 1 valid value per channel when training, got input {x.Shape}");
        var keep = Masks.Columns(validColumns, t, x.Backend);                 // [N, 1, 1, T]
        var xm = Ops.Mul(x, keep);
        var mean = Ops.Scale(Ops.Sum(xm, [0, 2, 3], keepDim: true), 1f / count);            // [1, C, 1, 1]
        var centred = Ops.Mul(Ops.Sub(xm, mean), keep);                                     // [N, C, H, T], padding 0
        var variance = Ops.Scale(Ops.Sum(Ops.Square(centred), [0, 2, 3], keepDim: true), 1f / count); // biased, [1, C, 1, 1]
        var normed = Ops.Div(centred, Ops.Sqrt(Ops.AddScalar(variance, Eps)));
        var y = Ops.Add(Ops.Mul(normed, Weight.Reshape(1, c, 1, 1)), Bias.Reshape(1, c, 1, 1));
        UpdateRunning(mean.ToArray(), variance.ToArray(), count);
        return y;
    }

    // running = (1 − momentum)·running + momentum·batch, with the unbiased variance (PyTorch's rule)
    private void UpdateRunning(float[] mean, float[] biasedVar, long count)
    {
        var rm = RunningMean.ToArray();
        var rv = RunningVar.ToArray();
        float unbias = count / (float)(count - 1);
        for (int i = 0; i < rm.Length; i++)
        {
            rm[i] = (1 - Momentum) * rm[i] + Momentum * mean[i];
            rv[i] = (1 - Momentum) * rv[i] + Momentum * biasedVar[i] * unbias;
        }
        RunningMean.CopyFrom(rm);
        RunningVar.CopyFrom(rv);
    }
}
