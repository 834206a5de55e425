namespace SerEngine.Audio;

/// <summary>Window shapes for the STFT.</summary>
public enum WindowKind
{
    /// <summary>Hann: 0.5 − 0.5·cos(2πn/M) (torch.hann_window).</summary>
    Hann,
    /// <summary>Hamming: 0.54 − 0.46·cos(2πn/M) (torch.hamming_window).</summary>
    Hamming,
    /// <summary>All ones.</summary>
    Rectangular,
}

/// <summary>
/// Window functions exactly as torch computes them: for a periodic window of length N, M = N
/// (the symmetric window of length N + 1 without its last point); for a symmetric one, M = N − 1.
/// A window of length 1 is <c>[1]</c>.
/// </summary>
public static class Windows
{
    /// <summary>torch.hann_window(length, periodic).</summary>
    public static double[] Hann(int length, bool periodic = true) => Cosine(length, periodic, 0.5, 0.5);

    /// <summary>torch.hamming_window(length, periodic) with α = 0.54, β = 0.46.</summary>
    public static double[] Hamming(int length, bool periodic = true) => Cosine(length, periodic, 0.54, 0.46);

    /// <summary>A window of the given kind.</summary>
    public static double[] Create(WindowKind kind, int length, bool periodic = true) => kind switch
    {
        WindowKind.Hann => Hann(length, periodic),
        WindowKind.Hamming => Hamming(length, periodic),
        WindowKind.Rectangular => Enumerable.Repeat(1.0, CheckLength(length)).ToArray(),
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "unknown window"),
    };

    /// <summary>α − β·cos(2πn/M) for n = 0 .. length−1.</summary>
    private static double[] Cosine(int length, bool periodic, double alpha, double beta)
    {
        CheckLength(length);
        var w = new double[length]; // [length]
        if (length == 1)
        {
            w[0] = 1;
            return w;
        }
        double m = periodic ? length : length - 1;
        for (int n = 0; n < length; n++) w[n] = alpha - beta * Math.Cos(2 * Math.PI * n / m);
        return w;
    }

    private static int CheckLength(int length) =>
        length >= 0 ? length : throw new ArgumentOutOfRangeException(nameof(length), length, "window length must be >= 0");
}
