using SerEngine.Backends.Cpu;

namespace SerEngine.Backends;

/// <summary>
/// Registry of backends by name. <c>cpu-reference</c> and <c>cpu</c> are always present; GPU
/// backends register a factory that may fail with a clear reason ("no OpenCL device: ...").
/// </summary>
public static class BackendRegistry
{
    private static readonly Lock Gate = new();
    private static readonly Dictionary<string, Lazy<Backend>> Factories = new(StringComparer.OrdinalIgnoreCase)
    {
        ["cpu-reference"] = new(() => new CpuReferenceBackend()),
        ["cpu"] = new(() => new CpuBackend()),
    };

    private static Backend? _default;

    // GPU backends only register factories here; nothing native is loaded until Get() asks.
    static BackendRegistry() => GpuBackends.Register();

    /// <summary>The backend new tensors go to when none is named (<c>cpu</c> unless changed).</summary>
    public static Backend Default
    {
        get => _default ??= Get("cpu");
        set => _default = value;
    }

    /// <summary>Registered backend names, in registration order.</summary>
    public static IReadOnlyList<string> Names
    {
        get { lock (Gate) return [.. Factories.Keys]; }
    }

    /// <summary>Adds (or replaces) a backend factory; used by GPU backends.</summary>
    public static void Register(string name, Func<Backend> factory)
    {
        lock (Gate) Factories[name] = new Lazy<Backend>(factory);
    }

    /// <summary>The backend called <paramref name="name"/>, created on first use.</summary>
    /// <exception cref="ArgumentException">Unknown name (the message lists the known ones).</exception>
    public static Backend Get(string name)
    {
        Lazy<Backend>? f;
        lock (Gate) Factories.TryGetValue(name, out f);
        if (f is null) throw new ArgumentException($"unknown backend '{name}' (known: {string.Join(", ", Names)})");
        return f.Value;
    }
}
