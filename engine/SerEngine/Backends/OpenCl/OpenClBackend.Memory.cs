using static SerEngine.Backends.OpenCl.ClNative;

namespace SerEngine.Backends.OpenCl;

// The memory primitives: cl_mem allocation, blocking host transfers, fill and strided block copy
// (kernels/memory.cl). Every buffer size in these calls is in bytes, every Storage offset in elements.
public sealed unsafe partial class OpenClBackend
{
    /// <summary>Block counts up to this use one clEnqueueCopyBuffer per block; above, the copy_blocks kernel.</summary>
    internal const int SmallCopyBlockCount = 4;

    /// <inheritdoc/>
    protected override Storage AllocateCore(int length, DType dtype)
    {
        ObjectDisposedException.ThrowIf(_queue == 0, this);
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        if (length == 0) return new ClStorage(this, dtype, 0, 0);
        long bytes = (long)length * dtype.ElementSize();
        int err;
        nint mem = clCreateBuffer(_context, CL_MEM_READ_WRITE, (nuint)bytes, null, &err);
        if (err != CL_SUCCESS)
            throw new ClException($"clCreateBuffer failed: {ClException.Name(err)} ({err}) allocating {length} × {dtype} ({bytes} bytes) on '{Device.Name}' " +
                $"(max single allocation {Device.MaxAllocationBytes} bytes, {LiveBytes} bytes live on this backend)");
        return new ClStorage(this, dtype, length, mem);
    }

    /// <inheritdoc/>
    protected override void FreeCore(Storage storage)
    {
        var cs = (ClStorage)storage;
        if (cs.Mem != 0) ClException.Check(clReleaseMemObject(cs.Mem));
        cs.Mem = 0;
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
        ClException.Check(clEnqueueWriteBuffer(_queue, Mem(dst), CL_TRUE, 0, (nuint)count * 4, host, 0, null, null));
    }

    private void ReadBytes(Storage src, void* host, int count)
    {
        if (count == 0) return;
        ClException.Check(clEnqueueReadBuffer(_queue, Mem(src), CL_TRUE, 0, (nuint)count * 4, host, 0, null, null));
    }

    /// <inheritdoc/>
    public override void Fill(Storage y, int n, float value)
    {
        GpuMemoryChecks.Fill(y, n);
        // y [n]
        Launch1D("memory.cl", "fill", n, y, n, value);
    }

    /// <inheritdoc/>
    /// <remarks>
    /// Back-to-back blocks and small block counts use <c>clEnqueueCopyBuffer</c>; many blocks use the
    /// <c>copy_blocks</c> kernel. Overlapping ranges in one buffer are staged through a temporary buffer.
    /// </remarks>
    public override void CopyBlocks(Storage src, int srcOffset, int srcStride, Storage dst, int dstOffset, int dstStride, int blockLength, int count)
    {
        bool overlap = GpuMemoryChecks.CopyBlocks(src, srcOffset, srcStride, dst, dstOffset, dstStride, blockLength, count);
        if (blockLength == 0 || count == 0) return;
        nint s = Mem(src), d = Mem(dst);
        if (overlap)
        {
            using var tmp = Allocate(blockLength * count, src.DType); // [count, blockLength]
            CopyBlocks(src, srcOffset, srcStride, tmp, 0, blockLength, blockLength, count);
            CopyBlocks(tmp, 0, blockLength, dst, dstOffset, dstStride, blockLength, count);
            return;
        }
        if (GpuMemoryChecks.IsContiguous(srcStride, dstStride, blockLength, count))
        {
            CopyBuffer(s, srcOffset, d, dstOffset, (long)blockLength * count);
            return;
        }
        long total = (long)blockLength * count;
        if (count <= SmallCopyBlockCount || total > int.MaxValue)
        {
            for (int i = 0; i < count; i++)
                CopyBuffer(s, srcOffset + (long)i * srcStride, d, dstOffset + (long)i * dstStride, blockLength);
            return;
        }
        // src, dst: count blocks of [blockLength] at their strides
        Launch1D("memory.cl", "copy_blocks", total,
            src, srcOffset, srcStride, dst, dstOffset, dstStride, blockLength, count);
    }

    private void CopyBuffer(nint src, long srcOffset, nint dst, long dstOffset, long count) =>
        ClException.Check(clEnqueueCopyBuffer(_queue, src, dst, (nuint)(srcOffset * 4), (nuint)(dstOffset * 4), (nuint)(count * 4), 0, null, null));
}
