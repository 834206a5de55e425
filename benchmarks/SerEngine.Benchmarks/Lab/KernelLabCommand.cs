using System.Globalization;
using SerEngine.Backends;

namespace SerEngine.Benchmarks.Lab;

/// <summary>
/// <c>dotnet run -c Release --project benchmarks/SerEngine.Benchmarks -- lab [options]</c>: the
/// kernel lab on one backend. Exit code 0 when every variant validated, 1 when one failed, 2 for a
/// usage error or a missing device.
/// </summary>
public static class KernelLabCommand
{
    /// <summary>The help text.</summary>
    public static string Usage =>
        "usage: lab [--backend opencl|cuda|ilgpu|ilgpu-cpu|cpu|cpu-reference] [--op NAME[,NAME...]]... [--quick] [--runs N] [--jsonl FILE] [--list]\n" +
        "  --backend  backend under test (default opencl); every variant is checked against cpu-reference first\n" +
        $"  --op       op families to run (default all): {string.Join(", ", KernelLab.Ops.Select(o => o.Name))}\n" +
        "  --quick    fewer and smaller cases (under a minute on PoCL); what the tests run\n" +
        "  --runs N   timed runs per case, median reported (default 7, at least 7; 2 warm-ups before)\n" +
        "  --jsonl F  also write each timed case as a JSON line to F (benchmarks/peer/lab_table.py puts backends side by side)\n" +
        "  --list     list the ops, their variants and cases, and exit";

    /// <summary>Parses <paramref name="args"/> (the words after <c>lab</c>), runs the lab, returns the exit code.</summary>
    public static int Run(string[] args, TextWriter output)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(output);
        string backendName = "opencl";
        var opNames = new List<string>();
        string? jsonl = null;
        bool quick = false, list = false;
        int runs = 7;
        for (int i = 0; i < args.Length; i++)
        {
            string a = args[i];
            string? Value() => i + 1 < args.Length ? args[++i] : null;
            switch (a)
            {
                case "--backend" when Value() is { } v: backendName = v; break;
                case "--op" when Value() is { } v: opNames.AddRange(v.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)); break;
                case "--quick": quick = true; break;
                case "--list": list = true; break;
                case "--jsonl" when Value() is { } v: jsonl = v; break;
                case "--runs" when int.TryParse(Value(), NumberStyles.None, CultureInfo.InvariantCulture, out int n) && n >= 7: runs = n; break;
                case "-h" or "--help":
                    output.WriteLine(Usage);
                    return 0;
                default:
                    output.WriteLine($"lab: bad argument '{a}'");
                    output.WriteLine(Usage);
                    return 2;
            }
        }

        IReadOnlyList<LabOp> ops;
        try { ops = opNames.Count == 0 ? KernelLab.Ops : [.. opNames.Distinct(StringComparer.OrdinalIgnoreCase).Select(KernelLab.Find)]; }
        catch (ArgumentException e)
        {
            output.WriteLine($"lab: {e.Message}");
            return 2;
        }
        if (list)
        {
            List(ops, quick, output);
            return 0;
        }

        if (jsonl is not null && Path.GetDirectoryName(Path.GetFullPath(jsonl)) is { } folder && !Directory.Exists(folder))
        {
            output.WriteLine($"lab: --jsonl {jsonl}: the folder {folder} does not exist");
            return 2;
        }

        Backend backend;
        try { backend = BackendRegistry.Get(backendName); }
        catch (Exception e) when (e is BackendUnavailableException or ArgumentException)
        {
            output.WriteLine($"lab: {e.Message}");
            return 2;
        }
        var options = new LabOptions { Quick = quick, Runs = runs };
        output.WriteLine($"kernel lab: {backend.Name} on {backend.DeviceName}");
        output.WriteLine($"  {(quick ? "quick" : "full")} mode; checked against cpu-reference first (rel err = max |device − reference| / max |reference|, " +
            $"outputs start as NaN, {KernelLab.Padding} sentinels after each); timed: median of {options.Runs} runs after {options.Warmups} warm-ups, " +
            $"each run synchronised, short calls repeated to ≥ {options.MinRunMilliseconds} ms per run; GB/s counts compulsory bytes");
        output.WriteLine();
        var report = KernelLab.Run(backend, ops, options, output);
        if (jsonl is not null)
        {
            try { LabJsonl.Write(jsonl, backend.Name, backend.DeviceName, report); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                output.WriteLine($"lab: cannot write {jsonl}: {e.Message}");
                return 2;
            }
        }
        return report.AllPassed ? 0 : 1;
    }

    private static void List(IReadOnlyList<LabOp> ops, bool quick, TextWriter output)
    {
        foreach (var op in ops)
        {
            output.WriteLine($"{op.Name} ({(op.Unit == LabUnit.Gflops ? "GFLOP/s" : "GB/s")})");
            foreach (var v in op.Variants(quick))
            {
                output.WriteLine($"  {v.Name}{(v.Select is null ? "" : " (selectable)")}");
                output.WriteLine($"    check: {string.Join("; ", v.Checks.Select(c => c.Name))}");
                output.WriteLine($"    time:  {string.Join("; ", v.Timings.Select(c => c.Name))}");
            }
        }
    }
}
