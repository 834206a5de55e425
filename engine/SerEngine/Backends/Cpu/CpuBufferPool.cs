namespace SerEngine.Backends.Cpu;

/// <summary>
/// Released arrays of the CPU backends kept for reuse, by element type and exact length: a training
/// step allocates the same sizes every time, so after the first step every allocation is served
/// from here (no zeroing, no large-object-heap garbage). Contents of a reused array are whatever
/// its last user left (Backend.Allocate promises nothing else). The pool holds at most
/// <see cref="CapacityBytes"/>; a release that would go over it empties the pool first (sizes that
/// stopped recurring, such as earlier utterance lengths, are dropped that way). Thread-safe.
/// </summary>
internal sealed class CpuBufferPool
{
    private readonly Lock _gate = new();
    private readonly Dictionary<int, Stack<float[]>> _floats = [];
    private readonly Dictionary<int, Stack<int[]>> _ints = [];
    private long _bytes;

    /// <summary>Arrays below this many elements are left to the GC (they are cheap to allocate).</summary>
    public const int MinLength = 64;

    /// <summary>Most bytes the pool keeps: a quarter of the memory the GC may use, at most 2 GB.</summary>
    public long CapacityBytes { get; init; } = Math.Min(2L << 30, GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / 4);

    /// <summary>Bytes held for reuse now.</summary>
    public long PooledBytes
    {
        get { lock (_gate) return _bytes; }
    }

    /// <summary>A float array of exactly <paramref name="length"/> elements, reused when one is free (contents undefined).</summary>
    public float[] RentFloats(int length) => Rent(_floats, length) ?? GC.AllocateUninitializedArray<float>(length);

    /// <summary>An int array of exactly <paramref name="length"/> elements, reused when one is free (contents undefined).</summary>
    public int[] RentInts(int length) => Rent(_ints, length) ?? GC.AllocateUninitializedArray<int>(length);

    /// <summary>Gives an array back for reuse. The caller must hold no other reference to it.</summary>
    public void Return(Array data)
    {
        int length = data.Length;
        if (length < MinLength) return;
        long bytes = (long)length * sizeof(float);
        lock (_gate)
        {
            if (bytes > CapacityBytes) return;
            if (_bytes + bytes > CapacityBytes) Clear();
            if (data is float[] f) Push(_floats, f);
            else Push(_ints, (int[])data);
            _bytes += bytes;
        }
    }

    /// <summary>Drops every pooled array (the GC reclaims them).</summary>
    public void Clear()
    {
        lock (_gate)
        {
            _floats.Clear();
            _ints.Clear();
            _bytes = 0;
        }
    }

    private T[]? Rent<T>(Dictionary<int, Stack<T[]>> pool, int length)
    {
        if (length < MinLength) return null;
        lock (_gate)
        {
            if (!pool.TryGetValue(length, out var stack) || !stack.TryPop(out var a)) return null;
            _bytes -= (long)length * sizeof(float);
            return a;
        }
    }

    private static void Push<T>(Dictionary<int, Stack<T[]>> pool, T[] a)
    {
        if (!pool.TryGetValue(a.Length, out var stack)) pool[a.Length] = stack = new Stack<T[]>();
        stack.Push(a);
    }
}
