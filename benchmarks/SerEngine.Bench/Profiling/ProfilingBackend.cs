using System.Diagnostics;
using System.Globalization;
using SerEngine.Backends;
using SerEngine.Backends.Cpu;
using SerEngine.Backends.Gpu;

namespace SerEngine.Bench;

/// <summary>
/// A stopwatch around every primitive of any backend (<c>ser bench --profile</c>): a decorator that
/// forwards each member of <see cref="Backend"/> to <see cref="Inner"/> and records time and calls
/// per primitive and operand shape, so a slow case shows where its time goes. Conv2d rows on the
/// <c>cpu</c> backend also name the path that ran (<c>path=NAME</c>). On OpenCL and CUDA each call
/// ends with a synchronisation, so a row holds the kernel's time, not its enqueueing.
/// Its buffers are <see cref="ProfiledStorage"/> wrappers of the inner backend's, so tensors made on
/// it keep coming back to it. Every abstract and virtual primitive is overridden here (a test checks
/// that by reflection): a primitive added to <see cref="Backend"/> cannot run unprofiled.
/// Single-threaded callers only (the engine calls primitives from one thread).
/// </summary>
public sealed partial class ProfilingBackend : Backend
{
    private readonly Dictionary<string, (long Ticks, int Calls, long Launches)> _totals = [];
    private readonly Action? _synchronize;
    private readonly GpuBackend? _gpu; // counts kernel launches per primitive
    private long _launchesAtStart;

    /// <summary>Profiles <paramref name="inner"/>.</summary>
    public ProfilingBackend(Backend inner)
    {
        ArgumentNullException.ThrowIfNull(inner);
        if (inner is ProfilingBackend) throw new ArgumentException("the backend is already profiled", nameof(inner));
        Inner = inner;
        _synchronize = DeviceSync.For(inner);
        _gpu = inner as GpuBackend;
    }

    /// <summary>The backend that does the work.</summary>
    public Backend Inner { get; }

    /// <inheritdoc/>
    public override string Name => Inner.Name;

    /// <inheritdoc/>
    public override string DeviceName => Inner.DeviceName;

    /// <summary>Forgets what was recorded so far.</summary>
    public void Reset() => _totals.Clear();

    /// <summary>
    /// Writes the recorded primitives, slowest first, as a table of total milliseconds per step and
    /// calls per step (<paramref name="steps"/> = how many steps were recorded), on OpenCL and CUDA with
    /// the kernel launches per step (<c>L</c>), down to <paramref name="minShare"/> of the total (0.5 % by
    /// default; 0 lists every row).
    /// </summary>
    public void Report(TextWriter w, int steps, double minShare = 0.005)
    {
        ArgumentNullException.ThrowIfNull(w);
        var inv = CultureInfo.InvariantCulture;
        double total = _totals.Values.Sum(v => v.Ticks) * 1e3 / Stopwatch.Frequency / steps;
        string launches = _gpu is null ? "" : string.Create(inv, $", {_totals.Values.Sum(v => v.Launches) / (double)steps:0.#} kernel launches");
        w.WriteLine(string.Create(inv, $"  primitives: {total:0.000} ms per step{launches}"));
        foreach (var (key, (ticks, calls, launched)) in _totals.OrderByDescending(kv => kv.Value.Ticks))
        {
            double ms = ticks * 1e3 / Stopwatch.Frequency / steps;
            if (ms < minShare * total) break;
            string l = _gpu is null ? "" : string.Create(inv, $" {launched / (double)steps,5:0.#}L");
            w.WriteLine(string.Create(inv, $"  {ms,10:0.000} ms {100 * ms / total,5:0.0}% {calls / (double)steps,6:0.#}x{l}  {key}"));
        }
    }

    /// <summary>The clock at the start of a call (and, on a GPU backend, its launch count).</summary>
    private long Start()
    {
        if (_gpu is not null) _launchesAtStart = _gpu.CommandStats.KernelLaunches;
        return Stopwatch.GetTimestamp();
    }

    /// <summary>Ticks since <paramref name="t0"/>, after the device has finished (an argument before the row's key, so formatting the key is not timed).</summary>
    private long Stop(long t0)
    {
        _synchronize?.Invoke();
        return Stopwatch.GetTimestamp() - t0;
    }

