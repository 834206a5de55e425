namespace SerEngine.Models.Data;

/// <summary>
/// Derives independent seeds from one seed and a path of numbers (fold, purpose, index), so every
/// source of randomness in a run is its own <see cref="Generator"/> and a run is reproducible from
/// <c>--seed</c> alone.
/// </summary>
public static class Seeds
{
    /// <summary>A seed for <paramref name="parts"/> under <paramref name="seed"/> (SplitMix64 chaining).</summary>
    public static ulong Derive(ulong seed, params ReadOnlySpan<ulong> parts)
    {
        ulong h = Mix(seed ^ 0x5E55_EED0_0000_0001UL);
        foreach (var p in parts) h = Mix(h ^ Mix(p + 0x9E3779B97F4A7C15UL));
        return h;
    }

    /// <summary>A generator for <paramref name="parts"/> under <paramref name="seed"/>.</summary>
    public static Generator Generator(ulong seed, params ReadOnlySpan<ulong> parts) => new(Derive(seed, parts));

    private static ulong Mix(ulong z)
    {
        z += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
