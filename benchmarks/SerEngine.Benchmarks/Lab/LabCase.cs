using SerEngine.Backends;
using SerEngine.Backends.Gpu;

namespace SerEngine.Benchmarks.Lab;

/// <summary>What a case does with one of its buffers.</summary>
public enum LabRole
{
    /// <summary>Read only.</summary>
    Input,
    /// <summary>Written (overwritten) by the op; compared with the reference.</summary>
    Output,
    /// <summary>Read and updated in place (optimizer state, running statistics); compared with the reference.</summary>
    InOut,
}

/// <summary>
/// One named buffer of a lab case: its size and type, its role, its initial values (made once, on
/// first use, and given to both the device and the reference) and, for results, the tolerance.
/// </summary>
public sealed class LabBuffer
{
    private readonly Lazy<float[]>? _floats;
    private readonly Lazy<int[]>? _ints;

    private LabBuffer(string name, int length, DType dtype, LabRole role, double tolerance, Func<float[]>? floats, Func<int[]>? ints)
    {
        Name = name;
        Length = length;
        DType = dtype;
        Role = role;
        Tolerance = tolerance;
        if (floats is not null) _floats = new Lazy<float[]>(() => CheckLength(floats()));
        if (ints is not null) _ints = new Lazy<int[]>(() => CheckLength(ints()));
    }

    /// <summary>Name the op's run action looks the buffer up by.</summary>
    public string Name { get; }

    /// <summary>Elements.</summary>
    public int Length { get; }

    /// <summary>Element type.</summary>
    public DType DType { get; }

    /// <summary>Input, output or in-place.</summary>
    public LabRole Role { get; }

    /// <summary>
    /// For outputs: the largest accepted relative error, max |device − reference| / max |reference|
    /// over the buffer (0 = bit for bit; Int32 buffers are always compared exactly).
    /// </summary>
    public double Tolerance { get; }

    /// <summary>The initial float values (inputs and in-place buffers).</summary>
    public float[]? InitialFloats => _floats?.Value;

    /// <summary>The initial int values (Int32 inputs).</summary>
    public int[]? InitialInts => _ints?.Value;

    /// <summary>Compulsory bytes: inputs and outputs once, in-place buffers twice.</summary>
    public long Bytes => (Role == LabRole.InOut ? 2L : 1L) * Length * DType.ElementSize();

    /// <summary>n normal values·scale + offset from a fixed seed.</summary>
    public static LabBuffer Normal(string name, int n, ulong seed, float scale = 1f, float offset = 0f) =>
        Floats(name, n, () => NormalValues(n, seed, scale, offset));

    /// <summary>A Float32 input with the values <paramref name="values"/> makes.</summary>
    public static LabBuffer Floats(string name, int n, Func<float[]> values) =>
        new(name, n, DType.Float32, LabRole.Input, 0, values, null);

    /// <summary>An Int32 input with the values <paramref name="values"/> makes.</summary>
    public static LabBuffer Ints(string name, int n, Func<int[]> values) =>
        new(name, n, DType.Int32, LabRole.Input, 0, null, values);

    /// <summary>A Float32 result, accepted within <paramref name="tolerance"/> of the reference.</summary>
    public static LabBuffer Output(string name, int n, double tolerance) =>
        new(name, n, DType.Float32, LabRole.Output, tolerance, null, null);

    /// <summary>An Int32 result, compared exactly.</summary>
    public static LabBuffer IntOutput(string name, int n) =>
        new(name, n, DType.Int32, LabRole.Output, 0, null, null);

    /// <summary>A Float32 buffer updated in place, accepted within <paramref name="tolerance"/>.</summary>
    public static LabBuffer InOut(string name, int n, Func<float[]> values, double tolerance) =>
        new(name, n, DType.Float32, LabRole.InOut, tolerance, values, null);

