using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;

namespace SerEngine.Benchmarks;

/// <summary>A benchmark parameter that knows how many bytes one call must move at least.</summary>
public interface IByteCount
{
    /// <summary>Bytes one invocation reads and writes at least (each operand once).</summary>
    double Bytes { get; }
}

/// <summary>GB/s from the mean time of each case: the case's <see cref="IByteCount"/> bytes divided by the mean.</summary>
public sealed class GbPerSecondColumn : IColumn
{
    /// <inheritdoc/>
    public string Id => nameof(GbPerSecondColumn);

    /// <inheritdoc/>
    public string ColumnName => "GB/s";

    /// <inheritdoc/>
    public bool AlwaysShow => true;

    /// <inheritdoc/>
    public ColumnCategory Category => ColumnCategory.Custom;

    /// <inheritdoc/>
    public int PriorityInCategory => 1;

    /// <inheritdoc/>
    public bool IsNumeric => true;

    /// <inheritdoc/>
    public UnitType UnitType => UnitType.Dimensionless;

    /// <inheritdoc/>
    public string Legend => "Gigabytes per second: the bytes each call must read and write at least, from the mean time";

    /// <inheritdoc/>
    public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, SummaryStyle.Default);

    /// <inheritdoc/>
    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
    {
        double? meanNs = summary[benchmarkCase]?.ResultStatistics?.Mean;
        if (meanNs is null or <= 0) return "-";
        foreach (var p in benchmarkCase.Parameters.Items)
            if (p.Value is IByteCount b) return (b.Bytes / meanNs.Value).ToString("F1", System.Globalization.CultureInfo.InvariantCulture);
        return "-";
    }

    /// <inheritdoc/>
    public bool IsAvailable(Summary summary) => true;

    /// <inheritdoc/>
    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;
}

/// <summary>The default config plus both rate columns (GFLOP/s for cases that count flops, GB/s for cases that count bytes).</summary>
public sealed class RatesConfig : ManualConfig
{
    /// <summary>Adds <see cref="GflopsColumn"/> and <see cref="GbPerSecondColumn"/>.</summary>
    public RatesConfig()
    {
        AddColumn(new GflopsColumn());
        AddColumn(new GbPerSecondColumn());
    }
}

/// <summary>A memory-bound case: a label, a backend and the bytes one call moves.</summary>
/// <param name="Name">What is measured (short: the summary table cuts long values).</param>
/// <param name="Backend">Registry name (<c>cpu-reference</c> or <c>cpu</c>).</param>
/// <param name="Bytes">Bytes one call reads and writes at least.</param>
public sealed record BytesCase(string Name, string Backend, double Bytes) : IByteCount
{
    /// <inheritdoc/>
    public override string ToString() => $"{(Backend == "cpu-reference" ? "ref" : Backend)} {Name}";
}
