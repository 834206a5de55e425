using ILGPU;
using ILGPU.Runtime;
using SerEngine.Backends;

namespace SerEngine.Ilgpu;

/// <summary>
/// Device memory of the ILGPU backend: a view of <see cref="Storage.Length"/> 32-bit words into one
/// ILGPU buffer from the backend's memory pool (possibly larger: its pool bucket). Float32 and Int32
/// storages are the same words, seen through <see cref="ArrayView{T}.Cast{TOther}"/>.
/// </summary>
public sealed class IlgpuStorage : Storage
{
    internal IlgpuStorage(IlgpuBackend backend, DType dtype, int length, ulong handle, long capacityBytes, ArrayView<int> words)
        : base(backend, dtype, length)
    {
        Handle = handle;
        CapacityBytes = capacityBytes;
        Words = words;
    }

    /// <summary>The pool's handle of the buffer (0 for an empty or freed storage).</summary>
    internal ulong Handle { get; set; }

    /// <summary>Bytes of the pooled buffer.</summary>
    internal long CapacityBytes { get; }

    /// <summary>The storage's words: [Length] (empty for zero elements).</summary>
    internal ArrayView<int> Words { get; }
}
