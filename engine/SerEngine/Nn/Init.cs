using SerEngine.Backends;

namespace SerEngine.Nn;

/// <summary>Parameter initialisers matching PyTorch's defaults for Linear and Conv2d.</summary>
public static class Init
{
    /// <summary>
    /// PyTorch's default for Linear/Conv weights and biases: kaiming_uniform with a = √5, which
    /// reduces to U(−1/√fanIn, 1/√fanIn).
    /// </summary>
    public static Tensor DefaultUniform(Shape shape, int fanIn, Generator rng, Backend? backend = null)
    {
        float bound = fanIn > 0 ? 1f / MathF.Sqrt(fanIn) : 0f;
        return Tensor.RandomUniform(shape, rng, -bound, bound, backend);
    }
}
