using SerEngine.Backends;

namespace SerEngine.Bench;

/// <summary>
/// Times a case as BENCH_CASES.md says: build the inputs once, run the step twice untimed, then
/// time at least <see cref="MinRuns"/> runs (more while the timed runs total less than
/// <see cref="MinSeconds"/>, up to <see cref="MaxRuns"/>) and report the median
/// (<see cref="TimingHarness"/>). The PyTorch peer uses the same rule.
/// </summary>
public sealed class BenchRunner
{
    /// <summary>Untimed runs before timing.</summary>
    public int WarmupRuns { get; init; } = 2;

    /// <summary>Fewest timed runs (BENCH_CASES.md: at least 7).</summary>
    public int MinRuns { get; init; } = 7;

    /// <summary>Keep timing while the timed runs total less than this (short cases get more runs).</summary>
    public double MinSeconds { get; init; } = 1.0;

    /// <summary>Most timed runs.</summary>
    public int MaxRuns { get; init; } = 200;

    /// <summary>Prepares and times <paramref name="benchCase"/> on <paramref name="backend"/>.</summary>
    public BenchResult Measure(BenchCase benchCase, Backend backend, int threads)
    {
        ArgumentNullException.ThrowIfNull(benchCase);
        ArgumentNullException.ThrowIfNull(backend);
        using var _ = BenchDefaults.Use(backend);
        var step = benchCase.Prepare(backend);
        try
        {
            // a step reads its result back, so it returns when the device is done: no synchronisation needed
            var t = TimingHarness.Measure(step.Run, new TimingOptions
            {
                WarmupRuns = WarmupRuns, CollectAfterWarmup = true, MinRuns = MinRuns, MinSeconds = MinSeconds, MaxRuns = MaxRuns,
            });
            double median = t.MedianMs / 1e3;
            return new BenchResult(benchCase.Name, t.MedianMs, t.MinMs, t.Runs, backend.Name, threads,
                step.Flops is { } f ? f / median / 1e9 : null,
                step.Bytes is { } b ? b / median / 1e9 : null);
        }
        finally
        {
            step.Cleanup?.Invoke();
        }
    }
}

/// <summary>Makes a backend <see cref="BackendRegistry.Default"/> while a case runs on it.</summary>
public static class BenchDefaults
{
    /// <summary>
    /// Sets <see cref="BackendRegistry.Default"/> to <paramref name="backend"/> (anything a model allocates
    /// without naming a backend lands there too) until the result is disposed, which restores the previous one.
    /// </summary>
    public static IDisposable Use(Backend backend)
    {
        var previous = BackendRegistry.Default;
        BackendRegistry.Default = backend;
        return new Restore(previous);
    }

    private sealed class Restore(Backend previous) : IDisposable
    {
        public void Dispose() => BackendRegistry.Default = previous;
    }
}
