namespace SerEngine;

/// <summary>
/// Releases every tensor created while it is the current scope (on this thread) when it is
/// disposed, except tensors that were kept (<see cref="Tensor.KeepAlive"/>), parameters, gradients
/// of leaves and optimizer state. The usual pattern is one scope per training step:
/// <code>using (TensorScope.Begin()) { var loss = ...; loss.Backward(); opt.Step(); }</code>
/// Scopes nest; <see cref="Suspend"/> opens a region whose tensors belong to no scope.
/// </summary>
public sealed class TensorScope : IDisposable
{
    [ThreadStatic] private static TensorScope? _current;
    [ThreadStatic] private static int _suspended;

    private readonly TensorScope? _parent;
    private readonly List<Tensor> _owned = [];
    private bool _disposed;

    private TensorScope(TensorScope? parent) => _parent = parent;

    /// <summary>The innermost open scope on this thread, if any.</summary>
    public static TensorScope? Current => _suspended > 0 ? null : _current;

    /// <summary>Opens a scope and makes it current.</summary>
    public static TensorScope Begin() => _current = new TensorScope(_current);

    /// <summary>Number of tensors this scope will release.</summary>
    public int Count => _owned.Count;

    /// <summary>Opens a region where new tensors belong to no scope (persistent state).</summary>
    public static IDisposable Suspend()
    {
        _suspended++;
        return new Resume();
    }

    internal static void Track(Tensor t)
    {
        var s = Current;
        if (s is null) return;
        t.Scope = s;
        s._owned.Add(t);
    }

    /// <summary>Moves <paramref name="t"/> to the enclosing scope (or to none) so it survives this one.</summary>
    public Tensor Keep(Tensor t)
    {
        if (!ReferenceEquals(t.Scope, this)) return t;
        t.Scope = _parent;
        _parent?._owned.Add(t);
        return t;
    }

    /// <summary>Releases the tensors this scope still owns and makes the parent current.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        if (!ReferenceEquals(_current, this))
            throw new InvalidOperationException("TensorScope disposed out of order: dispose inner scopes first");
        _current = _parent;
        foreach (var t in _owned)
            if (ReferenceEquals(t.Scope, this)) t.Dispose();
        _owned.Clear();
    }

    private sealed class Resume : IDisposable
    {
        private bool _done;

        public void Dispose()
        {
            if (_done) return;
            _done = true;
            _suspended--;
        }
    }
}
