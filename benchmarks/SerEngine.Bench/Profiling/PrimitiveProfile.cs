using System.Globalization;
using SerEngine.Backends;

namespace SerEngine.Bench;

/// <summary>
/// <c>ser bench --profile</c>: runs a case on a <see cref="ProfilingBackend"/> and prints where a
/// step's time goes, per primitive and operand shape.
/// </summary>
public static class PrimitiveProfile
{
    /// <summary>
    /// The profile's timing: untimed steps until the JIT has settled (at least 2, up to 50 or 2 s),
    /// then recorded ones (at least 5, more up to 1 s).
    /// </summary>
    public static TimingOptions Options { get; } = new()
    {
        WarmupRuns = 2, WarmupSeconds = 2, MaxWarmupRuns = 50, MinRuns = 5, MinSeconds = 1, MaxRuns = 200,
    };

    /// <summary>
    /// Profiles <paramref name="c"/> on <paramref name="backend"/> (wrapped in a <see cref="ProfilingBackend"/>) and writes the
    /// table: the rows of at least 0.5 % of the step, or every row with <paramref name="allRows"/>.
    /// </summary>
    public static void Run(BenchCase c, Backend backend, TextWriter stdout, bool allRows = false)
    {
        ArgumentNullException.ThrowIfNull(c);
        ArgumentNullException.ThrowIfNull(stdout);
        var profiler = backend as ProfilingBackend ?? new ProfilingBackend(backend);
        using var _ = BenchDefaults.Use(profiler);
        var step = c.Prepare(profiler);
        try
        {
            var t = TimingHarness.Measure(step.Run, Options, afterWarmup: profiler.Reset);
            stdout.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{c.Name}: {t.TotalMs / t.Runs:0.000} ms per step (profiled)"));
            profiler.Report(stdout, t.Runs, allRows ? 0 : 0.005);
        }
        finally
        {
            step.Cleanup?.Invoke();
        }
    }
}
