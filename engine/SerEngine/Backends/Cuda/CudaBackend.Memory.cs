using SerEngine.Backends.Gpu;
using static SerEngine.Backends.Cuda.CuNative;

namespace SerEngine.Backends.Cuda;

// The memory primitives: raw cuMemAlloc/cuMemFree under the memory pool (GpuBackend.Pool.cs),
// cuMemsetD32 for fill, and the driver calls behind GpuBackend.Memory.cs (synchronous host
// transfers, cuMemcpyDtoD).
// Byte counts in the driver calls, element offsets in the Storage arguments.
public sealed unsafe partial class CudaBackend
{
    /// <inheritdoc/>
    protected override ulong AllocateRaw(long bytes)
    {
        MakeCurrent();
        ulong ptr;
        int err = cuMemAlloc_v2(&ptr, (nuint)bytes);
        if (err != CUDA_SUCCESS)
            throw new CuException(err, "cuMemAlloc_v2", $"allocating {bytes} bytes on '{Device.Name}' " +
                $"({Device.TotalMemoryBytes} bytes on the device, {LiveBytes} bytes live on this backend, {PoolStats.PooledBytes} parked in its pool)");
        return ptr;
    }

    /// <inheritdoc/>
    protected override void FreeRaw(ulong handle)
    {
        if (_context == 0) return; // a released primary context already took its memory
        MakeCurrent();
        CuException.Check(cuMemFree_v2(handle));
    }

    private protected override GpuStorage NewStorage(DType dtype, int length, ulong handle, long capacityBytes) =>
        new CuStorage(this, dtype, length, handle, capacityBytes);

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
        CountMemoryCommand();
        CuException.Check(cuMemsetD32_v2(Ptr(y), BitConverter.SingleToUInt32Bits(value), (nuint)n));
    }
}
