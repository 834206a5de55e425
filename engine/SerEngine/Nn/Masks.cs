using SerEngine.Backends;

namespace SerEngine.Nn;

/// <summary>Masks for batches of zero-padded sequences.</summary>
public static class Masks
{
    /// <summary>
    /// keep [N, 1, 1, T]: 1 in the first <paramref name="validColumns"/>[i] columns of item i, 0 after;
    /// multiplying an [N, C, H, T] map by it zeroes each item's padding.
    /// </summary>
    public static Tensor Columns(int[] validColumns, int columns, Backend backend)
    {
        int n = validColumns.Length;
        var keep = new float[n * columns];                               // [N, 1, 1, T]
        for (int i = 0; i < n; i++) keep.AsSpan(i * columns, Math.Clamp(validColumns[i], 0, columns)).Fill(1f);
        return Tensor.FromArray(keep, new Shape(n, 1, 1, columns), backend);
    }
}
