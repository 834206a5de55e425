using System.Numerics;

namespace SerEngine.Backends.Cpu;

/// <summary>
/// Released arrays of the CPU backends kept for reuse, by element type and size class: a request
/// of n elements gets an array of <see cref="ClassLength"/>(n) ≥ n elements (eight classes per
/// doubling, at most an eighth longer), so the new lengths of variable-length batches reuse the arrays
/// of earlier batches instead of each needing fresh memory; when its own class has no free array, a request
/// takes the shortest free array of the classes above it, up to <see cref="ReachFactor"/> times its length, so that
/// a working set of one batch length serves the shorter batches too. The storage keeps its own length; the
/// elements past it are never read or written (the slack test setting checks that). Contents of a
/// reused array are whatever its last user left (Backend.Allocate promises nothing else). The pool
/// holds at most <see cref="CapacityBytes"/>; a release that would go over it first drops the
/// classes used least recently, and once <see cref="CollectAfterBytes"/> have been dropped it asks
/// the GC for a collection, so that the dropped arrays are reused for new ones instead of piling up
/// until the GC's own budget runs out. New arrays have their pages mapped in one call (<see cref="PagePrefault"/>),
/// not faulted in one by one by the kernel that first writes them. Thread-safe.
/// </summary>
internal sealed class CpuBufferPool
{
    private readonly Lock _gate = new();
    private readonly Dictionary<int, Slot> _slots = [];
    // the array lengths that have a free array now, per element type (best fit looks up the shortest one that fits)
    private readonly SortedLengths _freeFloatLengths = new(), _freeIntLengths = new();
    private long _bytes, _clock, _droppedSinceCollect;

    // a sorted set of array lengths as a sorted list: a step's few dozen lengths come and go on every
    // release and take, and a list moves a few ints where SortedSet allocated and rebalanced a tree node
    private sealed class SortedLengths
    {
        private readonly List<int> _items = [];

        public int Count => _items.Count;

        public void Add(int length)
        {
            int i = _items.BinarySearch(length);
            if (i < 0) _items.Insert(~i, length);
        }

        public void Remove(int length)
        {
            int i = _items.BinarySearch(length);
            if (i >= 0) _items.RemoveAt(i);
        }

        public void Clear() => _items.Clear();

        // the smallest length in [lo, hi], or 0 when there is none
        public int FirstBetween(int lo, int hi)
        {
            int i = _items.BinarySearch(lo);
            if (i < 0) i = ~i;
            return i < _items.Count && _items[i] <= hi ? _items[i] : 0;
        }
    }

    // every array of one array length and element type (the key is the length, negative for ints)
    private sealed class Slot
    {
        public readonly Stack<float[]> Floats = new();
        public readonly Stack<int[]> Ints = new();
        public long LastUse;
        public long Bytes;
    }

    /// <summary>Arrays below this many elements are left to the GC (they are cheap to allocate) and have their exact length.</summary>
    public const int MinLength = 64;

    /// <summary>Size classes per doubling of the length (the most an array exceeds its request by is 1 / this).</summary>
    public const int ClassesPerDoubling = 8;

    /// <summary>How much longer than its own class a free array a request takes may be (a factor).</summary>
    public const int ReachFactor = 2;

    /// <summary>The variable that sets <see cref="CapacityBytes"/> in MiB (0 = keep nothing).</summary>
    public const string CapacityEnvironmentVariable = "SERENGINE_CPU_POOL_MB";

    /// <summary>
    /// The test-only variable that turns <see cref="SlackTest"/> on (<c>1</c>): every array is
    /// <see cref="SlackTestElements"/> longer than its class, and its tail is poisoned at every rent.
    /// </summary>
    public const string SlackTestEnvironmentVariable = "SERENGINE_CPU_POOL_SLACK_TEST";

    /// <summary>Extra elements of every array under <see cref="SlackTest"/>.</summary>
    public const int SlackTestElements = 13;

    /// <summary>The value the tail of an int array holds under <see cref="SlackTest"/> (an index nothing can use).</summary>
    public const int PoisonInt = int.MinValue / 2 - 12345;

    /// <summary>
    /// Most bytes the pool keeps: <c>$SERENGINE_CPU_POOL_MB</c>, else <see cref="DefaultCapacityBytes"/> (an eighth of
    /// the memory the GC may use where that is less). With best fit across classes, a larger cap bought no speed on
    /// variable-length training and cost peak memory (MEMORY-2026-12-06-night.md).
    /// </summary>
    public long CapacityBytes { get; init; } = CapacityFromEnvironment();

    /// <summary>
    /// Test setting (<c>$SERENGINE_CPU_POOL_SLACK_TEST=1</c>): every array, small ones too, is longer
    /// than asked and the elements past the request are NaN (ints: <see cref="PoisonInt"/>) at every
    /// rent, so that a kernel reading past a storage's length shows in the results.
    /// </summary>
    public bool SlackTest { get; init; } = Environment.GetEnvironmentVariable(SlackTestEnvironmentVariable) == "1";

    /// <summary>The cap when <c>$SERENGINE_CPU_POOL_MB</c> is unset and memory is plentiful: 256 MiB.</summary>
    public const long DefaultCapacityBytes = 256L << 20;