    /// <summary>Adds one call of <paramref name="ticks"/> (and the launches since <see cref="Start"/>) to the row <paramref name="key"/>.</summary>
    private void Record(long ticks, string key)
    {
        long launched = _gpu is null ? 0 : _gpu.CommandStats.KernelLaunches - _launchesAtStart;
        _totals[key] = _totals.TryGetValue(key, out var v) ? (v.Ticks + ticks, v.Calls + 1, v.Launches + launched) : (ticks, 1, launched);
    }

    /// <summary>The inner backend's buffer behind one of ours.</summary>
    private Storage U(Storage s) => s is ProfiledStorage p && ReferenceEquals(p.Backend, this) ? p.Inner
        : throw new ArgumentException($"buffer belongs to backend '{s.Backend.Name}', not to this profiler of {Inner.Name}; move the tensor first");

    private Storage? UOrNull(Storage? s) => s is null ? null : U(s);

    private static string S(Shape s) => s.ToString();

    private static string G(in Conv2dGeometry g) => $"x[{g.N},{g.C},{g.H},{g.W}] w[{g.K},{g.C},{g.R},{g.S}] s{g.StrideH}";

    /// <summary>
    /// On the cpu backend, the conv2d path the pass runs, as <c> path=NAME</c> (<see cref="CpuBackend.ChooseConv2dPath"/>),
    /// followed by <c> tile=4x4</c> where a Winograd path takes its large tiles (<see cref="CpuBackend.Conv2dWinogradTile"/>); elsewhere nothing.
    /// </summary>
    private string P(Conv2dPass pass, in Conv2dGeometry g)
    {
        if (Inner is not CpuBackend cpu) return "";
        int tile = cpu.Conv2dWinogradTile(pass, g);
        return " path=" + Conv2dPathNames.Of(cpu.ChooseConv2dPath(pass, g)) + (tile == 4 ? " tile=4x4" : "");
    }

    // ---- memory -------------------------------------------------------------------------------

    /// <inheritdoc/>
    protected override Storage AllocateCore(int length, DType dtype)
    {
        long t0 = Start();
        var s = Inner.Allocate(length, dtype);
        Record(Stop(t0), "Allocate");
        return new ProfiledStorage(this, s);
    }

    /// <inheritdoc/>
    protected override void FreeCore(Storage storage)
    {
        var inner = U(storage);
        long t0 = Start();
        inner.Dispose();
        Record(Stop(t0), "Free");
    }

    /// <inheritdoc/>
    public override void Write(Storage dst, ReadOnlySpan<float> src)
    {
        long t0 = Start();
        Inner.Write(U(dst), src);
        Record(Stop(t0), $"Write {src.Length}");
    }

    /// <inheritdoc/>
    public override void Write(Storage dst, ReadOnlySpan<int> src)
    {
        long t0 = Start();
        Inner.Write(U(dst), src);
        Record(Stop(t0), $"Write Int32 {src.Length}");
    }

    /// <inheritdoc/>
    public override void Read(Storage src, Span<float> dst)
    {
        long t0 = Start();
        Inner.Read(U(src), dst);
        Record(Stop(t0), $"Read {dst.Length}");
    }

    /// <inheritdoc/>
    public override void Read(Storage src, Span<int> dst)
    {
        long t0 = Start();
        Inner.Read(U(src), dst);
        Record(Stop(t0), $"Read Int32 {dst.Length}");
    }

    /// <inheritdoc/>
    public override void Fill(Storage y, int n, float value)
    {
        long t0 = Start();
        Inner.Fill(U(y), n, value);
        Record(Stop(t0), "Fill");
    }

    /// <inheritdoc/>
    public override void CopyBlocks(Storage src, int srcOffset, int srcStride, Storage dst, int dstOffset, int dstStride, int blockLength, int count)
    {
        long t0 = Start();
        Inner.CopyBlocks(U(src), srcOffset, srcStride, U(dst), dstOffset, dstStride, blockLength, count);
        Record(Stop(t0), $"CopyBlocks {count}x{blockLength}");
    }
}
