using System.Globalization;
using SerEngine.Backends;
using SerEngine.Backends.Gpu;

namespace SerEngine.Bench;

/// <summary>
/// <c>ser bench --profile --backend opencl|cuda</c>: runs a case a few times and prints what one step
/// costs the driver: kernel launches, memory commands and host transfers (<see cref="GpuBackend.CommandStats"/>),
/// and how many buffers it asked for and how many of those reached the driver (the memory pool's
/// counters, <see cref="GpuBackend.PoolStats"/>). Run it with <c>SERENGINE_GPU_POOL_MB=0</c> to see
/// the allocations without the pool.
/// </summary>
public static class GpuStepProfile
{
    /// <summary>Untimed steps first: kernel builds, constant-table uploads and the pool's first fill happen there.</summary>
    public const int WarmupSteps = 2;

    /// <summary>Recorded steps.</summary>
    public const int RecordedSteps = 3;

    /// <summary>Runs <paramref name="c"/> on <paramref name="backend"/> and writes its counts per step.</summary>
    public static void Run(BenchCase c, GpuBackend backend, TextWriter w)
    {
        ArgumentNullException.ThrowIfNull(c);
        ArgumentNullException.ThrowIfNull(backend);
        ArgumentNullException.ThrowIfNull(w);
        using var _ = BenchDefaults.Use(backend);
        var step = c.Prepare(backend);
        var before = backend.PoolStats;
        var commandsBefore = backend.CommandStats;
        var t = TimingHarness.Measure(step.Run, new TimingOptions { WarmupRuns = WarmupSteps, MinRuns = RecordedSteps, MaxRuns = RecordedSteps },
            afterWarmup: () => (before, commandsBefore) = (backend.PoolStats, backend.CommandStats));
        var after = backend.PoolStats;
        var commands = backend.CommandStats - commandsBefore;
        long live = backend.LiveBytes; // read with the pool's counters, before the case's inputs are freed
        step.Cleanup?.Invoke();
        w.WriteLine(Format(c.Name, backend, t.TotalMs / t.Runs, before, after, commands, live, t.Runs));
    }

    /// <summary>The report: the commands per step, the allocations per step, and the bytes now.</summary>
    public static string Format(string name, GpuBackend backend, double ms, GpuPoolStats before, GpuPoolStats after, GpuCommandStats commands, long liveBytes, int steps)
    {
        ArgumentNullException.ThrowIfNull(backend);
        double PerStep(long count) => count / (double)steps;
        var inv = CultureInfo.InvariantCulture;
        return string.Create(inv,
            $"{name}: {ms:0.0} ms per step ({backend.Name}, {backend.DeviceName}; pool cap {after.CapacityBytes >> 20} MiB{(after.CapacityBytes == 0 ? ", off" : "")})\n" +
            $"  per step: {PerStep(commands.KernelLaunches):0.#} kernel launches, {PerStep(commands.MemoryCommands):0.#} memory commands (copies, fills), " +
            $"{PerStep(commands.Uploads):0.#} uploads ({PerStep(commands.UploadBytes) / 1024:0.#} KiB), {PerStep(commands.Downloads):0.#} downloads ({PerStep(commands.DownloadBytes) / 1024:0.#} KiB)\n" +
            $"  per step: {PerStep(after.Requests - before.Requests):0.#} buffers requested, {PerStep(after.Hits - before.Hits):0.#} from the pool, " +
            $"{PerStep(after.DriverAllocations - before.DriverAllocations):0.#} driver allocations, {PerStep(after.DriverFrees - before.DriverFrees):0.#} driver frees\n" +
            $"  now: {after.PooledBytes / 1048576.0:0.00} MiB parked in the pool, {after.InUseBytes / 1048576.0:0.00} MiB in live buffers " +
            $"(live tensors {liveBytes / 1048576.0:0.00} MiB; the rest is bucket rounding and cached twiddle tables)");
    }
}
