using System.Numerics;

namespace SerEngine.Backends.Gpu;

/// <summary>
/// Counters of a GPU backend's device memory pool (<see cref="GpuBackend.PoolStats"/>). Counts are
/// since the backend was created; byte figures are now.
/// </summary>
/// <param name="Requests">Buffers asked of the pool (every non-empty <see cref="Backend.Allocate"/>).</param>
/// <param name="Hits">Requests served from a free list, with no driver call.</param>
/// <param name="DriverAllocations">Driver allocations (<c>clCreateBuffer</c>, <c>cuMemAlloc</c>).</param>
/// <param name="DriverFrees">Driver frees (<c>clReleaseMemObject</c>, <c>cuMemFree</c>).</param>
/// <param name="PooledBytes">Device bytes held in the free lists, not in any live buffer.</param>
/// <param name="InUseBytes">Device bytes behind live buffers and cached scratch (spectrogram twiddle tables), bucket-rounded; minus <see cref="Backend.LiveBytes"/>, the rounding waste and the cache.</param>
/// <param name="CapacityBytes">Most bytes the free lists keep; 0 = the pool is off.</param>
public readonly record struct GpuPoolStats(long Requests, long Hits, long DriverAllocations, long DriverFrees,
    long PooledBytes, long InUseBytes, long CapacityBytes);

/// <summary>
/// Device buffers of one GPU backend kept for reuse in size buckets, written once for OpenCL and
/// CUDA over the backend's raw allocate/free pair. A freed buffer goes to its bucket's free list
/// unless that would hold more than <see cref="CapacityBytes"/> (then it is really freed); a
/// request takes a buffer of its bucket when one is free. Contents of a reused buffer are whatever
/// its last user left. Thread-safe; driver calls run outside the lock.
/// </summary>
internal sealed class GpuBufferPool(Func<long, ulong> allocateRaw, Action<ulong> freeRaw, long capacityBytes)
{
    /// <summary>Environment variable: the pool's cap in MiB (0 turns the pool off).</summary>
    public const string CapacityEnvironmentVariable = "SERENGINE_GPU_POOL_MB";

    /// <summary>Default cap: 1 GiB of free buffers.</summary>
    public const long DefaultCapacityMiB = 1024;

    /// <summary>Smallest bucket: smaller requests share it (the driver's own granularity is about this).</summary>
    public const long MinBucketBytes = 256;

    private readonly Lock _gate = new();
    private readonly Dictionary<long, Stack<ulong>> _free = [];
    private long _capacity = Math.Max(0, capacityBytes);
    private long _pooled, _inUse, _requests, _hits, _allocations, _frees;

    /// <summary>Most bytes the free lists keep; lowering it frees buffers until the pool fits, 0 empties and turns it off.</summary>
    public long CapacityBytes
    {
        get { lock (_gate) return _capacity; }
        set
        {
            ArgumentOutOfRangeException.ThrowIfNegative(value);
            lock (_gate) _capacity = value;
            Trim(value);
        }
    }

    /// <summary>The counters now.</summary>
    public GpuPoolStats Stats
    {
        get { lock (_gate) return new(_requests, _hits, _allocations, _frees, _pooled, _inUse, _capacity); }
    }

    /// <summary>
    /// The bucket a request of <paramref name="bytes"/> lands in: <see cref="MinBucketBytes"/>, then
    /// four steps per doubling (256, 320, 384, 448, 512, 640, ...): fine enough that rounding wastes
    /// little, coarse enough that sizes recur (waste bound in GpuMemoryPoolTests, measured in benchmarks/results).
    /// </summary>
    public static long BucketBytes(long bytes)
    {
        if (bytes <= MinBucketBytes) return MinBucketBytes;
        long top = 1L << (63 - BitOperations.LeadingZeroCount((ulong)(bytes - 1))); // largest power of two < bytes
        long step = top / 4;
        return (bytes + step - 1) / step * step;
    }

    /// <summary>A buffer of at least <paramref name="bytes"/>; <paramref name="capacity"/> is its real size, to pass back to <see cref="Return"/>.</summary>
    public ulong Rent(long bytes, out long capacity)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(bytes);
        lock (_gate)
        {
            _requests++;
            // the pool off: exact sizes, as without a pool
            capacity = _capacity > 0 ? BucketBytes(bytes) : bytes;
            if (_capacity > 0 && _free.TryGetValue(capacity, out var stack) && stack.TryPop(out ulong reused))
            {
                _hits++;
                _pooled -= capacity;
                _inUse += capacity;
                return reused;
            }
        }
        ulong handle;
        try
        {
            handle = allocateRaw(capacity);
        }
        catch when (Stats.PooledBytes > 0)
        {
            Trim(0); // out of device memory with buffers parked: give them back and try once more
            handle = allocateRaw(capacity);
        }
        lock (_gate)
        {
            _allocations++;
            _inUse += capacity;
        }
        return handle;
    }

    /// <summary>Takes back a buffer from <see cref="Rent"/>: parked in its bucket, or freed when the pool is off or full.</summary>
    public void Return(ulong handle, long capacity)
    {
        lock (_gate)
        {
            _inUse -= capacity;
            // a buffer rented while the pool was off has an exact size that is no bucket's
            if (_capacity > 0 && BucketBytes(capacity) == capacity && _pooled + capacity <= _capacity)
            {
                if (!_free.TryGetValue(capacity, out var stack)) _free[capacity] = stack = new Stack<ulong>();
                stack.Push(handle);
                _pooled += capacity;
                return;
            }
            _frees++;
        }
        freeRaw(handle);
    }

    /// <summary>Frees parked buffers, largest buckets first, until at most <paramref name="keepBytes"/> stay parked.</summary>
    public void Trim(long keepBytes = 0)
    {
        var release = new List<ulong>();
        lock (_gate)
        {
            foreach (long size in _free.Keys.OrderByDescending(k => k).ToList())
            {
                var stack = _free[size];
                while (_pooled > keepBytes && stack.TryPop(out ulong h))
                {
                    release.Add(h);
                    _pooled -= size;
                }
                if (stack.Count == 0) _free.Remove(size);
            }
            _frees += release.Count;
        }
        foreach (ulong h in release) freeRaw(h);
    }

    /// <summary>
    /// The cap from <c>$SERENGINE_GPU_POOL_MB</c> (MiB, 0 = off), else <see cref="DefaultCapacityMiB"/>.
    /// </summary>
    /// <exception cref="ArgumentException">The variable is not a whole number ≥ 0.</exception>
    public static long CapacityFromEnvironment()
    {
        string? text = Environment.GetEnvironmentVariable(CapacityEnvironmentVariable);
        if (string.IsNullOrWhiteSpace(text)) return DefaultCapacityMiB << 20;
        if (!long.TryParse(text.Trim(), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out long mib) || mib > (1L << 40))
            throw new ArgumentException($"{CapacityEnvironmentVariable} must be a whole number of MiB ≥ 0 (0 turns the GPU memory pool off), got '{text}'");
        return mib << 20;
    }
}
