using static SerEngine.Backends.Cuda.CuNative;

namespace SerEngine.Backends.Cuda;

// The memory primitives: cuMemAlloc, cuMemsetD32 for fill, and the driver calls behind
// GpuBackend.Memory.cs (synchronous host transfers, cuMemcpyDtoD).
// Byte counts in the driver calls, element offsets in the Storage arguments.
public sealed unsafe partial class CudaBackend
{
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
    protected override void WriteBytes(Storage dst, ReadOnlySpan<byte> src)
    {
        MakeCurrent();
        fixed (byte* p = src) CuException.Check(cuMemcpyHtoD_v2(Ptr(dst), p, (nuint)src.Length));
    }

    /// <inheritdoc/>
    protected override void ReadBytes(Storage src, Span<byte> dst)
    {
        MakeCurrent();
        fixed (byte* p = dst) CuException.Check(cuMemcpyDtoH_v2(p, Ptr(src), (nuint)dst.Length));
    }

    /// <inheritdoc/>
    protected override void CopyDevice(Storage src, long srcOffset, Storage dst, long dstOffset, long count)
    {
        MakeCurrent();
        CuException.Check(cuMemcpyDtoD_v2(Ptr(dst) + (ulong)(dstOffset * 4), Ptr(src) + (ulong)(srcOffset * 4), (nuint)(count * 4)));
    }

    /// <inheritdoc/>
    protected override bool CanLaunchCopyKernel => NvrtcNative.Instance is not null;

    /// <inheritdoc/>
    public override void Fill(Storage y, int n, float value)
    {
        GpuMemoryChecks.Fill(y, n);
        if (n == 0) return;
        MakeCurrent();
        // y [n]: a float's bits as a 32-bit memset
        CuException.Check(cuMemsetD32_v2(Ptr(y), BitConverter.SingleToUInt32Bits(value), (nuint)n));
    }
}
