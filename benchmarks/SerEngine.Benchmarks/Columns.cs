using System.Globalization;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;

namespace SerEngine.Benchmarks;

// The throughput columns every suite uses: GFLOP/s for compute-bound kernels (GEMM, conv2d),
// GB/s for memory-bound ones (everything else). Each reads its count from the case parameter
// (IFlopCount / IByteCount) or from a function of the case, and divides by the mean time.

/// <summary>A benchmark parameter that knows how many floating-point operations one call performs.</summary>
public interface IFlopCount
{
    /// <summary>Floating-point operations of one invocation (2 per multiply-add).</summary>
    double Flops { get; }
}

/// <summary>A benchmark parameter that knows how many bytes one call of each benchmark method must move.</summary>
public interface IByteCount
{
    /// <summary>
    /// Compulsory bytes of one invocation of the benchmark method named <paramref name="method"/>
    /// (e.g. <c>Forward</c>): every input read once and every output written once (an in-place
    /// buffer counts twice), whatever the kernel really re-reads.
    /// </summary>
    double Bytes(string method);
}

/// <summary>A per-case throughput column: a count of work divided by the mean time in nanoseconds.</summary>
/// <param name="id">Column id.</param>
/// <param name="name">Header, e.g. <c>GFLOP/s</c>.</param>
/// <param name="legend">What the column means.</param>
/// <param name="count">Work of one invocation of a case, or null when the case does not say.</param>
public abstract class ThroughputColumn(string id, string name, string legend, Func<BenchmarkCase, double?> count) : IColumn
{
    /// <inheritdoc/>
    public string Id => id;

    /// <inheritdoc/>
    public string ColumnName => name;

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
    public string Legend => legend;

    /// <inheritdoc/>
    public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, SummaryStyle.Default);

    /// <inheritdoc/>
    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
    {
        double? meanNs = summary[benchmarkCase]?.ResultStatistics?.Mean;
        if (meanNs is null or <= 0) return "-";
        double? work = count(benchmarkCase);
        return work is null ? "-" : (work.Value / meanNs.Value).ToString("F1", CultureInfo.InvariantCulture);
    }

    /// <inheritdoc/>
    public bool IsAvailable(Summary summary) => true;

    /// <inheritdoc/>
    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;

    /// <summary>The first parameter of the case that is a <typeparamref name="T"/>, or null.</summary>
    protected static T? Parameter<T>(BenchmarkCase benchmarkCase) where T : class
    {
        foreach (var p in benchmarkCase.Parameters.Items)
            if (p.Value is T t) return t;
        return null;
    }
}

/// <summary>
/// GFLOP/s from the mean time of each case: the case's flops (by default its <see cref="IFlopCount"/>
/// parameter; or a function of the case) divided by the mean in nanoseconds.
/// </summary>
/// <param name="flops">Flops of one invocation of a case; null = read the IFlopCount parameter.</param>
public sealed class GflopsColumn(Func<BenchmarkCase, double>? flops = null) : ThroughputColumn(
    nameof(GflopsColumn), "GFLOP/s",
    "Billions of floating-point operations per second (2 per multiply-add), from the mean time",
    c => flops is not null ? flops(c) : Parameter<IFlopCount>(c)?.Flops);

/// <summary>
/// GB/s from the mean time of each case: the case's compulsory bytes (by default its
/// <see cref="IByteCount"/> parameter; or a function of the case) divided by the mean in nanoseconds.
/// </summary>
/// <param name="bytes">Bytes of one invocation of a case; null = ask the IByteCount parameter for the case's method.</param>
public sealed class GbsColumn(Func<BenchmarkCase, double>? bytes = null) : ThroughputColumn(
    nameof(GbsColumn), "GB/s",
    "Effective bandwidth, 10^9 bytes per second: each input read once and each output written once, from the mean time",
    c => bytes is not null ? bytes(c) : Parameter<IByteCount>(c)?.Bytes(c.Descriptor.WorkloadMethod.Name));

/// <summary>Adds the GFLOP/s column (and room for case labels of up to 48 characters).</summary>
public sealed class GflopsConfig : ManualConfig
{
    /// <summary>The default config plus <see cref="GflopsColumn"/>.</summary>
    public GflopsConfig()
    {
        AddColumn(new GflopsColumn());
        WithSummaryStyle(SummaryStyle.Default.WithMaxParameterColumnWidth(48));
    }
}

/// <summary>Adds the GB/s column (and room for case labels of up to 48 characters).</summary>
public sealed class GbsConfig : ManualConfig
{
    /// <summary>The default config plus <see cref="GbsColumn"/>.</summary>
    public GbsConfig()
    {
        AddColumn(new GbsColumn());
        WithSummaryStyle(SummaryStyle.Default.WithMaxParameterColumnWidth(48));
    }
}
