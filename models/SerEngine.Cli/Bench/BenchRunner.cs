using System.Diagnostics;
using SerEngine.Backends;

namespace SerEngine.Cli.Bench;

/// <summary>
/// Times a case as BENCH_CASES.md says: build the inputs once, run the step twice untimed, then
/// time at least <see cref="MinRuns"/> runs (more while the timed runs total less than
/// <see cref="MinSeconds"/>, up to <see cref="MaxRuns"/>) and report the median. The PyTorch peer
/// uses the same rule.
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
        var previous = BackendRegistry.Default;
        BackendRegistry.Default = backend; // anything a model allocates without naming a backend lands here too
        try
        {
            var step = benchCase.Prepare(backend);
            try
            {
                for (int i = 0; i < WarmupRuns; i++) step.Run();
                GC.Collect();
                GC.WaitForPendingFinalizers();
                var times = new List<double>();
                double total = 0;
                while (times.Count < MinRuns || (total < MinSeconds && times.Count < MaxRuns))
                {
                    long t0 = Stopwatch.GetTimestamp();
                    step.Run();
                    double s = Stopwatch.GetElapsedTime(t0).TotalSeconds;
                    times.Add(s);
                    total += s;
                }
                times.Sort();
                int n = times.Count;
                double median = n % 2 == 1 ? times[n / 2] : 0.5 * (times[n / 2 - 1] + times[n / 2]);
                return new BenchResult(benchCase.Name, median * 1e3, times[0] * 1e3, n, backend.Name, threads,
                    step.Flops is { } f ? f / median / 1e9 : null,
                    step.Bytes is { } b ? b / median / 1e9 : null);
            }
            finally
            {
                step.Cleanup?.Invoke();
            }
        }
        finally
        {
            BackendRegistry.Default = previous;
        }
    }
}
