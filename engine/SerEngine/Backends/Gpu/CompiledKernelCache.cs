namespace SerEngine.Backends.Gpu;

/// <summary>
/// What the OpenCL program cache and the CUDA module cache share: each kernel file is compiled once
/// per process per set of options, looked up first by (file, options) and then by a key over the
/// source text, so the same source reached two ways is compiled once. The driver-specific part
/// (compile, load, the on-disk binary cache) is <see cref="Create"/>.
/// </summary>
/// <typeparam name="TImage">A compiled program or module.</typeparam>
public abstract class CompiledKernelCache<TImage> : IDisposable where TImage : class, IDisposable
{
    private readonly Lock _gate = new();
    private readonly string? _kernelDirectory;
    private readonly Dictionary<(string File, string Options), TImage> _byFile = [];
    private readonly Dictionary<string, TImage> _byKey = new(StringComparer.Ordinal);
    private int _builds, _diskLoads;

    /// <summary>A cache reading kernel files from <paramref name="kernelDirectory"/> and binaries from <paramref name="diskCache"/>.</summary>
    /// <param name="diskCache">Binary cache on disk; null disables it.</param>
    /// <param name="kernelDirectory">Folder to load kernel files from (default: <c>$SERENGINE_KERNEL_DIR</c>, then the embedded copies).</param>
    private protected CompiledKernelCache(KernelDiskCache? diskCache, string? kernelDirectory)
    {
        DiskCache = diskCache;
        _kernelDirectory = kernelDirectory;
    }

    /// <summary>The on-disk binary cache (null when disabled).</summary>
    public KernelDiskCache? DiskCache { get; }

    /// <summary>Compilations from source done by this cache.</summary>
    public int Builds => Volatile.Read(ref _builds);

    /// <summary>Programs or modules created from a binary found in the disk cache.</summary>
    public int DiskLoads => Volatile.Read(ref _diskLoads);

    /// <summary>The dialect this cache compiles.</summary>
    protected abstract KernelDialect Dialect { get; }

    /// <summary>The compiled kernel file <paramref name="fileName"/> built with <paramref name="options"/> (e.g. <c>-DTILE=16</c>).</summary>
    public TImage Get(string fileName, string options = "")
    {
        lock (_gate)
        {
            if (_byFile.TryGetValue((fileName, options), out var image)) return image;
            image = GetLocked(KernelSource.Load(fileName, Dialect, _kernelDirectory), options);
            _byFile[(fileName, options)] = image;
            return image;
        }
    }

    /// <summary>The compiled form of an already loaded source (e.g. <see cref="KernelSource.FromText"/>).</summary>
    public TImage Get(KernelSource source, string options = "")
    {
        ArgumentNullException.ThrowIfNull(source);
        if (source.Dialect != Dialect)
            throw new ArgumentException($"{source.FileName}: expected the {Dialect} dialect, got {source.Dialect}", nameof(source));
        lock (_gate) return GetLocked(source, options);
    }

    /// <summary>A key that names <paramref name="source"/> compiled with <paramref name="options"/> on this device.</summary>
    private protected abstract string MemoKey(KernelSource source, string options);

    /// <summary>Compiles or loads <paramref name="source"/>; called once per key, under the cache's lock.</summary>
    private protected abstract TImage Create(KernelSource source, string options);

    /// <summary>Counts a compilation from source.</summary>
    private protected void CountBuild() => _builds++;

    /// <summary>Counts a binary loaded from the disk cache.</summary>
    private protected void CountDiskLoad() => _diskLoads++;

    /// <summary>Runs before the images are released (e.g. to make a CUDA context current).</summary>
    private protected virtual void BeforeRelease() { }

    private TImage GetLocked(KernelSource source, string options)
    {
        var key = MemoKey(source, options);
        if (_byKey.TryGetValue(key, out var image)) return image;
        image = Create(source, options);
        _byKey[key] = image;
        return image;
    }

    /// <summary>Releases every program or module made by this cache.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            if (_byKey.Count > 0) BeforeRelease();
            foreach (var image in _byKey.Values) image.Dispose();
            _byKey.Clear();
            _byFile.Clear();
        }
        GC.SuppressFinalize(this);
    }
}
