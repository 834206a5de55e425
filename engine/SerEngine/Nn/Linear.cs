using SerEngine.Backends;

namespace SerEngine.Nn;

/// <summary>y = x·Wᵀ + b over the last axis. Parameters <c>weight [out, in]</c>, <c>bias [out]</c>.</summary>
public sealed class Linear : Layer
{
    /// <summary>Creates the layer with PyTorch's default initialisation.</summary>
    public Linear(int inFeatures, int outFeatures, Generator rng, bool bias = true, Backend? backend = null)
    {
        InFeatures = inFeatures;
        OutFeatures = outFeatures;
        Weight = RegisterParameter("weight", Init.DefaultUniform(new Shape(outFeatures, inFeatures), inFeatures, rng, backend));
        if (bias) Bias = RegisterParameter("bias", Init.DefaultUniform(new Shape(outFeatures), inFeatures, rng, backend));
    }

    /// <summary>Input features.</summary>
    public int InFeatures { get; }

    /// <summary>Output features.</summary>
    public int OutFeatures { get; }

    /// <summary>[out, in]</summary>
    public Tensor Weight { get; }

    /// <summary>[out], or null.</summary>
    public Tensor? Bias { get; }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor x) => Ops.Linear(x, Weight, Bias);
}
