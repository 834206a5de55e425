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
    /// ReLU(BatchNorm2d(x)) as one op (<see cref="Ops.BatchNormRelu(IReadOnlyList{Ops.BatchNormReluInput}, bool)"/>): the same numbers as
    /// <c>Forward(x).Relu()</c>; <paramref name="inputBias"/>, a bias already in x per channel, gets its gradient from this op.
    /// </summary>
    public Tensor ForwardRelu(Tensor x, Tensor? inputBias = null) => Ops.BatchNormRelu([ReluInput(x, inputBias)], Training);

    /// <summary>
    /// MaxPool2d(ReLU(BatchNorm2d(x)), kernel) with stride = kernel as one op (<see cref="Ops.BatchNormReluMaxPool"/>): the same numbers as
    /// <c>Ops.MaxPool2d(Forward(x).Relu(), kernel)</c>; <paramref name="inputBias"/> as in <see cref="ForwardRelu(Tensor, Tensor)"/>.
    /// </summary>
    public Tensor ForwardReluMaxPool(Tensor x, (int H, int W) kernel, Tensor? inputBias = null) =>
        Ops.BatchNormReluMaxPool(x, Weight, Bias, RunningMean, RunningVar, Training, kernel, Momentum, Eps, inputBias);

    /// <summary>This layer applied to <paramref name="x"/>, as one input of the channel-concatenating <see cref="Ops.BatchNormRelu(IReadOnlyList{Ops.BatchNormReluInput}, bool)"/>.</summary>
    public Ops.BatchNormReluInput ReluInput(Tensor x, Tensor? inputBias = null) => new(x, Weight, Bias, RunningMean, RunningVar, Momentum, Eps, inputBias);

    /// <summary>
    /// Batch normalisation of x [N, C, H, T] whose item i holds data only in its first
    /// <paramref name="validColumns"/>[i] columns (zero padding after): in training the batch mean and
    /// variance come from the valid positions alone, so how much padding a batch carries does not move
    /// the statistics. The padded columns of the result are 0 (eval mode too). One fused op
    /// (<see cref="Ops.BatchNorm2d"/> with its mask); null, or no padding, is <see cref="Forward(Tensor)"/>.
    /// </summary>
    public Tensor Forward(Tensor x, int[]? validColumns) =>
        Ops.BatchNorm2d(x, Weight, Bias, RunningMean, RunningVar, Training, Momentum, Eps, validColumns);

    /// <summary>
    /// ReLU(<see cref="Forward(Tensor, int[])"/>) as one op (<see cref="Ops.BatchNormRelu(IReadOnlyList{Ops.BatchNormReluInput}, bool, int[])"/>
    /// with the mask): the bits of the masked batch norm followed by <see cref="Ops.Relu"/>, without the pass of its own.
    /// </summary>
    public Tensor ForwardRelu(Tensor x, int[]? validColumns) => Ops.BatchNormRelu([ReluInput(x)], Training, validColumns);
}