    /// <summary>Normal values from a fixed seed (times scale, plus offset).</summary>
    public static float[] NormalValues(int n, ulong seed, float scale = 1f, float offset = 0f)
    {
        var rng = new Generator(seed);
        var v = new float[n];
        for (int i = 0; i < n; i++) v[i] = rng.NextNormal() * scale + offset;
        return v;
    }

    private T[] CheckLength<T>(T[] values) => values.Length == Length ? values
        : throw new InvalidOperationException($"lab buffer {Name}: {values.Length} initial values for {Length} elements");
}

/// <summary>The storages of one case on one backend, by buffer name.</summary>
public sealed class LabArgs
{
    private readonly Dictionary<string, Storage> _byName;

    internal LabArgs(Dictionary<string, Storage> byName) => _byName = byName;

    /// <summary>The storage of the buffer called <paramref name="name"/>.</summary>
    public Storage this[string name] => _byName.TryGetValue(name, out var s) ? s
        : throw new KeyNotFoundException($"lab case has no buffer '{name}' (has: {string.Join(", ", _byName.Keys)})");
}

/// <summary>
/// One size and launch shape of an op: its buffers, the call that runs it on a backend (the same call
/// runs on the device and on the CPU reference), and its work (flops or compulsory bytes).
/// </summary>
public sealed class LabCase
{
    /// <summary>A case.</summary>
    /// <param name="name">Short label: pass, shape, flags.</param>
    /// <param name="buffers">Buffers, inputs first by convention.</param>
    /// <param name="run">Runs the op on a backend with that backend's storages.</param>
    /// <param name="flops">Floating-point operations of one call (GFLOP/s ops); null = a memory-bound op,
    /// whose work is the compulsory bytes of its buffers.</param>
    /// <param name="bytes">Overrides the compulsory bytes (when a buffer the API takes is not read).</param>
    /// <param name="expectKernel">On a GPU backend: the kernel the launch code must pick for this shape
    /// (the last kernel launched); a different one fails the check.</param>
    public LabCase(string name, IReadOnlyList<LabBuffer> buffers, Action<Backend, LabArgs> run,
        double? flops = null, double? bytes = null, string? expectKernel = null)
    {
        Name = name;
        Buffers = buffers;
        Run = run;
        Flops = flops;
        Bytes = bytes ?? buffers.Sum(b => (double)b.Bytes);
        ExpectKernel = expectKernel;
    }

    /// <summary>Short label.</summary>
    public string Name { get; }

    /// <summary>The buffers.</summary>
    public IReadOnlyList<LabBuffer> Buffers { get; }

    /// <summary>Runs the op on a backend.</summary>
    public Action<Backend, LabArgs> Run { get; }

    /// <summary>Floating-point operations of one call, for compute-bound ops.</summary>
    public double? Flops { get; }

    /// <summary>Compulsory bytes of one call.</summary>
    public double Bytes { get; }

    /// <summary>The kernel a GPU backend must launch last for this case, if the case pins one.</summary>
    public string? ExpectKernel { get; }
}

/// <summary>
/// One variant of an op: its validation cases (odd sizes, sizes that are not multiples of a tile,
/// batch 1, several work-groups), its timing cases, and how to select it on a GPU backend.
/// </summary>
/// <param name="Name">Variant name as the kernel file's header calls it.</param>
/// <param name="Checks">Cases compared with the CPU reference before any timing.</param>
/// <param name="Timings">Cases timed once every check has passed.</param>
/// <param name="Select">Makes a GPU backend use this variant and returns what restores the previous
/// choice; null when the launch code picks the kernel from the shape (the checks then pin it).</param>
/// <param name="Unavailable">Why a GPU backend's device cannot run this variant (e.g. no subgroups), or null
/// when it can; such a variant is listed as skipped, with the reason, and not counted.</param>
public sealed record LabVariant(string Name, IReadOnlyList<LabCase> Checks, IReadOnlyList<LabCase> Timings,
    Func<GpuBackend, IDisposable>? Select = null, Func<GpuBackend, string?>? Unavailable = null);
