using System.Runtime.InteropServices;

namespace SerEngine.Backends.Gpu;

// The host-transfer and block-copy primitives, written once: argument checks, the typed Read/Write
// overloads and the choice between driver copies and the copy_blocks kernel (kernels/memory.cl).
// A concrete backend supplies the three driver calls below. Offsets and counts are in elements.
public abstract partial class GpuBackend
{
    private long _launches, _memoryCommands, _uploads, _uploadBytes, _downloads, _downloadBytes;

    /// <summary>The commands queued so far: kernel launches, device copies, host transfers (<c>ser bench --profile</c> reports them per step).</summary>
    public GpuCommandStats CommandStats => new(Interlocked.Read(ref _launches), Interlocked.Read(ref _memoryCommands),
        Interlocked.Read(ref _uploads), Interlocked.Read(ref _uploadBytes), Interlocked.Read(ref _downloads), Interlocked.Read(ref _downloadBytes));

    /// <summary>Counts one kernel launch; the concrete backend calls it at its driver launch.</summary>
    protected void CountLaunch() => Interlocked.Increment(ref _launches);

    /// <summary>Counts one driver-side memory command that is not a kernel (a memset).</summary>
    protected void CountMemoryCommand() => Interlocked.Increment(ref _memoryCommands);

    /// <summary>Block counts up to this use one driver copy per block; above, the copy_blocks kernel.</summary>
    internal const int SmallCopyBlockCount = 4;

    /// <summary>Copies <paramref name="src"/> (raw bytes) to the start of <paramref name="dst"/>, blocking.</summary>
    protected abstract void WriteBytes(Storage dst, ReadOnlySpan<byte> src);

    /// <summary>Copies the first <c>dst.Length</c> bytes of <paramref name="src"/> to the host, blocking.</summary>
    protected abstract void ReadBytes(Storage src, Span<byte> dst);

    /// <summary>Copies <paramref name="count"/> elements device to device (ranges do not overlap).</summary>
    protected abstract void CopyDevice(Storage src, long srcOffset, Storage dst, long dstOffset, long count);

    /// <summary>Whether the copy_blocks kernel can run (the CUDA backend needs NVRTC for it).</summary>
    protected virtual bool CanLaunchCopyKernel => true;

    /// <inheritdoc/>
    public override void Write(Storage dst, ReadOnlySpan<float> src)
    {
        GpuMemoryChecks.Transfer(dst, DType.Float32, src.Length, nameof(Write));
        if (src.Length > 0) Upload(dst, MemoryMarshal.AsBytes(src));
    }

    /// <inheritdoc/>
    public override void Write(Storage dst, ReadOnlySpan<int> src)
    {
        GpuMemoryChecks.Transfer(dst, DType.Int32, src.Length, nameof(Write));
        if (src.Length > 0) Upload(dst, MemoryMarshal.AsBytes(src));
    }

    /// <inheritdoc/>
    public override void Read(Storage src, Span<float> dst)
    {
        GpuMemoryChecks.Transfer(src, DType.Float32, dst.Length, nameof(Read));
        if (dst.Length > 0) Download(src, MemoryMarshal.AsBytes(dst));
    }

    /// <inheritdoc/>
    public override void Read(Storage src, Span<int> dst)
    {
        GpuMemoryChecks.Transfer(src, DType.Int32, dst.Length, nameof(Read));
        if (dst.Length > 0) Download(src, MemoryMarshal.AsBytes(dst));
    }

    private void Upload(Storage dst, ReadOnlySpan<byte> bytes)
    {
        Interlocked.Increment(ref _uploads);
        Interlocked.Add(ref _uploadBytes, bytes.Length);
        WriteBytes(dst, bytes);
    }

    private void Download(Storage src, Span<byte> bytes)
    {
        Interlocked.Increment(ref _downloads);
        Interlocked.Add(ref _downloadBytes, bytes.Length);
        ReadBytes(src, bytes);
    }

    /// <summary>One counted driver copy of <paramref name="count"/> elements (<see cref="CopyDevice"/>).</summary>
    private void CopyCounted(Storage src, long srcOffset, Storage dst, long dstOffset, long count)
    {
        CountMemoryCommand();
        CopyDevice(src, srcOffset, dst, dstOffset, count);
    }

    /// <inheritdoc/>
    /// <remarks>
    /// Back-to-back blocks and small block counts use the driver's device-to-device copy, one per
    /// block; many blocks use the <c>copy_blocks</c> kernel. Overlapping ranges in one buffer are
    /// staged through a temporary buffer.
    /// </remarks>
    public override void CopyBlocks(Storage src, int srcOffset, int srcStride, Storage dst, int dstOffset, int dstStride, int blockLength, int count)
    {
        bool overlap = GpuMemoryChecks.CopyBlocks(src, srcOffset, srcStride, dst, dstOffset, dstStride, blockLength, count);
        if (blockLength == 0 || count == 0) return;
        if (overlap)
        {
            using var tmp = Allocate(blockLength * count, src.DType); // [count, blockLength]
            CopyBlocks(src, srcOffset, srcStride, tmp, 0, blockLength, blockLength, count);
            CopyBlocks(tmp, 0, blockLength, dst, dstOffset, dstStride, blockLength, count);
            return;
        }
        if (GpuMemoryChecks.IsContiguous(srcStride, dstStride, blockLength, count))
        {
            CopyCounted(src, srcOffset, dst, dstOffset, (long)blockLength * count);
            return;
        }
        long total = (long)blockLength * count;
        if (count <= SmallCopyBlockCount || total > int.MaxValue || !CanLaunchCopyKernel)
        {
            for (int i = 0; i < count; i++)
                CopyCounted(src, srcOffset + (long)i * srcStride, dst, dstOffset + (long)i * dstStride, blockLength);
            return;
        }
        // src, dst: count blocks of [blockLength] at their strides
        Launch1D("memory.cl", "copy_blocks", total,
            src, srcOffset, srcStride, dst, dstOffset, dstStride, blockLength, count);
    }
}
