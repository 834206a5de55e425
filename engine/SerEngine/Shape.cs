using System.Collections;
using System.Text;

namespace SerEngine;

/// <summary>
/// The dimensions of a row-major tensor. Immutable; compares by value; prints as <c>[2, 3, 4]</c>.
/// </summary>
public sealed class Shape : IEquatable<Shape>, IReadOnlyList<int>
{
    private readonly int[] _dims;

    /// <summary>Creates a shape from its dimensions (each ≥ 0).</summary>
    public Shape(params int[] dims)
    {
        ArgumentNullException.ThrowIfNull(dims);
        long size = 1;
        foreach (var d in dims)
        {
            if (d < 0) throw new ArgumentException($"shape {Format(dims)}: dimension {d} is negative");
            size *= d;
            if (size > int.MaxValue) throw new ArgumentException($"shape {Format(dims)} has more than {int.MaxValue} elements");
        }
        _dims = (int[])dims.Clone();
        Size = (int)size;
    }

    /// <summary>The scalar shape <c>[]</c> (one element).</summary>
    public static Shape Scalar { get; } = new();

    /// <summary>Number of dimensions.</summary>
    public int Rank => _dims.Length;

    /// <summary>Number of elements (product of the dimensions; 1 for a scalar).</summary>
    public int Size { get; }

    /// <summary>Number of dimensions (same as <see cref="Rank"/>).</summary>
    public int Count => _dims.Length;

    /// <summary>Dimension <paramref name="axis"/>; negative axes count from the end.</summary>
    public int this[int axis] => _dims[NormalizeAxis(axis)];

    /// <summary>A copy of the dimensions.</summary>
    public int[] ToArray() => (int[])_dims.Clone();

    /// <summary>Maps a possibly negative axis to 0..Rank-1, or throws naming the shape.</summary>
    public int NormalizeAxis(int axis)
    {
        int a = axis < 0 ? axis + _dims.Length : axis;
        if (a < 0 || a >= _dims.Length) throw new ArgumentOutOfRangeException(nameof(axis), $"axis {axis} is out of range for shape {this}");
        return a;
    }

    /// <summary>Row-major strides in elements.</summary>
    public int[] Strides()
    {
        var s = new int[_dims.Length];
        int acc = 1;
        for (int i = _dims.Length - 1; i >= 0; i--) { s[i] = acc; acc *= _dims[i]; }
        return s;
    }

    /// <summary>Product of dimensions in [start, end).</summary>
    public int Product(int start, int end)
    {
        int p = 1;
        for (int i = start; i < end; i++) p *= _dims[i];
        return p;
    }

    /// <summary>The NumPy/PyTorch broadcast of two shapes, or a clear error naming both.</summary>
    public static Shape Broadcast(Shape a, Shape b)
    {
        int rank = Math.Max(a.Rank, b.Rank);
        var dims = new int[rank];
        for (int i = 0; i < rank; i++)
        {
            int da = i - (rank - a.Rank) >= 0 ? a._dims[i - (rank - a.Rank)] : 1;
            int db = i - (rank - b.Rank) >= 0 ? b._dims[i - (rank - b.Rank)] : 1;
            if (da != db && da != 1 && db != 1)
                throw new ArgumentException($"shapes {a} and {b} cannot be broadcast together (dimension {i}: {da} vs {db})");
            dims[i] = da == 1 ? db : da;
        }
        return new Shape(dims);
    }

    /// <summary>Returns this shape with <paramref name="axis"/> replaced by <paramref name="value"/>.</summary>
    public Shape With(int axis, int value)
    {
        var d = ToArray();
        d[NormalizeAxis(axis)] = value;
        return new Shape(d);
    }

    /// <inheritdoc/>
    public bool Equals(Shape? other) => other is not null && _dims.AsSpan().SequenceEqual(other._dims);

    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is Shape s && Equals(s);

    /// <inheritdoc/>
    public override int GetHashCode()
    {
        var h = new HashCode();
        foreach (var d in _dims) h.Add(d);
        return h.ToHashCode();
    }

    /// <summary>Value equality.</summary>
    public static bool operator ==(Shape? a, Shape? b) => a is null ? b is null : a.Equals(b);

    /// <summary>Value inequality.</summary>
    public static bool operator !=(Shape? a, Shape? b) => !(a == b);

    /// <summary>Creates a shape from dimensions.</summary>
    public static implicit operator Shape(int[] dims) => new(dims);

    /// <inheritdoc/>
    public override string ToString() => Format(_dims);

    private static string Format(int[] dims)
    {
        var sb = new StringBuilder("[");
        for (int i = 0; i < dims.Length; i++) { if (i > 0) sb.Append(", "); sb.Append(dims[i]); }
        return sb.Append(']').ToString();
    }

    /// <inheritdoc/>
    public IEnumerator<int> GetEnumerator() => ((IEnumerable<int>)_dims).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => _dims.GetEnumerator();
}
