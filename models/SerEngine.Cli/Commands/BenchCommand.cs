using System.Globalization;
using SerEngine.Backends;
using SerEngine.Backends.Cpu;
using SerEngine.Bench;

namespace SerEngine.Cli.Commands;

/// <summary>
/// <c>ser bench --case NAME [--case NAME ...] [--backend NAME] [--threads N]</c>: times the cases of
/// shared/docs/BENCH_CASES.md and prints one JSON line per case
/// (<c>{"case": NAME, "ms": MEDIAN, "backend": ..., "threads": ...}</c> plus rates). <c>--list</c>
/// prints the case names; <c>--case all</c> runs every case. A thin command over the benchmark harness
/// of benchmarks/SerEngine.Bench (the cases, the timing rule, the profiler), which the kernel lab shares.
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
        new("--profile", null, "instead of timing, print where a step's time goes: milliseconds per primitive and shape on any backend (after a longer warm-up; on opencl/cuda each primitive synchronised), and on opencl/cuda first what a step costs the driver (kernel launches, memory commands, uploads and downloads, buffer requests, pool hits, driver allocations) and the launches of each primitive (L)"),
        new("--all-rows", null, "with --profile: list every primitive row, not only those of at least 0.5 % of the step"),
    ];

    /// <inheritdoc/>
    public int Run(ParsedArgs args, TextWriter stdout, TextWriter stderr)
    {
        if (args.Positionals.Count > 0) throw new UsageException($"bench takes no positional arguments (usage: ser {Usage})");
        if (args.Flag("--list"))
        {
            foreach (var c in BenchCases.All) stdout.WriteLine($"{c.Name}  {c.Description}");
            foreach (var c in BenchCases.Probes) stdout.WriteLine($"{c.Name}  {c.Description}");
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
        // the cpu backend is built here so --threads applies; others come from the registry
        Backend backend = backendName == "cpu" ? new CpuBackend(threads) : ModelCommandOptions.GetBackend(backendName);
        bool allRows = args.Flag("--all-rows");
        if (allRows && !args.Flag("--profile")) throw new UsageException("--all-rows applies to --profile");
        if (args.Flag("--profile"))
        {
            foreach (var c in cases)
            {
                // a GPU backend: launches, transfers and allocations per step first
                if (backend is Backends.Gpu.GpuBackend gpu) GpuStepProfile.Run(c, gpu, stdout);
                PrimitiveProfile.Run(c, backend, stdout, allRows);
                stdout.Flush();
            }
            return 0;
        }
        int reported = backend is CpuBackend cpu ? cpu.ThreadCount : backendName == "cpu-reference" ? 1 : threads;
        var runner = new BenchRunner { MinRuns = runs, MinSeconds = minSeconds };
        foreach (var c in cases)
        {
            stdout.WriteLine(runner.Measure(c, backend, reported).ToJson());
            stdout.Flush();
        }
        return 0;
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
