using System.Globalization;
using SerEngine.Backends;
using SerEngine.IO;

namespace SerEngine.Conformance;

/// <summary>Which fixtures a run includes.</summary>
public sealed class ConformanceFilter
{
    /// <summary>Kinds to run (<c>op</c>, <c>module</c>, <c>audio</c>); null or empty runs every kind.</summary>
    public IReadOnlyCollection<string>? Kinds { get; init; }

    /// <summary>Name globs (<c>*</c>, <c>?</c>) matched against the fixture name (with or without <c>.safetensors</c>); empty runs every name.</summary>
    public IReadOnlyList<string> Match { get; init; } = [];

    /// <summary>True when <paramref name="fileName"/> passes the name globs.</summary>
    public bool MatchesName(string fileName) =>
        Match.Count == 0 || Match.Any(g => Glob.IsMatch(g, fileName) || Glob.IsMatch(g, Path.GetFileNameWithoutExtension(fileName)));

    /// <summary>True when <paramref name="kind"/> passes the kind list.</summary>
    public bool MatchesKind(string kind) => Kinds is null || Kinds.Count == 0 || Kinds.Contains(kind);
}

/// <summary>
/// Runs conformance fixtures (shared/fixtures/README.md) on a backend: each file's handler (found
/// by its <c>op</c> in <see cref="FixtureHandlers"/>) computes the <c>out.*</c> and <c>grad.*</c>
/// tensors, and each is scored against the file's values. A failure of any kind (unknown op,
/// engine op not implemented, exception, missing tensor, score above 1) is a FAIL line, never a crash.
/// </summary>
public static class ConformanceRunner
{
    /// <summary>
    /// Runs every <c>*.safetensors</c> in <paramref name="directory"/> that passes
    /// <paramref name="filter"/>, sorted by file name, printing one line per file and the summary to
    /// <paramref name="output"/> (when given). A file that cannot be read is a FAIL whatever the kind
    /// filter says, since its kind is unknown.
    /// </summary>
    /// <exception cref="DirectoryNotFoundException">The directory does not exist.</exception>
    public static ConformanceResult Run(string directory, Backend backend, ConformanceFilter? filter = null, TextWriter? output = null)
    {
        if (!Directory.Exists(directory)) throw new DirectoryNotFoundException($"fixture directory '{directory}' does not exist");
        filter ??= new ConformanceFilter();
        var files = Directory.GetFiles(directory, "*.safetensors")
            .Where(f => filter.MatchesName(Path.GetFileName(f)))
            .Order(StringComparer.Ordinal);
        var results = new List<FixtureResult>();
        foreach (var path in files)
        {
            Fixture fixture;
            try
            {
                fixture = FixtureLoader.Load(path);
            }
#pragma warning disable CA1031 // an unreadable file is a FAIL line, not a crash
            catch (Exception ex)
#pragma warning restore CA1031
            {
                var bad = new FixtureResult { Name = Path.GetFileNameWithoutExtension(path), Passed = false, Reason = OneLine(ex.Message) };
                results.Add(bad);
                output?.WriteLine(bad);
                continue;
            }
            if (!filter.MatchesKind(fixture.Kind)) continue;
            var r = RunOne(fixture, backend);
            results.Add(r);
            output?.WriteLine(r);
        }
        var result = new ConformanceResult { Files = results };
        output?.WriteLine(result.Summary);
        return result;
    }

    /// <summary>Runs one fixture with its registered handler and scores it.</summary>
    public static FixtureResult RunOne(Fixture fixture, Backend backend)
    {
        var handler = FixtureHandlers.Find(fixture.Op);
        if (handler is null) return Fail(fixture, $"op '{fixture.Op}' is not implemented");
        IReadOnlyDictionary<string, HostTensor> actual;
        try
        {
            using (TensorScope.Begin()) actual = handler.Run(fixture, backend);
        }
#pragma warning disable CA1031 // any exception from a handler is a FAIL line, not a crash
        catch (NotImplementedException ex)
        {
            return Fail(fixture, $"not implemented: {OneLine(ex.Message)}");
        }
        catch (Exception ex)
        {
            return Fail(fixture, OneLine(ex.Message));
        }
#pragma warning restore CA1031
        return Score(fixture, actual);
    }

