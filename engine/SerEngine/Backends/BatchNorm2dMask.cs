namespace SerEngine.Backends;

// The optional column mask of the BatchNorm2d primitives, checked and read the same way by every backend.
// Legend: x [N, C, HW] with HW = H·width; item i valid in the columns w < validColumns[i] of each row.
internal static class BatchNorm2dMask
{
    /// <summary>Throws unless <paramref name="validColumns"/> is null or one count per item over rows of <paramref name="width"/> columns.</summary>
    public static void Check(string op, int[]? validColumns, int n, int hw, int width)
    {
        if (validColumns is null) return;
        if (validColumns.Length != n)
            throw new ArgumentException($"{op}: {validColumns.Length} valid column counts for a batch of {n}");
        if (width <= 0 || hw % width != 0)
            throw new ArgumentException($"{op}: width {width} must be positive and divide HW = {hw}");
    }

    /// <summary>Valid columns of item i, clamped to 0..width (width when there is no mask).</summary>
    public static int Columns(int[]? validColumns, int i, int width) =>
        validColumns is null ? width : Math.Clamp(validColumns[i], 0, width);

    /// <summary>Valid values per channel: N·HW without a mask, H·Σ valid with one.</summary>
    public static long Count(int[]? validColumns, int n, int hw, int width)
    {
        if (validColumns is null) return (long)n * hw;
        long sum = 0;
        for (int i = 0; i < n; i++) sum += Columns(validColumns, i, width);
        return hw / width * sum;
    }

    /// <summary>The counts clamped to 0..width, for a device buffer.</summary>
    public static int[] Clamped(int[] validColumns, int width) => [.. validColumns.Select(v => Math.Clamp(v, 0, width))];
}
