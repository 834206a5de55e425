using ILGPU;

namespace SerEngine.Ilgpu.Kernels;

/// <summary>
/// Up to eight ints passed by value to a kernel (dims or strides of a collapsed view, rank ≤ 8): ILGPU
/// kernels take structs, not arrays, as scalar arguments. Unused trailing entries are 1 for dims and
/// 0 for strides, so a loop over all eight leaves an index unchanged past the rank.
/// </summary>
internal readonly record struct Dims8(int D0, int D1, int D2, int D3, int D4, int D5, int D6, int D7)
{
    /// <summary>Most dims a strided kernel takes.</summary>
    public const int Rank = 8;

    /// <summary>Entry k (0 ≤ k &lt; 8).</summary>
    public int this[int k] => k switch
    {
        0 => D0,
        1 => D1,
        2 => D2,
        3 => D3,
        4 => D4,
        5 => D5,
        6 => D6,
        _ => D7,
    };

    /// <summary>The values padded with <paramref name="pad"/> to eight.</summary>
    public static Dims8 From(ReadOnlySpan<int> v, int pad)
    {
        if (v.Length > Rank) throw new ArgumentException($"{v.Length} dims; the kernels take {Rank}");
        Span<int> a = [pad, pad, pad, pad, pad, pad, pad, pad];
        v.CopyTo(a);
        return new Dims8(a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7]);
    }

    /// <summary>Offset of element i of a contiguous view with dims <paramref name="d"/> in an operand with strides <paramref name="s"/>.</summary>
    public static int Offset(int i, in Dims8 d, in Dims8 s)
    {
        int offset = 0;
        for (int k = Rank - 1; k >= 0; k--)
        {
            int dk = d[k];
            offset += i % dk * s[k];
            i /= dk;
        }
        return offset;
    }
}
