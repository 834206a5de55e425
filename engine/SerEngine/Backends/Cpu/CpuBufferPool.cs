namespace SerEngine.Backends.Cpu;

/// <summary>
/// Released arrays of the CPU backends kept for reuse, by element type and exact length: a training
/// step allocates the same sizes every time, so after the first step every allocation is served
/// from here (no zeroing, no large-object-heap garbage). Contents of a reused array are whatever
/// its last user left (Backend.Allocate promises nothing else). The pool holds at most
/// <see cref="CapacityBytes"/>; a release that would go over it first drops the lengths used least
/// recently (with variable-length batches, the shapes of earlier batches), and once
/// <see cref="CollectAfterBytes"/> have been dropped it asks the GC for a collection, so that the
/// dropped arrays are reused for new ones instead of piling up until the GC's own budget runs out.
/// Thread-safe.
/// </summary>
internal sealed class CpuBufferPool
{
    private readonly Lock _gate = new();
    private readonly Dictionary<int, Slot> _slots = [];
    private long _bytes, _clock, _droppedSinceCollect;

    // every array of one length and element type (the key is the length, negative for ints)
    private sealed class Slot
    {
        public readonly Stack<float[]> Floats = new();
        public readonly Stack<int[]> Ints = new();
        public long LastUse;
        public long Bytes;
    }

    /// <summary>Arrays below this many elements are left to the GC (they are cheap to allocate).</summary>
    public const int MinLength = 64;

    /// <summary>The variable that sets <see cref="CapacityBytes"/> in MiB (0 = keep nothing).</summary>
    public const string CapacityEnvironmentVariable = "SERENGINE_CPU_POOL_MB";

    /// <summary>
    /// Most bytes the pool keeps: <c>$SERENGINE_CPU_POOL_MB</c>, else an eighth of the memory the GC may use,
    /// at most 1 GiB. Less memory costs speed with variable-length batches, whose new sizes then come
    /// from fresh pages (WHOLE-JOB-2026-12-06.md: fcn training at 1 GiB, 512 and 256 MiB).
    /// </summary>
    public long CapacityBytes { get; init; } = CapacityFromEnvironment();

    /// <summary>The cap from <c>$SERENGINE_CPU_POOL_MB</c> (MiB, 0 = off), else the default above.</summary>
    /// <exception cref="ArgumentException">The variable is not a whole number ≥ 0.</exception>
    public static long CapacityFromEnvironment()
    {
        string? text = Environment.GetEnvironmentVariable(CapacityEnvironmentVariable);
        if (string.IsNullOrWhiteSpace(text)) return Math.Min(1L << 30, GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / 8);
        if (!long.TryParse(text.Trim(), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out long mib) || mib > (1L << 40))
            throw new ArgumentException($"{CapacityEnvironmentVariable} must be a whole number of MiB ≥ 0 (0 turns the CPU buffer pool off), got '{text}'");
        return mib << 20;
    }

    /// <summary>Bytes dropped from the pool after which it asks for a garbage collection (half the capacity).</summary>
    public long CollectAfterBytes => CapacityBytes / 2;

    /// <summary>Bytes held for reuse now.</summary>
    public long PooledBytes
    {
        get { lock (_gate) return _bytes; }
    }

    /// <summary>Collections the pool has asked for (after dropping <see cref="CollectAfterBytes"/>).</summary>
    public int Collections { get; private set; }

    /// <summary>A float array of exactly <paramref name="length"/> elements, reused when one is free (contents undefined).</summary>
    public float[] RentFloats(int length) => Take(length, length, static s => s.Floats) ?? GC.AllocateUninitializedArray<float>(length);

    /// <summary>An int array of exactly <paramref name="length"/> elements, reused when one is free (contents undefined).</summary>
    public int[] RentInts(int length) => Take(-length, length, static s => s.Ints) ?? GC.AllocateUninitializedArray<int>(length);

    // a pooled array of the slot `key` (length, negative for ints), or null
    private T[]? Take<T>(int key, int length, Func<Slot, Stack<T[]>> arrays)
    {
        if (length < MinLength) return null;
        lock (_gate)
        {
            if (!_slots.TryGetValue(key, out var slot) || !arrays(slot).TryPop(out var a)) return null;
            long bytes = (long)length * sizeof(float);
            slot.Bytes -= bytes;
            slot.LastUse = ++_clock;
            _bytes -= bytes;
            return a;
        }
    }

    /// <summary>Gives an array back for reuse. The caller must hold no other reference to it.</summary>
    public void Return(Array data)
    {
        int length = data.Length;
        if (length < MinLength) return;
        long bytes = (long)length * sizeof(float);
        bool collect = false;
        lock (_gate)
        {
            if (bytes > CapacityBytes) return;
            if (_bytes + bytes > CapacityBytes) collect = DropLeastRecent(CapacityBytes - bytes);
            int key = data is float[]? length : -length;
            if (!_slots.TryGetValue(key, out var slot)) _slots[key] = slot = new Slot();
            if (data is float[] f) slot.Floats.Push(f);
            else slot.Ints.Push((int[])data);
            slot.LastUse = ++_clock;
            slot.Bytes += bytes;
            _bytes += bytes;
        }
        // outside the lock: a background gen-2 collection frees the dropped large arrays for reuse
        if (collect) GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: false);
    }

    /// <summary>Drops every pooled array (the GC reclaims them).</summary>
    public void Clear()
    {
        lock (_gate)
        {
            _slots.Clear();
            _bytes = 0;
        }
    }

    // drops whole lengths, least recently used first, until at most `target` bytes stay; true when a collection is due
    private bool DropLeastRecent(long target)
    {
        foreach (var (key, slot) in _slots.OrderBy(s => s.Value.LastUse).ToList())
        {
            if (_bytes <= target) break;
            _bytes -= slot.Bytes;
            _droppedSinceCollect += slot.Bytes;
            _slots.Remove(key);
        }
        if (_droppedSinceCollect < CollectAfterBytes) return false;
        _droppedSinceCollect = 0;
        Collections++;
        return true;
    }
}
