using System.Diagnostics;

namespace SerEngine.Bench;

/// <summary>
/// How <see cref="TimingHarness.Measure"/> runs a call: untimed warm-up runs, then timed runs until
/// there are enough of them. The defaults are BENCH_CASES.md's rule (2 warm-ups, at least 7 runs).
/// </summary>
public sealed record TimingOptions
{
    /// <summary>Untimed runs first (at least one when <see cref="MinRunMilliseconds"/> batches calls: it sizes the batch).</summary>
    public int WarmupRuns { get; init; } = 2;

    /// <summary>Keep warming up while the warm-up runs total less than this (JIT tiering settles), up to <see cref="MaxWarmupRuns"/>.</summary>
    public double WarmupSeconds { get; init; }

    /// <summary>Most warm-up runs when <see cref="WarmupSeconds"/> asks for more than <see cref="WarmupRuns"/>.</summary>
    public int MaxWarmupRuns { get; init; } = 50;

    /// <summary>Collect garbage after the warm-up, so no collection of its garbage lands in a timed run.</summary>
    public bool CollectAfterWarmup { get; init; }

    /// <summary>Fewest timed runs.</summary>
    public int MinRuns { get; init; } = 7;

    /// <summary>Keep timing while the timed runs total less than this (short calls get more runs), up to <see cref="MaxRuns"/>.</summary>
    public double MinSeconds { get; init; }

    /// <summary>Most timed runs when <see cref="MinSeconds"/> asks for more than <see cref="MinRuns"/>.</summary>
    public int MaxRuns { get; init; } = 200;

    /// <summary>
    /// 0: one call per timed run. Above 0: a run repeats the call until it lasts about this long (sized
    /// from the last warm-up, at most 1000 calls) and reports the time per call, so a 20 µs kernel is
    /// not lost in the timer's and the synchronisation's noise.
    /// </summary>
    public double MinRunMilliseconds { get; init; }
}

/// <summary>What <see cref="TimingHarness.Measure"/> measured; times are per call.</summary>
/// <param name="MedianMs">Median over the timed runs, in milliseconds.</param>
/// <param name="MinMs">Fastest timed run, in milliseconds.</param>
/// <param name="TotalMs">All timed runs together, in milliseconds (every call of every run).</param>
/// <param name="Runs">Timed runs.</param>
/// <param name="CallsPerRun">Calls per timed run.</param>
public sealed record TimingResult(double MedianMs, double MinMs, double TotalMs, int Runs, int CallsPerRun);

/// <summary>
/// The one timing rule of <c>ser bench</c>, its profiles and the kernel lab: warm up, then time runs
/// of the call with a <see cref="Stopwatch"/>, each run ending with the device's synchronisation, and
/// report the median.
/// </summary>
public static class TimingHarness
{
    /// <summary>Most calls in one timed run when <see cref="TimingOptions.MinRunMilliseconds"/> batches them.</summary>
    public const int MaxCallsPerRun = 1000;

    /// <summary>
    /// Times <paramref name="call"/> as <paramref name="options"/> says. <paramref name="synchronize"/>
    /// (null: nothing to wait for) ends every run, so queued device work is inside the clock;
    /// <paramref name="afterWarmup"/> runs once between the warm-up and the first timed run (a profiler's reset).
    /// </summary>
    public static TimingResult Measure(Action call, TimingOptions options, Action? synchronize = null, Action? afterWarmup = null)
    {
        ArgumentNullException.ThrowIfNull(call);
        ArgumentNullException.ThrowIfNull(options);
        if (options.MinRuns < 1) throw new ArgumentOutOfRangeException(nameof(options), $"at least one timed run, asked for {options.MinRuns}");
        bool batched = options.MinRunMilliseconds > 0;
        int warmups = batched ? Math.Max(1, options.WarmupRuns) : options.WarmupRuns;
        double last = 0, warmTotal = 0;
        for (int i = 0; i < warmups || (i < options.MaxWarmupRuns && warmTotal < options.WarmupSeconds * 1e3); i++)
        {
            last = Run(call, 1, synchronize);
            warmTotal += last;
        }
        if (options.CollectAfterWarmup)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
        }
        afterWarmup?.Invoke();
        int calls = batched ? (int)Math.Clamp(Math.Ceiling(options.MinRunMilliseconds / Math.Max(last, 1e-4)), 1, MaxCallsPerRun) : 1;
        var times = new List<double>();
        double total = 0;
        while (times.Count < options.MinRuns || (total < options.MinSeconds * 1e3 && times.Count < options.MaxRuns))
        {
            double ms = Run(call, calls, synchronize);
            times.Add(ms / calls);
            total += ms;
        }
        times.Sort();
        int n = times.Count;
        double median = n % 2 == 1 ? times[n / 2] : 0.5 * (times[n / 2 - 1] + times[n / 2]);
        return new TimingResult(median, times[0], total, n, calls);
    }

    /// <summary>Milliseconds of <paramref name="calls"/> calls and the synchronisation after them.</summary>
    private static double Run(Action call, int calls, Action? synchronize)
    {
        long t0 = Stopwatch.GetTimestamp();
        for (int k = 0; k < calls; k++) call();
        synchronize?.Invoke();
        return Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
    }
}
