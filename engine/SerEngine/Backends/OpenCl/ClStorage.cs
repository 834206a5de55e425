namespace SerEngine.Backends.OpenCl;

/// <summary>Device memory of the OpenCL backend: one <c>cl_mem</c> buffer (none for zero elements).</summary>
public sealed class ClStorage : Storage
{
    internal ClStorage(OpenClBackend backend, DType dtype, int length, nint mem) : base(backend, dtype, length) => Mem = mem;

    /// <summary>The <c>cl_mem</c> handle (0 for an empty buffer).</summary>
    internal nint Mem { get; set; }
}
