using SerEngine.Backends.Gpu;

namespace SerEngine.Backends.OpenCl;

/// <summary>Device memory of the OpenCL backend: one <c>cl_mem</c> buffer (none for zero elements).</summary>
public sealed class ClStorage : GpuStorage
{
    internal ClStorage(OpenClBackend backend, DType dtype, int length, ulong mem, long capacityBytes) : base(backend, dtype, length, mem, capacityBytes) { }

    /// <summary>The <c>cl_mem</c> handle (0 for an empty buffer).</summary>
    internal nint Mem => (nint)Handle;
}
