using SerEngine.Backends;

namespace SerEngine.Nn;

/// <summary>2-D convolution layer. Parameters <c>weight [out, in, kh, kw]</c>, <c>bias [out]</c>.</summary>
public sealed class Conv2d : Layer
{
    /// <summary>Creates the layer with PyTorch's default initialisation; padding is symmetric (ph, pw).</summary>
    public Conv2d(int inChannels, int outChannels, (int H, int W) kernel, Generator rng,
        (int H, int W)? stride = null, (int H, int W)? padding = null, (int H, int W)? dilation = null,
        bool bias = true, Backend? backend = null)
    {
        Stride = stride ?? (1, 1);
        Padding = padding ?? (0, 0);
        Dilation = dilation ?? (1, 1);
        Kernel = kernel;
        int fanIn = inChannels * kernel.H * kernel.W;
        Weight = RegisterParameter("weight", Init.DefaultUniform(new Shape(outChannels, inChannels, kernel.H, kernel.W), fanIn, rng, backend));
        if (bias) Bias = RegisterParameter("bias", Init.DefaultUniform(new Shape(outChannels), fanIn, rng, backend));
    }

    /// <summary>Kernel size.</summary>
    public (int H, int W) Kernel { get; }

    /// <summary>Stride.</summary>
    public (int H, int W) Stride { get; }

    /// <summary>Symmetric padding.</summary>
    public (int H, int W) Padding { get; }

    /// <summary>Dilation.</summary>
    public (int H, int W) Dilation { get; }

    /// <summary>[out, in, kh, kw]</summary>
    public Tensor Weight { get; }

    /// <summary>[out], or null.</summary>
    public Tensor? Bias { get; }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor x) => Ops.Conv2d(x, Weight, Bias, Stride, Padding, Dilation);

    /// <summary>
    /// <see cref="Forward"/> with the bias applied through a detached view: the same output, and no bias gradient from
    /// this op, for a following op that returns it itself (the InputBias of <see cref="Ops.BatchNormRelu(IReadOnlyList{Ops.BatchNormReluInput}, bool)"/>).
    /// </summary>
    public Tensor ForwardBiasDetached(Tensor x) => Ops.Conv2d(x, Weight, Bias?.Detach(), Stride, Padding, Dilation);

    /// <summary>Output length along one axis: floor((in + 2p − d(k−1) − 1)/s) + 1.</summary>
    public static int OutputSize(int input, int kernel, int stride, int padding, int dilation = 1) =>
        (input + 2 * padding - dilation * (kernel - 1) - 1) / stride + 1;
}
