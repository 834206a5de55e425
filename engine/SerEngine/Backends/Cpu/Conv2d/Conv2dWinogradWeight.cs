namespace SerEngine.Backends.Cpu;

/// <summary>
/// Filters kept as Winograd panels U [α² ξ][K/16][C][16] (<see cref="Conv2dWinograd.Panels(float[], in Conv2dGeometry, int)"/>:
/// pinned, 64-byte aligned from <see cref="CpuBackend.Align64"/>), the fast CPU backend's packed conv2d weight.
/// </summary>
internal sealed class Conv2dWinogradWeight(Backend backend, Storage source, in Conv2dGeometry g, float[] panels)
    : PackedConv2dWeight(backend, source, g)
{
    public float[] Panels { get; } = panels;

    private float[]? _pooledPanels;

    /// <summary>
    /// The filters' panels for the pooled forward when it takes another tile size than <see cref="Panels"/>
    /// (Conv2dWinograd.PooledTileSize), built from <see cref="PackedConv2dWeight.Source"/> on the first pooled call.
    /// </summary>
    public float[] PooledPanels(int threads) => Volatile.Read(ref _pooledPanels) ?? BuildPooledPanels(threads);

    /// <summary>The first pooled call's panels (its own method: the factory's closure is built only here, not on every call).</summary>
    private float[] BuildPooledPanels(int threads) =>
        LazyInitializer.EnsureInitialized(ref _pooledPanels, () => Conv2dWinograd.PooledPanels(((CpuStorage)Source).F, Geometry, threads));
}
