using BenchmarkDotNet.Attributes;
using SerEngine.Backends;
using SerEngine.Bench;
using SerEngine.Backends.Cuda;
using SerEngine.Backends.OpenCl;

namespace SerEngine.Benchmarks;

/// <summary>Which backends the suites run on, and how a benchmark waits for a GPU backend.</summary>
public static class BenchBackends
{
    /// <summary>
    /// The GPU backends this machine has a device for (<c>opencl</c>, <c>cuda</c>), found by listing
    /// devices without opening one; a suite adds its GPU cases only for these.
    /// </summary>
    public static IReadOnlyList<string> Gpu { get; } = FindGpus();

    /// <summary>
    /// The backends a suite measures: <c>cpu-reference</c> (only when <paramref name="small"/>: the
    /// oracle is plain loops), <c>cpu</c>, then every GPU backend present.
    /// </summary>
    public static IEnumerable<string> For(bool small) => small ? ["cpu-reference", "cpu", .. Gpu] : ["cpu", .. Gpu];

    /// <summary>Short label for a case's ToString (the summary table cuts long values).</summary>
    public static string Label(string backend) => backend == "cpu-reference" ? "ref" : backend;

    private static string[] FindGpus()
    {
        var found = new List<string>();
        if (ClDevice.TryList(out var cl, out _) && cl.Count > 0) found.Add("opencl");
        if (CuDevice.TryList(out var cu, out _) && cu.Count > 0) found.Add("cuda");
        return [.. found];
    }
}

/// <summary>
/// Base of the per-op suites: opens the case's backend, allocates its buffers (released in
/// <see cref="Dispose"/>) and waits for GPU work at the end of each measured call, so kernel time is
/// what is measured, not enqueue time.
/// </summary>
public abstract class BackendBenchmark : IDisposable
{
    private readonly List<Storage> _buffers = [];

    /// <summary>The backend of the current case.</summary>
    protected Backend Backend { get; private set; } = null!;

    /// <summary>Opens the registry backend called <paramref name="name"/>.</summary>
    protected void Open(string name) => Backend = BackendRegistry.Get(name);

    /// <summary>n normal values·scale + offset from a fixed seed.</summary>
    protected Storage Normal(int n, ulong seed, float scale = 1f, float offset = 0f)
    {
        var rng = new Generator(seed);
        var values = new float[n];
        for (int i = 0; i < n; i++) values[i] = rng.NextNormal() * scale + offset;
        return Floats(values);
    }

    /// <summary>A Float32 buffer holding <paramref name="values"/>.</summary>
    protected Storage Floats(float[] values)
    {
        var s = Track(Backend.Allocate(values.Length, DType.Float32));
        Backend.Write(s, values);
        return s;
    }

    /// <summary>An Int32 buffer holding <paramref name="values"/>.</summary>
    protected Storage Ints(int[] values)
    {
        var s = Track(Backend.Allocate(values.Length, DType.Int32));
        Backend.Write(s, values);
        return s;
    }

    /// <summary>A zeroed buffer of n elements.</summary>
    protected Storage Zeros(int n, DType dtype = DType.Float32)
    {
        var s = Track(Backend.Allocate(n, dtype));
        if (dtype == DType.Float32) Backend.Write(s, new float[n]);
        else Backend.Write(s, new int[n]);
        return s;
    }

    /// <summary>Waits for the backend's queued work (GPU backends; nothing on the CPU).</summary>
    protected void Synchronize() => DeviceSync.Synchronize(Backend);

    private Storage Track(Storage s)
    {
        _buffers.Add(s);
        return s;
    }

    /// <summary>Releases every buffer of the case.</summary>
    [GlobalCleanup]
    public void Dispose()
    {
        foreach (var s in _buffers) s.Dispose();
        _buffers.Clear();
        GC.SuppressFinalize(this);
    }
}
