using SerEngine.Backends;

namespace SerEngine.Models.Inference;

/// <summary>
/// The intermediate buffers of a fused eval-mode forward (conv maps, projections, scratch), kept from one call to the next
/// so that a call of the same input shape allocates none of them (no tensor objects, no storage from the backend's pool).
/// Why: a batch-1 forward is ≈ 30 short primitive calls, and each new tensor is a few managed objects; on a virtual machine
/// where the first touch of a fresh memory page costs microseconds, a call's garbage arriving on fresh pages cost as much
/// as several primitives. Slots are numbered by the caller; a slot is re-created when its shape changes. The buffers belong
/// to no <see cref="TensorScope"/> and are released by <see cref="Dispose"/>. Not thread-safe: a model hands it to one
/// forward at a time (<see cref="Rent"/> / <see cref="Return"/>).
/// </summary>
internal sealed class FusedWorkspace : IDisposable
{
    private readonly Backend _backend;
    private Tensor?[] _slots = new Tensor?[32];

    private FusedWorkspace(Backend backend) => _backend = backend;

    /// <summary>The workspace left in <paramref name="cache"/> if it is for <paramref name="backend"/> (taking it out), else a new one.</summary>
    public static FusedWorkspace Rent(ref FusedWorkspace? cache, Backend backend)
    {
        var ws = Interlocked.Exchange(ref cache, null);
        if (ws is not null && ReferenceEquals(ws._backend, backend)) return ws;
        ws?.Dispose();
        return new FusedWorkspace(backend);
    }

    /// <summary>Puts <paramref name="ws"/> back into <paramref name="cache"/> for the next forward (releasing one a concurrent forward left there).</summary>
    public static void Return(ref FusedWorkspace? cache, FusedWorkspace ws) => Interlocked.Exchange(ref cache, ws)?.Dispose();

    /// <summary>Slot <paramref name="slot"/>'s float tensor of shape [d0, d1].</summary>
    public Tensor Get(int slot, int d0, int d1) => Get(slot, 2, d0, d1, 1, 1);

    /// <summary>Slot <paramref name="slot"/>'s float tensor of shape [d0, d1, d2].</summary>
    public Tensor Get(int slot, int d0, int d1, int d2) => Get(slot, 3, d0, d1, d2, 1);

    /// <summary>Slot <paramref name="slot"/>'s float tensor of shape [d0, d1, d2, d3] (contents: whatever the last call left).</summary>
    public Tensor Get(int slot, int d0, int d1, int d2, int d3) => Get(slot, 4, d0, d1, d2, d3);

    /// <summary>
    /// Slot <paramref name="slot"/>'s view of <paramref name="source"/> (another slot's tensor) as [d0, d1, d2, d3], sharing its data;
    /// re-created when the source's buffer or the shape changes.
    /// </summary>
    public Tensor View(int slot, Tensor source, int d0, int d1, int d2, int d3)
    {
        if (slot >= _slots.Length) Array.Resize(ref _slots, Math.Max(slot + 1, 2 * _slots.Length));
        var t = _slots[slot];
        if (t is not null && ReferenceEquals(t.Storage, source.Storage) && Matches(t.Shape, 4, d0, d1, d2, d3)) return t;
        t?.Dispose();
        using (TensorScope.Suspend())
            t = source.Reshape(d0, d1, d2, d3).KeepAlive();
        _slots[slot] = t;
        return t;
    }

    private Tensor Get(int slot, int rank, int d0, int d1, int d2, int d3)
    {
        if (slot >= _slots.Length) Array.Resize(ref _slots, Math.Max(slot + 1, 2 * _slots.Length));
        var t = _slots[slot];
        if (t is not null && Matches(t.Shape, rank, d0, d1, d2, d3)) return t;
        t?.Dispose();
        int[] dims = rank switch { 2 => [d0, d1], 3 => [d0, d1, d2], _ => [d0, d1, d2, d3] };
        using (TensorScope.Suspend())
            t = Tensor.Empty(new Shape(dims), DType.Float32, _backend).KeepAlive();
        _slots[slot] = t;
        return t;
    }

    private static bool Matches(Shape s, int rank, int d0, int d1, int d2, int d3) =>
        s.Rank == rank && s[0] == d0 && s[1] == d1 && (rank < 3 || s[2] == d2) && (rank < 4 || s[3] == d3);

    /// <summary>Releases every buffer.</summary>
    public void Dispose()
    {
        for (int i = 0; i < _slots.Length; i++)
        {
            _slots[i]?.Dispose();
            _slots[i] = null;
        }
    }
}