    /// <summary>The cap from <c>$SERENGINE_CPU_POOL_MB</c> (MiB, 0 = off), else the default above.</summary>
    /// <exception cref="ArgumentException">The variable is not a whole number ≥ 0.</exception>
    public static long CapacityFromEnvironment()
    {
        string? text = Environment.GetEnvironmentVariable(CapacityEnvironmentVariable);
        if (string.IsNullOrWhiteSpace(text)) return Math.Min(DefaultCapacityBytes, GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / 8);
        if (!long.TryParse(text.Trim(), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out long mib) || mib > (1L << 40))
            throw new ArgumentException($"{CapacityEnvironmentVariable} must be a whole number of MiB ≥ 0 (0 turns the CPU buffer pool off), got '{text}'");
        return mib << 20;
    }

    /// <summary>
    /// The size class of a request of <paramref name="length"/> elements: the length itself below
    /// <see cref="MinLength"/> (and where the class would pass the largest array), else the length
    /// rounded up to a multiple of an eighth of the largest power of two below it (…, 512, 576, 640, …, 1024, 1152, …).
    /// </summary>
    public static int ClassLength(int length)
    {
        if (length <= MinLength) return length;
        int top = 1 << (31 - BitOperations.LeadingZeroCount((uint)(length - 1))); // largest power of two < length
        int step = top / ClassesPerDoubling;
        long rounded = ((long)length + step - 1) / step * step;
        return rounded > Array.MaxLength ? length : (int)rounded;
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

    /// <summary>
    /// A float array of at least <paramref name="length"/> elements (its size class while the pool is on, else exactly
    /// <paramref name="length"/>), reused when one is free; contents undefined.
    /// </summary>
    public float[] RentFloats(int length)
    {
        int arrayLength = ArrayLength(length);
        var a = Take(arrayLength, _freeFloatLengths, static s => s.Floats, sign: 1) ?? PagePrefault.Populate(GC.AllocateUninitializedArray<float>(arrayLength));
        if (SlackTest) a.AsSpan(length).Fill(float.NaN);
        return a;
    }

    /// <summary>An int array of at least <paramref name="length"/> elements, as <see cref="RentFloats"/>.</summary>
    public int[] RentInts(int length)
    {
        int arrayLength = ArrayLength(length);
        var a = Take(arrayLength, _freeIntLengths, static s => s.Ints, sign: -1) ?? PagePrefault.Populate(GC.AllocateUninitializedArray<int>(arrayLength));
        if (SlackTest) a.AsSpan(length).Fill(PoisonInt);
        return a;
    }

    // the array length a request gets: its class while the pool keeps arrays (exact when it is off), plus the test slack
    private int ArrayLength(int length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        int array = CapacityBytes > 0 ? ClassLength(length) : length;
        return SlackTest ? checked(array + SlackTestElements) : array;
    }

    // true when `arrayLength` is what ArrayLength gives some poolable request (arrays of other lengths are left to the GC)
    private bool IsPoolable(int arrayLength)
    {
        int cls = SlackTest ? arrayLength - SlackTestElements : arrayLength;
        return cls >= MinLength && ClassLength(cls) == cls;
    }

    // the shortest free array of `arrayLength` up to ReachFactor times its class (the slot key is length × sign), or null
    private T[]? Take<T>(int arrayLength, SortedLengths freeLengths, Func<Slot, Stack<T[]>> arrays, int sign)
    {
        if (!IsPoolable(arrayLength)) return null;
        int slack = SlackTest ? SlackTestElements : 0;
        int reach = (int)Math.Min(Array.MaxLength, (long)(arrayLength - slack) * ReachFactor + slack);
        lock (_gate)
        {
            if (freeLengths.Count == 0) return null;
            // the request's own length when it has a free array (the shortest that fits, found without a view of the set)
            int length = _slots.TryGetValue(arrayLength * sign, out var own) && arrays(own).Count > 0
                ? arrayLength : freeLengths.FirstBetween(arrayLength, Math.Max(arrayLength, reach)); // 0: none fits
            if (length == 0) return null;
            var slot = length == arrayLength && own is not null ? own : _slots[length * sign];
            var stack = arrays(slot);
            var a = stack.Pop();
            if (stack.Count == 0) freeLengths.Remove(length);
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
        if (!IsPoolable(length)) return;
        long bytes = (long)length * sizeof(float);
        bool collect = false;
        lock (_gate)
        {
            if (bytes > CapacityBytes) return;
            if (_bytes + bytes > CapacityBytes) collect = DropLeastRecent(CapacityBytes - bytes);
            int key = data is float[]? length : -length;
            if (!_slots.TryGetValue(key, out var slot)) _slots[key] = slot = new Slot();
            if (data is float[] f)
            {
                slot.Floats.Push(f);
                _freeFloatLengths.Add(length);
            }
            else
            {
                slot.Ints.Push((int[])data);
                _freeIntLengths.Add(length);
            }
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
            _freeFloatLengths.Clear();
            _freeIntLengths.Clear();
            _bytes = 0;
        }
    }

    // drops whole classes, least recently used first, until at most `target` bytes stay; true when a collection is due
    private bool DropLeastRecent(long target)
    {
        foreach (var (key, slot) in _slots.OrderBy(s => s.Value.LastUse).ToList())
        {
            if (_bytes <= target) break;
            _bytes -= slot.Bytes;
            _droppedSinceCollect += slot.Bytes;
            _slots.Remove(key);
            (key > 0 ? _freeFloatLengths : _freeIntLengths).Remove(Math.Abs(key));
        }
        if (_droppedSinceCollect < CollectAfterBytes) return false;
        _droppedSinceCollect = 0;
        Collections++;
        return true;
    }
}
