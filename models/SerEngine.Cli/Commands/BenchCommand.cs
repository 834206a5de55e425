using System.Globalization;
using SerEngine.Backends;
using SerEngine.Backends.Cpu;
using SerEngine.Cli.Bench;

namespace SerEngine.Cli.Commands;

/// <summary>
/// <c>ser bench --case NAME [--case NAME ...] [--backend NAME] [--threads N]</c>: times the cases of
/// shared/docs/BENCH_CASES.md and prints one JSON line per case
/// (<c>{"case": NAME, "ms": MEDIAN, "backend": ..., "threads": ...}</c> plus rates). <c>--list</c>
/// prints the case names; <c>--case all</c> runs every case.
/// </summary>
public sealed class BenchCommand : ICommand
{
    /// <inheritdoc/>
    public string Name => "bench";

    /// <inheritdoc/>
    public string Summary => "time the benchmark cases of BENCH_CASES.md (one JSON line each)";

    /// <inheritdoc/>
    public string Usage => "bench --case NAME|all [--case NAME ...] [--backend NAME] [--threads N] [--runs N] [--min-seconds S] | bench --list";

    /// <inheritdoc/>
    public IReadOnlyList<OptionSpec> Options { get; } =
    [
        new("--case", "NAME", "a case of BENCH_CASES.md, or 'all' (repeatable)", Repeatable: true),
        new("--backend", "NAME", "backend to run on (default cpu)"),
        new("--threads", "N", "worker threads of the cpu backend (default 2)"),
        new("--runs", "N", "fewest timed runs, at least 7 (default 7)"),
        new("--min-seconds", "S", "keep timing (up to 200 runs) while the timed runs total less than S seconds (default 1)"),
        new("--list", null, "print the case names with what each times"),
        new("--profile", null, "instead of timing, print where a step's time goes: on cpu, milliseconds per primitive and shape (after a longer warm-up); on opencl/cuda, buffer allocations per step (requests, pool hits, driver calls)"),
    ];

    /// <inheritdoc/>
    public int Run(ParsedArgs args, TextWriter stdout, TextWriter stderr)
    {
        if (args.Positionals.Count > 0) throw new UsageException($"bench takes no positional arguments (usage: ser {Usage})");
        if (args.Flag("--list"))
        {
            foreach (var c in BenchCases.All) stdout.WriteLine($"{c.Name}  {c.Description}");
            return 0;
        }
        var names = args.Values("--case");
        if (names.Count == 0) throw new UsageException("bench needs --case NAME (or --case all; 'ser bench --list' names them)");
        var cases = new List<BenchCase>();
        foreach (var name in names)
        {
            if (name == "all") cases.AddRange(BenchCases.All);
            else cases.Add(BenchCases.Find(name) ?? throw new UsageException(
                $"unknown bench case '{name}' (known: {string.Join(", ", BenchCases.All.Select(c => c.Name))})"));
        }
        int threads = PositiveInt(args, "--threads", 2);
        int runs = PositiveInt(args, "--runs", 7);
        if (runs < 7) throw new UsageException($"--runs must be at least 7 (BENCH_CASES.md), got {runs}");
        var minSecondsText = args.Value("--min-seconds", "1")!;
        if (!double.TryParse(minSecondsText, NumberStyles.Float, CultureInfo.InvariantCulture, out double minSeconds) || minSeconds < 0)
            throw new UsageException($"--min-seconds needs a number ≥ 0, got '{minSecondsText}'");
        var backendName = args.Value("--backend", "cpu")!;
        using var parallel = Audio.FrontEndThreads.Limit(threads);
        if (args.Flag("--profile"))
        {
            if (backendName == "cpu")
            {
                foreach (var c in cases) Profile(c, threads, stdout);
                return 0;
            }
            // a GPU backend: allocations per step (the memory pool's counters), not per-primitive times
            if (ModelCommandOptions.GetBackend(backendName) is not Backends.Gpu.GpuBackend gpu)
                throw new UsageException($"--profile works on the cpu backend and on GPU backends (opencl, cuda), not on '{backendName}'");
            foreach (var c in cases) GpuAllocationProfile.Run(c, gpu, stdout);
            return 0;
        }
        // the cpu backend is built here so --threads applies; others come from the registry
        Backend backend = backendName == "cpu" ? new CpuBackend(threads) : ModelCommandOptions.GetBackend(backendName);
        int reported = backend is CpuBackend cpu ? cpu.ThreadCount : backendName == "cpu-reference" ? 1 : threads;
        var runner = new BenchRunner { MinRuns = runs, MinSeconds = minSeconds };
        foreach (var c in cases)
        {
            stdout.WriteLine(runner.Measure(c, backend, reported).ToJson());
            stdout.Flush();
        }
        return 0;
    }

    /// <summary>
    /// Runs a case on the profiling backend: untimed steps until the JIT has settled (at least 2, up
    /// to 50 or 2 s), then recorded ones (at least 5, more up to 1 s).
    /// </summary>
    private static void Profile(BenchCase c, int threads, TextWriter stdout)
    {
        var backend = new ProfilingBackend(threads);
        var previous = BackendRegistry.Default;
        BackendRegistry.Default = backend;
        try
        {
            var step = c.Prepare(backend);
            long w0 = System.Diagnostics.Stopwatch.GetTimestamp();
            for (int i = 0; i < 2 || (i < 50 && System.Diagnostics.Stopwatch.GetElapsedTime(w0).TotalSeconds < 2); i++) step.Run();
            backend.Reset();
            long t0 = System.Diagnostics.Stopwatch.GetTimestamp();
            int steps = 0;
            while (steps < 5 || (steps < 200 && System.Diagnostics.Stopwatch.GetElapsedTime(t0).TotalSeconds < 1))
            {
                step.Run();
                steps++;
            }
            double ms = System.Diagnostics.Stopwatch.GetElapsedTime(t0).TotalMilliseconds / steps;
            stdout.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{c.Name}: {ms:0.000} ms per step (profiled)"));
            backend.Report(stdout, steps);
            step.Cleanup?.Invoke();
        }
        finally
        {
            BackendRegistry.Default = previous;
        }
    }

    private static int PositiveInt(ParsedArgs args, string name, int fallback)
    {
        var text = args.Value(name);
        if (text is null) return fallback;
        if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int v) || v < 1)
            throw new UsageException($"{name} needs a whole number ≥ 1, got '{text}'");
        return v;
    }
}
