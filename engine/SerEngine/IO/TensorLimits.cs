using System.Globalization;

namespace SerEngine.IO;

/// <summary>
/// What a weights reader accepts of a tensor before it copies the tensor out of the file: at most
/// <see cref="MaxElements"/> elements (never more than <see cref="HardMaxElements"/>), and for the
/// names <see cref="ExpectedShape"/> knows, that rank and those dimensions (-1 matches any size).
/// A caller that knows which tensors it loads passes them here, so a hostile header is refused
/// before anything is materialised.
/// </summary>
public sealed class TensorLimits
{
    /// <summary>No tensor read from a file may have more elements than this (2^28: 1 GiB of float32).</summary>
    public const long HardMaxElements = 1L << 28;

    private readonly long _maxElements = HardMaxElements;

    /// <summary>The hard cap and no expected shapes.</summary>
    public static TensorLimits Default { get; } = new();

    /// <summary>The most elements one tensor may have, in [0, <see cref="HardMaxElements"/>].</summary>
    public long MaxElements
    {
        get => _maxElements;
        init => _maxElements = value is >= 0 and <= HardMaxElements
            ? value
            : throw new ArgumentOutOfRangeException(nameof(MaxElements), value, $"must be in [0, {HardMaxElements}]");
    }

    /// <summary>
    /// The shape a tensor called <c>name</c> must have (a dimension of -1 matches any size), or null
    /// when the name is not one the caller loads (then only <see cref="MaxElements"/> applies).
    /// </summary>
    public Func<string, int[]?>? ExpectedShape { get; init; }

    /// <summary>
    /// Null when a tensor <paramref name="name"/> of <paramref name="shape"/> is acceptable; else what
    /// is wrong, e.g. "shape (16384, 16384), expected (*, *, 11, 11)". The element count is computed
    /// in checked long arithmetic (an overflow is reported, not wrapped).
    /// </summary>
    public string? Check(string name, IReadOnlyList<long> shape)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(shape);
        if (ExpectedShape?.Invoke(name) is { } expected && !Matches(shape, expected))
            return $"shape {Format(shape)}, expected {Format(expected)}";
        long count = 1;
        foreach (long d in shape)
        {
            if (d < 0) return $"shape {Format(shape)} has a negative dimension";
            if (d == 0) return null;
        }
        foreach (long d in shape)
        {
            if (d > MaxElements || count > MaxElements / d)
                return string.Create(CultureInfo.InvariantCulture, $"shape {Format(shape)} has more than {MaxElements} elements (the limit for one tensor)");
            count = checked(count * d);
        }
        return null;
    }

    private static bool Matches(IReadOnlyList<long> shape, int[] expected)
    {
        if (shape.Count != expected.Length) return false;
        for (int i = 0; i < expected.Length; i++)
            if (expected[i] >= 0 && shape[i] != expected[i]) return false;
        return true;
    }

    /// <summary>A shape as messages print it: "(2, 3)"; -1 in an expected shape prints as "*".</summary>
    public static string Format(IEnumerable<long> dims) =>
        "(" + string.Join(", ", dims.Select(d => d < 0 ? "*" : d.ToString(CultureInfo.InvariantCulture))) + ")";

    /// <summary>An expected shape as messages print it (see <see cref="Format(IEnumerable{long})"/>).</summary>
    public static string Format(IEnumerable<int> dims) => Format(dims.Select(d => (long)d));
}
