using SerEngine.Backends.Gpu;
using static SerEngine.Backends.OpenCl.ClNative;

namespace SerEngine.Backends.OpenCl;

// The memory primitives: raw cl_mem allocation under the memory pool (GpuBackend.Pool.cs), the
// driver calls behind GpuBackend.Memory.cs (blocking host transfers, device copies) and fill
// (kernels/memory.cl). Every buffer size in these calls is in bytes, every Storage offset in elements.
public sealed unsafe partial class OpenClBackend
{
    /// <inheritdoc/>
    protected override ulong AllocateRaw(long bytes)
    {
        ObjectDisposedException.ThrowIf(_queue == 0, this);
        int err;
        nint mem = clCreateBuffer(_context, CL_MEM_READ_WRITE, (nuint)bytes, null, &err);
        if (err != CL_SUCCESS)
            throw new ClException($"clCreateBuffer failed: {ClException.Name(err)} ({err}) allocating {bytes} bytes on '{Device.Name}' " +
                $"(max single allocation {Device.MaxAllocationBytes} bytes, {LiveBytes} bytes live on this backend, {PoolStats.PooledBytes} parked in its pool)");
        return (ulong)mem;
    }

    /// <inheritdoc/>
    protected override void FreeRaw(ulong handle) => ClException.Check(clReleaseMemObject((nint)handle));

    private protected override GpuStorage NewStorage(DType dtype, int length, ulong handle, long capacityBytes) =>
        new ClStorage(this, dtype, length, handle, capacityBytes);

    /// <inheritdoc/>
    protected override void WriteBytes(Storage dst, ReadOnlySpan<byte> src)
    {
        fixed (byte* p = src)
            ClException.Check(clEnqueueWriteBuffer(_queue, Mem(dst), CL_TRUE, 0, (nuint)src.Length, p, 0, null, null));
    }

    /// <inheritdoc/>
    protected override void ReadBytes(Storage src, Span<byte> dst)
    {
        fixed (byte* p = dst)
            ClException.Check(clEnqueueReadBuffer(_queue, Mem(src), CL_TRUE, 0, (nuint)dst.Length, p, 0, null, null));
    }

    /// <inheritdoc/>
    protected override void CopyDevice(Storage src, long srcOffset, Storage dst, long dstOffset, long count) =>
        ClException.Check(clEnqueueCopyBuffer(_queue, Mem(src), Mem(dst), (nuint)(srcOffset * 4), (nuint)(dstOffset * 4), (nuint)(count * 4), 0, null, null));

    /// <inheritdoc/>
    public override void Fill(Storage y, int n, float value)
    {
        GpuMemoryChecks.Fill(y, n);
        // y [n]
        Launch1D("memory.cl", "fill", n, y, n, value);
    }
}
