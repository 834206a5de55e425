namespace SerEngine.Backends;

/// <summary>
/// A flat buffer of <see cref="Length"/> elements owned by one backend (a managed array, an OpenCL
/// buffer, a CUDA allocation). Reference-counted: tensors that share it (reshape, detach) each hold a
/// reference, and the last release returns the memory to the backend.
/// </summary>
public abstract class Storage : IDisposable
{
    private int _refs = 1;

    /// <summary>Creates a storage record; called by backends only.</summary>
    protected Storage(Backend backend, DType dtype, int length)
    {
        Backend = backend;
        DType = dtype;
        Length = length;
    }

    /// <summary>The backend that owns the memory.</summary>
    public Backend Backend { get; }

    /// <summary>Element type.</summary>
    public DType DType { get; }

    /// <summary>Number of elements.</summary>
    public int Length { get; }

    /// <summary>True once the last reference was released.</summary>
    public bool IsReleased => Volatile.Read(ref _refs) <= 0;

    /// <summary>True while more than one tensor holds this storage (a view shares it).</summary>
    internal bool IsShared => Volatile.Read(ref _refs) > 1;

    /// <summary>Adds a reference (a new tensor shares this storage).</summary>
    internal void AddRef()
    {
        if (Interlocked.Increment(ref _refs) <= 1)
            throw new ObjectDisposedException(nameof(Storage), "storage was already released");
    }

    /// <summary>Drops one reference; the last one frees the memory.</summary>
    public void Dispose()
    {
        int r = Interlocked.Decrement(ref _refs);
        if (r == 0) Backend.Free(this);
        GC.SuppressFinalize(this);
    }
}
