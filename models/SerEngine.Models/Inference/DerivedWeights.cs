using SerEngine.Backends;

namespace SerEngine.Models.Inference;

/// <summary>
/// Tensors computed from a module's parameters for its fused eval-mode forward (BatchNorm folded
/// into conv weights, projections stacked into one matrix), cached until a source parameter changes:
/// every <see cref="Get"/> compares the sources' <see cref="Tensor.Version"/> stamps with those the
/// cache was built from and rebuilds on any difference. Thread-safe; the derived tensors live outside
/// any <see cref="TensorScope"/> and are released when rebuilt or on <see cref="Dispose"/>.
/// Weights may also be kept packed for their backend's kernels (<typeparamref name="TPacked"/>: GEMM
/// operands from <see cref="Backend.PackGemmA"/>, conv2d filters from <see cref="Backend.PackConv2dWeight"/>),
/// packed again with every rebuild.
/// </summary>
/// <typeparam name="TPacked">What the backend packs the derived weights into.</typeparam>
internal sealed class DerivedWeights<TPacked> : IDisposable where TPacked : class
{
    private readonly Tensor[] _sources;
    private readonly Func<Tensor[]> _build;
    private readonly Func<Tensor[], TPacked[]>? _pack;
    private readonly object _gate = new();
    private long[]? _versions;
    private Tensor[]? _derived;
    private TPacked[] _packed = [];

    /// <summary>
    /// Derives <paramref name="build"/>'s tensors from <paramref name="sources"/> (parameters and buffers,
    /// which keep their identity); <paramref name="pack"/>, if given, packs weights from the derived
    /// tensors or the sources after each build (see <see cref="GetPacked"/>).
    /// </summary>
    public DerivedWeights(Tensor[] sources, Func<Tensor[]> build, Func<Tensor[], TPacked[]>? pack = null)
    {
        _sources = sources;
        _build = build;
        _pack = pack;
    }

    /// <summary>The derived tensors, rebuilt first when a source changed since the last build.</summary>
    public Tensor[] Get() => GetPacked().Derived;

    /// <summary>The derived tensors and the packed weights, both rebuilt first when a source changed since the last build.</summary>
    public (Tensor[] Derived, TPacked[] Packed) GetPacked()
    {
        lock (_gate)
        {
            var sources = _sources;
            if (_derived is not null && _versions is not null && Same(sources, _versions)) return (_derived, _packed);
            Release();
            using (TensorScope.Suspend())
            using (Autograd.Graph.NoGrad())
            {
                var built = _build();
                foreach (var t in built) t.KeepAlive();
                _derived = built;
                _packed = _pack?.Invoke(built) ?? [];
            }
            _versions = [.. sources.Select(s => s.Version)];
            return (_derived, _packed);
        }
    }

    /// <summary>Releases the cached tensors.</summary>
    public void Dispose()
    {
        lock (_gate) Release();
    }

    private static bool Same(Tensor[] sources, long[] versions)
    {
        if (sources.Length != versions.Length) return false;
        for (int i = 0; i < sources.Length; i++)
            if (sources[i].Version != versions[i]) return false;
        return true;
    }

    private void Release()
    {
        if (_derived is not null)
            foreach (var t in _derived) t.Dispose();
        _derived = null;
        _packed = [];
        _versions = null;
    }
}
