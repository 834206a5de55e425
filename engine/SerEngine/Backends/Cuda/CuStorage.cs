using SerEngine.Backends.Gpu;

namespace SerEngine.Backends.Cuda;

/// <summary>Device memory of the CUDA backend: one <c>cuMemAlloc</c> allocation (none for zero elements).</summary>
public sealed class CuStorage : GpuStorage
{
    internal CuStorage(CudaBackend backend, DType dtype, int length, ulong ptr, long capacityBytes) : base(backend, dtype, length, ptr, capacityBytes) { }

    /// <summary>The <c>CUdeviceptr</c> (0 for an empty buffer).</summary>
    internal ulong Ptr => Handle;
}
