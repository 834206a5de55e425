using SerEngine.Autograd;

namespace SerEngine;

// Inverted dropout: y = x · mask, mask = 0 with probability p, else 1/(1−p), drawn by the backend
// from a counter-based generator keyed by a seed (same mask on every backend). Identity when not
// training or p = 0. Backward: dx = dy · mask.
public static partial class Ops
{
    /// <summary>Dropout with probability <paramref name="p"/>; the seed comes from <paramref name="rng"/>.</summary>
    public static Tensor Dropout(Tensor x, float p, bool training, Generator rng)
    {
        if (p < 0f || p >= 1f) throw new ArgumentOutOfRangeException(nameof(p), $"dropout probability must be in [0, 1), got {p}");
        if (!training || p == 0f) return x;
        var mask = NewLike(x.Backend, x.Shape);
        x.Backend.DropoutMask(mask.Storage, x.Size, p, rng.NextUInt64());
        return Mul(x, mask);
    }
}
