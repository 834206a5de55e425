namespace SerEngine.Backends.Gpu;

/// <summary>
/// Device memory of a GPU backend: one driver allocation (a <c>cl_mem</c> or a <c>CUdeviceptr</c>,
/// none for zero elements), possibly larger than <see cref="Storage.Length"/> when it came from the
/// backend's memory pool.
/// </summary>
public abstract class GpuStorage : Storage
{
    private protected GpuStorage(GpuBackend backend, DType dtype, int length, ulong handle, long capacityBytes) : base(backend, dtype, length)
    {
        Handle = handle;
        CapacityBytes = capacityBytes;
    }

    /// <summary>The driver's handle as a number (0 for an empty or freed buffer).</summary>
    internal ulong Handle { get; set; }

    /// <summary>Bytes of the driver allocation (its pool bucket), at least Length × element size.</summary>
    internal long CapacityBytes { get; }
}
