using ILGPU;

namespace SerEngine.Ilgpu.Kernels;

/// <summary>Where copy_blocks reads and writes: block b, element e goes from src[SrcOffset + b·SrcStride + e] to dst[DstOffset + b·DstStride + e].</summary>
internal readonly record struct BlockCopy(int SrcOffset, int SrcStride, int DstOffset, int DstStride, int BlockLength, int Count);

/// <summary>
/// The memory primitives that need a kernel (the twin of kernels/memory.cl): fill and strided block
/// copy. Grid-stride loops over the elements; words are copied as ints, so one kernel serves Float32
/// and Int32 bit for bit.
/// </summary>
internal static class MemoryKernels
{
    /// <summary>y[i] = value for i &lt; n.</summary>
    public static void Fill(ArrayView<float> y, int n, float value) // y [n]
    {
        for (int i = Grid.GlobalIndex.X; i < n; i += Grid.DimX * Group.DimX) y[i] = value;
    }

    /// <summary>Copies count blocks of blockLength words (flat index over [count, blockLength]).</summary>
    public static void CopyBlocks(ArrayView<int> src, ArrayView<int> dst, BlockCopy c)
    {
        int total = c.BlockLength * c.Count;
        for (int i = Grid.GlobalIndex.X; i < total; i += Grid.DimX * Group.DimX)
        {
            int b = i / c.BlockLength, e = i - b * c.BlockLength;
            dst[c.DstOffset + b * c.DstStride + e] = src[c.SrcOffset + b * c.SrcStride + e];
        }
    }
}
