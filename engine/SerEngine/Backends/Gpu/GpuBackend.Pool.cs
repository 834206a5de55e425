namespace SerEngine.Backends.Gpu;

// Allocation for both GPU backends, through one GpuBufferPool: AllocateCore rents a bucket-sized
// driver buffer, FreeCore parks it for reuse (or frees it past the cap). A backend supplies the raw
// pair AllocateRaw/FreeRaw and the storage record. LiveBytes keeps counting live tensors' bytes
// only; what the pool holds is in PoolStats.
public abstract partial class GpuBackend
{
    private readonly GpuBufferPool _pool;

    /// <summary>Creates the memory pool with its cap from <c>$SERENGINE_GPU_POOL_MB</c> (MiB; 0 = off; default 1024).</summary>
    /// <exception cref="ArgumentException">The variable is set but not a whole number ≥ 0.</exception>
    protected GpuBackend() => _pool = new GpuBufferPool(AllocateRaw, FreeRaw, GpuBufferPool.CapacityFromEnvironment());

    /// <summary>Environment variable giving the memory pool's cap in MiB (0 turns pooling off).</summary>
    public const string PoolCapacityEnvironmentVariable = GpuBufferPool.CapacityEnvironmentVariable;

    /// <summary>
    /// Most bytes of freed buffers the memory pool keeps for reuse; a free beyond it goes to the
    /// driver. Lowering it releases parked buffers until the pool fits; 0 turns pooling off.
    /// </summary>
    public long PoolCapacityBytes
    {
        get => _pool.CapacityBytes;
        set => _pool.CapacityBytes = value;
    }

    /// <summary>The memory pool's counters: requests, hits, driver allocations and frees, bytes parked and in use.</summary>
    public GpuPoolStats PoolStats => _pool.Stats;

    /// <summary>Returns every parked (freed, pooled) buffer to the driver; live buffers are untouched.</summary>
    public void TrimPool() => _pool.Trim();

    /// <summary>Asks the driver for <paramref name="bytes"/> of device memory; throws with the driver's error.</summary>
    protected abstract ulong AllocateRaw(long bytes);

    /// <summary>Gives a buffer from <see cref="AllocateRaw"/> back to the driver.</summary>
    protected abstract void FreeRaw(ulong handle);

    /// <summary>The backend's storage record for a driver buffer (handle 0 and capacity 0 for an empty one).</summary>
    private protected abstract GpuStorage NewStorage(DType dtype, int length, ulong handle, long capacityBytes);

    /// <inheritdoc/>
    protected sealed override Storage AllocateCore(int length, DType dtype)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        if (length == 0) return NewStorage(dtype, 0, 0, 0);
        ulong handle = _pool.Rent((long)length * dtype.ElementSize(), out long capacity);
        return NewStorage(dtype, length, handle, capacity);
    }

    /// <inheritdoc/>
    protected sealed override void FreeCore(Storage storage)
    {
        var gs = (GpuStorage)storage;
        ulong handle = gs.Handle;
        gs.Handle = 0;
        if (handle != 0) _pool.Return(handle, gs.CapacityBytes);
    }

    /// <summary>Frees cached scratch and the parked buffers and turns the pool off, so buffers freed later go straight to the driver (on dispose).</summary>
    private protected void ClosePool()
    {
        ReleaseTwiddleTables();
        ReleaseMelTables();
        _pool.CapacityBytes = 0;
    }
}