    /// <summary>Scores <paramref name="actual"/> against every <c>out.*</c> and <c>grad.*</c> tensor of the fixture.</summary>
    public static FixtureResult Score(Fixture fixture, IReadOnlyDictionary<string, HostTensor> actual)
    {
        var scores = new List<TensorScore>();
        foreach (var (name, expected) in fixture.Tensors)
        {
            if (!name.StartsWith("out.", StringComparison.Ordinal) && !name.StartsWith("grad.", StringComparison.Ordinal)) continue;
            if (!actual.TryGetValue(name, out var got)) return Fail(fixture, $"missing {name} (the handler did not produce it)");
            if (got.Shape != expected.Shape) return Fail(fixture, $"{name} has shape {got.Shape}, expected {expected.Shape}");
            scores.Add(new TensorScore(name, Ratio(Values(got), Values(expected), fixture.Rtol, fixture.Atol)));
        }
        if (scores.Count == 0) return Fail(fixture, "the file has no out.* or grad.* tensor to compare");
        var worst = scores[0];
        foreach (var s in scores)
            if (double.IsNaN(s.Ratio) || (!double.IsNaN(worst.Ratio) && s.Ratio > worst.Ratio)) worst = s;
        bool passed = scores.All(s => s.Passed);
        return new FixtureResult
        {
            Name = fixture.Name,
            Passed = passed,
            Worst = worst.Ratio,
            FailingTensor = passed ? null : worst.Name,
            Scores = scores,
        };
    }

    /// <summary>
    /// ‖actual − expected‖₂ / (rtol·‖expected‖₂ + atol·√n), in double. A zero denominator gives 0
    /// for an exact match and +∞ otherwise; a NaN anywhere gives NaN (which fails).
    /// </summary>
    public static double Ratio(ReadOnlySpan<double> actual, ReadOnlySpan<double> expected, double rtol, double atol)
    {
        if (actual.Length != expected.Length) throw new ArgumentException($"{actual.Length} actual values for {expected.Length} expected");
        double diff2 = 0, ref2 = 0;
        for (int i = 0; i < actual.Length; i++)
        {
            double d = actual[i] - expected[i];
            diff2 += d * d;
            ref2 += expected[i] * expected[i];
        }
        double num = Math.Sqrt(diff2);
        double den = rtol * Math.Sqrt(ref2) + atol * Math.Sqrt(actual.Length);
        if (double.IsNaN(num) || double.IsNaN(den)) return double.NaN;
        if (den == 0) return num == 0 ? 0 : double.PositiveInfinity;
        return num / den;
    }

    /// <summary>A score as printed: three significant digits in plain decimals (<c>0.0000857</c>, never <c>8.57E-05</c>), invariant culture.</summary>
    public static string Format(double v)
    {
        if (v == 0 || !double.IsFinite(v)) return v.ToString(CultureInfo.InvariantCulture);
        // decimals that keep three significant digits, at most 15 (below that the score prints as 0)
        int decimals = Math.Clamp(2 - (int)Math.Floor(Math.Log10(Math.Abs(v))), 0, 15);
        return Math.Round(v, decimals).ToString("0." + new string('#', Math.Max(decimals, 1)), CultureInfo.InvariantCulture);
    }

    private static double[] Values(HostTensor t) =>
        t.Floats is { } f ? Array.ConvertAll(f, v => (double)v) : Array.ConvertAll(t.Ints!, v => (double)v);

    private static FixtureResult Fail(Fixture fixture, string reason) => new() { Name = fixture.Name, Passed = false, Reason = reason };

    private static string OneLine(string message) => message.ReplaceLineEndings(" ").Trim();
}
