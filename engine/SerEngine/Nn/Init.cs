using SerEngine.Backends;

namespace SerEngine.Nn;

/// <summary>Parameter initialisers matching PyTorch's defaults for Linear and Conv2d.</summary>
public static class Init
{
    [ThreadStatic] private static int t_skipDepth;

    /// <summary>
    /// PyTorch's default for Linear/Conv weights and biases: kaiming_uniform with a = √5, which
    /// reduces to U(−1/√fanIn, 1/√fanIn). Zeros, with no draws, inside <see cref="SkipRandom"/>.
    /// </summary>
    public static Tensor DefaultUniform(Shape shape, int fanIn, Generator rng, Backend? backend = null)
    {
        if (t_skipDepth > 0) return Tensor.Zeros(shape, backend);
        float bound = fanIn > 0 ? 1f / MathF.Sqrt(fanIn) : 0f;
        return Tensor.RandomUniform(shape, rng, -bound, bound, backend);
    }

    /// <summary>N(0, <paramref name="std"/>²) samples; zeros, with no draws, inside <see cref="SkipRandom"/>.</summary>
    public static Tensor Normal(Shape shape, float std, Generator rng, Backend? backend = null) =>
        t_skipDepth > 0 ? Tensor.Zeros(shape, backend) : Tensor.RandomNormal(shape, rng, 0f, std, backend);

    /// <summary>
    /// Until the returned scope is disposed, parameters created on this thread start as zeros and
    /// draw nothing from their generator: for a network whose every parameter is about to be loaded
    /// (a checkpoint), so building it costs no random numbers.
    /// </summary>
    public static IDisposable SkipRandom()
    {
        t_skipDepth++;
        return new SkipScope();
    }

    private sealed class SkipScope : IDisposable
    {
        private bool _disposed;

        public void Dispose()
        {
            if (_disposed) return;
            _disposed = true;
            t_skipDepth--;
        }
    }
}
