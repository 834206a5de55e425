using System.Globalization;

namespace SerEngine.Benchmarks.Lab;

/// <summary>Whether a row is a validation against the reference or a timing.</summary>
public enum LabStep
{
    /// <summary>Compared with the CPU reference.</summary>
    Check,
    /// <summary>Timed (median of the runs).</summary>
    Time,
}

/// <summary>One line of the lab's table.</summary>
/// <param name="Op">Op family.</param>
/// <param name="Variant">Variant.</param>
/// <param name="Step">Check or time.</param>
/// <param name="Case">Case label.</param>
/// <param name="Passed">Check: agreed with the reference (and launched the expected kernel). Time: ran without error.</param>
/// <param name="MaxRelError">Check: the largest relative error over the outputs.</param>
/// <param name="Detail">Why it failed (worst element, exception), or a note.</param>
/// <param name="Milliseconds">Time: median milliseconds per call.</param>
/// <param name="Rate">Time: GFLOP/s or GB/s at the median.</param>
/// <param name="Unit">Which of the two <see cref="Rate"/> is.</param>
/// <param name="CallsPerRun">Time: calls per timed run (short kernels run several times per run).</param>
public sealed record LabRow(string Op, string Variant, LabStep Step, string Case, bool Passed, double? MaxRelError,
    string? Detail, double? Milliseconds, double? Rate, LabUnit Unit, int CallsPerRun);

/// <summary>How one variant did.</summary>
/// <param name="Op">Op family.</param>
/// <param name="Variant">Variant.</param>
/// <param name="Checks">Validation cases run.</param>
/// <param name="FailedChecks">Validation cases that failed.</param>
/// <param name="MaxRelError">Largest relative error over its checks.</param>
/// <param name="Timed">Timing cases measured (0 when a check failed: a failing variant is not timed).</param>
/// <param name="FailedTimings">Timing cases that threw.</param>
public sealed record LabVariantResult(string Op, string Variant, int Checks, int FailedChecks, double MaxRelError, int Timed, int FailedTimings)
{
    /// <summary>Every check passed (and there was at least one), and every timing ran.</summary>
    public bool Passed => Checks > 0 && FailedChecks == 0 && FailedTimings == 0;
}

/// <summary>What a lab run found: every row, and one summary per variant.</summary>
/// <param name="Rows">Check and timing rows in the order they ran.</param>
/// <param name="Variants">One result per (op, variant).</param>
public sealed record LabReport(IReadOnlyList<LabRow> Rows, IReadOnlyList<LabVariantResult> Variants)
{
    /// <summary>Every variant validated.</summary>
    public bool AllPassed => Variants.Count > 0 && Variants.All(v => v.Passed);
}

/// <summary>Prints rows as an aligned table, the column widths fixed from the plan before anything runs.</summary>
internal sealed class LabTable(TextWriter output, int opWidth, int variantWidth, int caseWidth)
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    private int OpWidth { get; } = Math.Max(opWidth, 2);
    private int VariantWidth { get; } = Math.Max(variantWidth, 7);
    private int CaseWidth { get; } = Math.Max(caseWidth, 4);

    public void Header()
    {
        output.WriteLine($"{"op".PadRight(OpWidth)}  {"variant".PadRight(VariantWidth)}  step   {"case".PadRight(CaseWidth)}  result  max rel err   median ms       rate  unit     calls");
        output.WriteLine(new string('-', OpWidth + VariantWidth + CaseWidth + 72));
    }

    /// <summary>A variant the device cannot run: one line with the reason, in place of its rows.</summary>
    public void Skipped(string op, string variant, string reason) =>
        output.WriteLine($"{op.PadRight(OpWidth)}  {variant.PadRight(VariantWidth)}  skip   not run on this device: {reason}");

    public void Write(LabRow row)
    {
        string prefix = $"{row.Op.PadRight(OpWidth)}  {row.Variant.PadRight(VariantWidth)}  {(row.Step == LabStep.Check ? "check" : "time ")}  {row.Case.PadRight(CaseWidth)}  ";
        string line;
        if (row.Step == LabStep.Check)
        {
            string err = row.MaxRelError is { } e ? FormatError(e) : "-";
            line = $"{prefix}{(row.Passed ? "PASS" : "FAIL"),-6}  {err,11}";
        }
        else if (row.Milliseconds is { } ms && row.Passed)
        {
            string unit = row.Unit == LabUnit.Gflops ? "GFLOP/s" : "GB/s";
            line = $"{prefix}{"",-6}  {"",11}  {ms.ToString(ms < 10 ? "F4" : "F2", Inv),10}  {row.Rate!.Value.ToString("F2", Inv),9}  {unit,-7}  {row.CallsPerRun,5}";
        }
        else
        {
            line = $"{prefix}{(row.Passed ? "" : "FAIL"),-6}  {"",11}  {"not timed",10}";
        }
        output.WriteLine(row.Detail is null ? line : $"{line}  {row.Detail}");
        output.Flush();
    }

    public static string FormatError(double e) => double.IsFinite(e) ? e.ToString("0.00e+00", Inv) : double.IsNaN(e) ? "nan" : "inf";

    /// <summary>The closing lines: counts, and each failing variant.</summary>
    public void Summary(LabReport report, TimeSpan elapsed)
    {
        int passed = report.Variants.Count(v => v.Passed);
        output.WriteLine();
        output.WriteLine($"{report.Variants.Count} variants: {passed} PASS, {report.Variants.Count - passed} FAIL; " +
            $"{report.Rows.Count(r => r.Step == LabStep.Check)} checks, {report.Rows.Count(r => r.Step == LabStep.Time && r.Milliseconds is not null)} timings, " +
            $"{elapsed.TotalSeconds.ToString("F1", Inv)} s");
        foreach (var v in report.Variants.Where(v => !v.Passed))
        {
            output.WriteLine(v.FailedChecks > 0 || v.Checks == 0
                ? $"  FAIL {v.Op}/{v.Variant}: {v.FailedChecks} of {v.Checks} checks failed (max rel err {FormatError(v.MaxRelError)}); not timed"
                : $"  FAIL {v.Op}/{v.Variant}: validated, but {v.FailedTimings} timing runs failed");
        }
        output.Flush();
    }
}
