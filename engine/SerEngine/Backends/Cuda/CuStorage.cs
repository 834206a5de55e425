namespace SerEngine.Backends.Cuda;

/// <summary>Device memory of the CUDA backend: one <c>cuMemAlloc</c> allocation (none for zero elements).</summary>
public sealed class CuStorage : Storage
{
    internal CuStorage(CudaBackend backend, DType dtype, int length, ulong ptr) : base(backend, dtype, length) => Ptr = ptr;

    /// <summary>The <c>CUdeviceptr</c> (0 for an empty buffer).</summary>
    internal ulong Ptr { get; set; }
}
