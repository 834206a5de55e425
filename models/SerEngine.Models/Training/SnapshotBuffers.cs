using SerEngine.IO;

namespace SerEngine.Models.Training;

/// <summary>
/// Host arrays for a fold's checkpoint snapshots and weight checks, kept from one epoch to the next. Every epoch
/// copies tensors of the same sizes to the host; fresh multi-megabyte arrays each time cost the first touch of new
/// memory (page faults) and large-object-heap collections, reused ones cost a copy. Arrays are matched by exact
/// length; a new one has its pages mapped in one call (PagePrefault). Thread-safe: <see cref="CheckpointWriter"/> returns a snapshot's arrays from its background write.
/// </summary>
internal sealed class SnapshotBuffers
{
    private readonly Dictionary<int, Stack<float[]>> _free = [];
    private readonly Lock _lock = new();

    /// <summary>An array of exactly <paramref name="length"/> floats (contents undefined until written).</summary>
    public float[] Rent(int length)
    {
        lock (_lock)
        {
            if (_free.TryGetValue(length, out var stack) && stack.Count > 0) return stack.Pop();
        }
        return SerEngine.Backends.Cpu.PagePrefault.Populate(GC.AllocateUninitializedArray<float>(length));
    }

    /// <summary>Gives an array back for a later <see cref="Rent"/>; the caller no longer reads or writes it.</summary>
    public void Return(float[] array)
    {
        lock (_lock)
        {
            if (!_free.TryGetValue(array.Length, out var stack)) _free[array.Length] = stack = new Stack<float[]>();
            stack.Push(array);
        }
    }

    /// <summary>The tensor's values in host memory: Float32 tensors in a rented array (give it back with <see cref="Return"/>), others as <see cref="HostTensor.FromTensor"/> copies them.</summary>
    public HostTensor Copy(Tensor t)
    {
        if (t.DType != DType.Float32) return HostTensor.FromTensor(t);
        var a = Rent(t.Size);
        t.Backend.Read(t.Storage, a);
        return new HostTensor(t.Shape, a);
    }

    /// <summary>Whether every value of every tensor is finite (Float32 tensors; read through rented arrays, not fresh copies).</summary>
    public bool AllFinite(IEnumerable<Tensor> tensors)
    {
        foreach (var t in tensors)
        {
            var a = Rent(t.Size);
            try
            {
                t.Backend.Read(t.Storage, a);
                foreach (float v in a)
                    if (!float.IsFinite(v)) return false;
            }
            finally { Return(a); }
        }
        return true;
    }
}
