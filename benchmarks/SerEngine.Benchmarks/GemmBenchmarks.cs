using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using SerEngine.Backends;

namespace SerEngine.Benchmarks;

/// <summary>A benchmark parameter that knows how many floating-point operations one call performs.</summary>
public interface IFlopCount
{
    /// <summary>Floating-point operations of one invocation (2 per multiply-add).</summary>
    double Flops { get; }
}

/// <summary>
/// GFLOP/s from the mean time of each case: the case's flops (by default its <see cref="IFlopCount"/>
/// parameter; or a function of the case) divided by the mean in nanoseconds.
/// </summary>
/// <param name="flops">Flops of one invocation of a case; null = read the IFlopCount parameter.</param>
public sealed class GflopsColumn(Func<BenchmarkCase, double>? flops = null) : IColumn
{
    /// <inheritdoc/>
    public string Id => nameof(GflopsColumn);

    /// <inheritdoc/>
    public string ColumnName => "GFLOP/s";

    /// <inheritdoc/>
    public bool AlwaysShow => true;

    /// <inheritdoc/>
    public ColumnCategory Category => ColumnCategory.Custom;

    /// <inheritdoc/>
    public int PriorityInCategory => 0;

    /// <inheritdoc/>
    public bool IsNumeric => true;

    /// <inheritdoc/>
    public UnitType UnitType => UnitType.Dimensionless;

    /// <inheritdoc/>
    public string Legend => "Billions of floating-point operations per second (2 per multiply-add), from the mean time";

    /// <inheritdoc/>
    public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, SummaryStyle.Default);

    /// <inheritdoc/>
    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
    {
        double? meanNs = summary[benchmarkCase]?.ResultStatistics?.Mean;
        if (meanNs is null or <= 0) return "-";
        double? count = flops?.Invoke(benchmarkCase);
        foreach (var p in benchmarkCase.Parameters.Items)
            if (count is null && p.Value is IFlopCount f) count = f.Flops;
        return count is null ? "-" : (count.Value / meanNs.Value).ToString("F1", System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <inheritdoc/>
    public bool IsAvailable(Summary summary) => true;

    /// <inheritdoc/>
    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;
}

/// <summary>Adds the GFLOP/s column.</summary>
public sealed class GflopsConfig : ManualConfig
{
    /// <summary>The default config plus <see cref="GflopsColumn"/>.</summary>
    public GflopsConfig() => AddColumn(new GflopsColumn());
}

/// <summary>One square SGEMM case: C [n, n] = A [n, n] · B [n, n] on a named backend.</summary>
/// <param name="Backend">Registry name (<c>cpu-reference</c> or <c>cpu</c>).</param>
/// <param name="Size">n.</param>
public sealed record GemmCase(string Backend, int Size) : IFlopCount
{
    /// <inheritdoc/>
    public double Flops => 2.0 * Size * Size * Size;

    /// <inheritdoc/>
    public override string ToString() => $"{Backend} {Size}";
}

/// <summary>
/// SGEMM on the CPU backends: the fast <c>cpu</c> GEMM (packed panels, FMA micro-kernel, all threads)
/// against the <c>cpu-reference</c> triple loop, which only runs the small sizes.
/// Run: <c>dotnet run -c Release --project benchmarks/SerEngine.Benchmarks -- --filter '*GemmBenchmarks*'</c>.
/// </summary>
[Config(typeof(GflopsConfig))]
public class GemmBenchmarks
{
    private Backend _backend = null!;
    private Storage _a = null!, _b = null!, _c = null!;

    /// <summary>The cases: the reference at 64 and 256 only, the fast GEMM up to 1024 (the <c>sgemm.1024</c> case).</summary>
    public static IEnumerable<GemmCase> Cases =>
    [
        new("cpu-reference", 64), new("cpu-reference", 256),
        new("cpu", 64), new("cpu", 256), new("cpu", 512), new("cpu", 1024),
    ];

    /// <summary>The case being measured.</summary>
    [ParamsSource(nameof(Cases))]
    public GemmCase Case { get; set; } = null!;

    /// <summary>Allocates A, B (random) and C.</summary>
    [GlobalSetup]
    public void Setup()
    {
        _backend = BackendRegistry.Get(Case.Backend);
        int n = Case.Size;
        var rng = new Generator(1);
        _a = Tensor.RandomNormal(new Shape(n, n), rng, backend: _backend).KeepAlive().Storage;
        _b = Tensor.RandomNormal(new Shape(n, n), rng, backend: _backend).KeepAlive().Storage;
        _c = Tensor.Zeros(new Shape(n, n), _backend).KeepAlive().Storage;
    }

    /// <summary>C = A · B.</summary>
    [Benchmark]
    public void Sgemm() => _backend.Gemm(false, false, 1, Case.Size, Case.Size, Case.Size, 1f, _a, 0, _b, 0, 0f, _c, 0);
}
