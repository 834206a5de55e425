using SerEngine.Backends;

namespace SerEngine.Bench;

/// <summary>
/// One case of shared/docs/BENCH_CASES.md: <see cref="Prepare"/> builds the inputs once on a
/// backend and returns the step that is timed. The PyTorch peer (benchmarks/peer/torch_cases.py)
/// times the same step under the same name.
/// </summary>
public abstract class BenchCase
{
    /// <summary>The case's name as BENCH_CASES.md writes it (<c>sgemm.1024</c>).</summary>
    public abstract string Name { get; }

    /// <summary>One line: what is timed.</summary>
    public abstract string Description { get; }

    /// <summary>Builds the inputs (and model, optimizer) on <paramref name="backend"/>; returns the timed step.</summary>
    public abstract BenchStep Prepare(Backend backend);
}

/// <summary>
/// The timed part of a case, with what its rate columns need. <see cref="Run"/> must leave nothing
/// behind that grows from one run to the next (each run opens its own <see cref="TensorScope"/>).
/// </summary>
/// <param name="Run">One step; returns when its results are complete (device backends: read back).</param>
/// <param name="Flops">Floating-point operations of one step (2 per multiply-add), for a GFLOP/s column; null when not meaningful.</param>
/// <param name="Bytes">Bytes one step must read and write at least, for a GB/s column; null when not meaningful.</param>
/// <param name="Cleanup">Releases what <see cref="BenchCase.Prepare"/> allocated.</param>
public sealed record BenchStep(Action Run, double? Flops = null, double? Bytes = null, Action? Cleanup = null);

/// <summary>The measured result of one case.</summary>
/// <param name="Case">Case name.</param>
/// <param name="MedianMs">Median of the timed runs in milliseconds.</param>
/// <param name="MinMs">Fastest timed run in milliseconds.</param>
/// <param name="Runs">Timed runs.</param>
/// <param name="Backend">Backend name.</param>
/// <param name="Threads">Worker threads the backend used.</param>
/// <param name="Gflops">GFLOP/s at the median, when the case counts flops.</param>
/// <param name="Gbs">GB/s at the median, when the case counts bytes.</param>
public sealed record BenchResult(string Case, double MedianMs, double MinMs, int Runs, string Backend, int Threads, double? Gflops, double? Gbs)
{
    /// <summary>
    /// The JSON line of BENCH_CASES.md: <c>{"case": NAME, "ms": MEDIAN, "backend": ..., "threads": ...}</c>
    /// plus <c>min_ms</c>, <c>runs</c> and the rate fields where the case has them.
    /// </summary>
    public string ToJson()
    {
        var ci = System.Globalization.CultureInfo.InvariantCulture;
        var s = new System.Text.StringBuilder();
        s.Append(ci, $"{{\"case\": \"{Case}\", \"ms\": {MedianMs:0.0000}, \"backend\": \"{Backend}\", \"threads\": {Threads}");
        s.Append(ci, $", \"min_ms\": {MinMs:0.0000}, \"runs\": {Runs}");
        if (Gflops is { } g) s.Append(ci, $", \"gflops\": {g:0.00}");
        if (Gbs is { } b) s.Append(ci, $", \"gbs\": {b:0.00}");
        s.Append('}');
        return s.ToString();
    }
}
