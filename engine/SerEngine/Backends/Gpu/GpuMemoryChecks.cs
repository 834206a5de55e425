namespace SerEngine.Backends.Gpu;

/// <summary>
/// Argument checks shared by the GPU backends' memory primitives. A GPU kernel that writes out of
/// bounds corrupts memory silently, so these run before every launch and name the sizes involved.
/// </summary>
internal static class GpuMemoryChecks
{
    /// <summary>Checks a host transfer of <paramref name="count"/> elements of <paramref name="dtype"/>.</summary>
    public static void Transfer(Storage s, DType dtype, int count, string op)
    {
        if (s.DType != dtype)
            throw new InvalidOperationException($"{op}: expected a {dtype} buffer, found {s.DType}");
        if (count > s.Length)
            throw new ArgumentException($"{op}: {count} elements do not fit a buffer of {s.Length}");
    }

    /// <summary>Checks Fill's arguments: a Float32 buffer of at least n elements.</summary>
    public static void Fill(Storage y, int n)
    {
        if (y.DType != DType.Float32) throw new InvalidOperationException($"Fill: expected a Float32 buffer, found {y.DType}");
        if (n < 0 || n > y.Length) throw new ArgumentOutOfRangeException(nameof(n), $"Fill: n = {n} for a buffer of {y.Length}");
    }

    /// <summary>
    /// Checks CopyBlocks' arguments (same dtype, every block inside both buffers) and reports whether
    /// the source and destination ranges may overlap (same buffer, intersecting spans).
    /// </summary>
    public static bool CopyBlocks(Storage src, int srcOffset, int srcStride, Storage dst, int dstOffset, int dstStride, int blockLength, int count)
    {
        if (src.DType != dst.DType) throw new ArgumentException($"CopyBlocks from {src.DType} to {dst.DType}");
        if (blockLength < 0 || count < 0) throw new ArgumentOutOfRangeException(nameof(count), $"CopyBlocks: blockLength = {blockLength}, count = {count}");
        if (blockLength == 0 || count == 0) return false;
        var (sLo, sHi) = Span(srcOffset, srcStride, blockLength, count);
        var (dLo, dHi) = Span(dstOffset, dstStride, blockLength, count);
        if (sLo < 0 || sHi > src.Length)
            throw new ArgumentOutOfRangeException(nameof(src),
                $"CopyBlocks: source blocks (offset {srcOffset}, stride {srcStride}, {count} × {blockLength}) reach [{sLo}, {sHi}) outside a buffer of {src.Length}");
        if (dLo < 0 || dHi > dst.Length)
            throw new ArgumentOutOfRangeException(nameof(dst),
                $"CopyBlocks: destination blocks (offset {dstOffset}, stride {dstStride}, {count} × {blockLength}) reach [{dLo}, {dHi}) outside a buffer of {dst.Length}");
        return ReferenceEquals(src, dst) && sLo < dHi && dLo < sHi;
    }

    /// <summary>True when the blocks are back to back on both sides, so one plain copy does it.</summary>
    public static bool IsContiguous(int srcStride, int dstStride, int blockLength, int count) =>
        count == 1 || (srcStride == blockLength && dstStride == blockLength);

    private static (long Lo, long Hi) Span(int offset, int stride, int blockLength, int count)
    {
        long last = offset + (long)(count - 1) * stride;
        return (Math.Min(offset, last), Math.Max(offset, last) + blockLength);
    }
}
