using System.Globalization;
using SerEngine.Backends;
using SerEngine.Backends.Gpu;

namespace SerEngine.Bench;

/// <summary>
/// <c>ser bench --profile --backend opencl|cuda</c>: runs a case a few times and prints, per step,
/// how many buffers it asked for and how many of those reached the driver (the memory pool's
/// counters, <see cref="GpuBackend.PoolStats"/>). Run it with <c>SERENGINE_GPU_POOL_MB=0</c> to see
/// the counts without the pool.
/// </summary>
public static class GpuAllocationProfile
{
    /// <summary>Untimed steps first: kernel builds and the pool's first fill happen there.</summary>
    public const int WarmupSteps = 2;

    /// <summary>Recorded steps.</summary>
    public const int RecordedSteps = 3;

    /// <summary>Runs <paramref name="c"/> on <paramref name="backend"/> and writes its allocation counts per step.</summary>
    public static void Run(BenchCase c, GpuBackend backend, TextWriter w)
    {
        ArgumentNullException.ThrowIfNull(c);
        ArgumentNullException.ThrowIfNull(backend);
        ArgumentNullException.ThrowIfNull(w);
        using var _ = BenchDefaults.Use(backend);
        var step = c.Prepare(backend);
        var before = backend.PoolStats;
        var t = TimingHarness.Measure(step.Run, new TimingOptions { WarmupRuns = WarmupSteps, MinRuns = RecordedSteps, MaxRuns = RecordedSteps },
            afterWarmup: () => before = backend.PoolStats);
        var after = backend.PoolStats;
        long live = backend.LiveBytes; // read with the pool's counters, before the case's inputs are freed
        step.Cleanup?.Invoke();
        w.WriteLine(Format(c.Name, backend, t.TotalMs / t.Runs, before, after, live, t.Runs));
    }

    /// <summary>The report: one line of rates per step, one of bytes now.</summary>
    public static string Format(string name, GpuBackend backend, double ms, GpuPoolStats before, GpuPoolStats after, long liveBytes, int steps)
    {
        static double PerStep(long a, long b, int steps) => (b - a) / (double)steps;
        var inv = CultureInfo.InvariantCulture;
        return string.Create(inv,
            $"{name}: {ms:0.0} ms per step ({backend.Name}, {backend.DeviceName}; pool cap {after.CapacityBytes >> 20} MiB{(after.CapacityBytes == 0 ? ", off" : "")})\n" +
            $"  per step: {PerStep(before.Requests, after.Requests, steps):0.#} buffers requested, {PerStep(before.Hits, after.Hits, steps):0.#} from the pool, " +
            $"{PerStep(before.DriverAllocations, after.DriverAllocations, steps):0.#} driver allocations, {PerStep(before.DriverFrees, after.DriverFrees, steps):0.#} driver frees\n" +
            $"  now: {after.PooledBytes / 1048576.0:0.00} MiB parked in the pool, {after.InUseBytes / 1048576.0:0.00} MiB in live buffers " +
            $"(live tensors {liveBytes / 1048576.0:0.00} MiB; the rest is bucket rounding and cached twiddle tables)");
    }
}
