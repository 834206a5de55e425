using static SerEngine.Backends.Cuda.CuNative;

namespace SerEngine.Backends.Cuda;

// The memory primitives: cuMemAlloc, synchronous host transfers, cuMemsetD32 for fill, and the
// strided block copy (cuMemcpyDtoD per block, or kernels/memory.cl's copy_blocks for many blocks).
// Byte counts in the driver calls, element offsets in the Storage arguments.
public sealed unsafe partial class CudaBackend
{
    /// <summary>Block counts up to this use one cuMemcpyDtoD per block; above, the copy_blocks kernel.</summary>
    internal const int SmallCopyBlockCount = 4;

    /// <inheritdoc/>
    protected override Storage AllocateCore(int length, DType dtype)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        if (length == 0) return new CuStorage(this, dtype, 0, 0);
        MakeCurrent();
        long bytes = (long)length * dtype.ElementSize();
        ulong ptr;
        int err = cuMemAlloc_v2(&ptr, (nuint)bytes);
        if (err != CUDA_SUCCESS)
            throw new CuException(err, "cuMemAlloc_v2", $"allocating {length} × {dtype} ({bytes} bytes) on '{Device.Name}' " +
                $"({Device.TotalMemoryBytes} bytes on the device, {LiveBytes} bytes live on this backend)");
        return new CuStorage(this, dtype, length, ptr);
    }

    /// <inheritdoc/>
    protected override void FreeCore(Storage storage)
    {
        var cs = (CuStorage)storage;
        if (cs.Ptr == 0 || _context == 0) return; // a released primary context already took its memory
        MakeCurrent();
        CuException.Check(cuMemFree_v2(cs.Ptr));
        cs.Ptr = 0;
    }

    /// <inheritdoc/>
    public override void Write(Storage dst, ReadOnlySpan<float> src)
    {
        GpuMemoryChecks.Transfer(dst, DType.Float32, src.Length, nameof(Write));
        fixed (float* p = src) WriteBytes(dst, p, src.Length);
    }

    /// <inheritdoc/>
    public override void Write(Storage dst, ReadOnlySpan<int> src)
    {
        GpuMemoryChecks.Transfer(dst, DType.Int32, src.Length, nameof(Write));
        fixed (int* p = src) WriteBytes(dst, p, src.Length);
    }

    /// <inheritdoc/>
    public override void Read(Storage src, Span<float> dst)
    {
        GpuMemoryChecks.Transfer(src, DType.Float32, dst.Length, nameof(Read));
        fixed (float* p = dst) ReadBytes(src, p, dst.Length);
    }

    /// <inheritdoc/>
    public override void Read(Storage src, Span<int> dst)
    {
        GpuMemoryChecks.Transfer(src, DType.Int32, dst.Length, nameof(Read));
        fixed (int* p = dst) ReadBytes(src, p, dst.Length);
    }

    private void WriteBytes(Storage dst, void* host, int count)
    {
        if (count == 0) return;
        MakeCurrent();
        CuException.Check(cuMemcpyHtoD_v2(Ptr(dst), host, (nuint)count * 4));
    }

    private void ReadBytes(Storage src, void* host, int count)
    {
        if (count == 0) return;
        MakeCurrent();
        CuException.Check(cuMemcpyDtoH_v2(host, Ptr(src), (nuint)count * 4));
    }

    /// <inheritdoc/>
    public override void Fill(Storage y, int n, float value)
    {
        GpuMemoryChecks.Fill(y, n);
        if (n == 0) return;
        MakeCurrent();
        // y [n]: a float's bits as a 32-bit memset
        CuException.Check(cuMemsetD32_v2(Ptr(y), BitConverter.SingleToUInt32Bits(value), (nuint)n));
    }

    /// <inheritdoc/>
    /// <remarks>
    /// Back-to-back blocks and small block counts use <c>cuMemcpyDtoD</c>; many blocks use the
    /// <c>copy_blocks</c> kernel (one cuMemcpyDtoD per block when NVRTC is missing). Overlapping
    /// ranges in one buffer are staged through a temporary buffer.
    /// </remarks>
    public override void CopyBlocks(Storage src, int srcOffset, int srcStride, Storage dst, int dstOffset, int dstStride, int blockLength, int count)
    {
        bool overlap = GpuMemoryChecks.CopyBlocks(src, srcOffset, srcStride, dst, dstOffset, dstStride, blockLength, count);
        if (blockLength == 0 || count == 0) return;
        ulong s = Ptr(src), d = Ptr(dst);
        if (overlap)
        {
            using var tmp = Allocate(blockLength * count, src.DType); // [count, blockLength]
            CopyBlocks(src, srcOffset, srcStride, tmp, 0, blockLength, blockLength, count);
            CopyBlocks(tmp, 0, blockLength, dst, dstOffset, dstStride, blockLength, count);
            return;
        }
        MakeCurrent();
        if (GpuMemoryChecks.IsContiguous(srcStride, dstStride, blockLength, count))
        {
            CopyDevice(s, srcOffset, d, dstOffset, (long)blockLength * count);
            return;
        }
        long total = (long)blockLength * count;
        if (count <= SmallCopyBlockCount || total > int.MaxValue || NvrtcNative.Instance is null)
        {
            for (int i = 0; i < count; i++)
                CopyDevice(s, srcOffset + (long)i * srcStride, d, dstOffset + (long)i * dstStride, blockLength);
            return;
        }
        // src, dst: count blocks of [blockLength] at their strides
        Launch1D("memory.cl", "copy_blocks", total,
            src, srcOffset, srcStride, dst, dstOffset, dstStride, blockLength, count);
    }

    private static void CopyDevice(ulong src, long srcOffset, ulong dst, long dstOffset, long count) =>
        CuException.Check(cuMemcpyDtoD_v2(dst + (ulong)(dstOffset * 4), src + (ulong)(srcOffset * 4), (nuint)(count * 4)));
}
