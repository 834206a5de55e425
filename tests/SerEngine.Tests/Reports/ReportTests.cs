using System.Text.RegularExpressions;
using System.Xml.Linq;
using SerEngine.Models.Reports;
using SerEngine.Models.Training;

namespace SerEngine.Tests.Reports;

/// <summary>report.html: well-formed, self-contained, with the charts and numbers of the run.</summary>
[Collection(ReportRunsCollection.Name)]
public sealed class ReportTests(ReportRuns runs)
{
    private static readonly string[] Labels = ["neutral", "happy"];

    /// <summary>The HTML parsed as XML (the report is written as polyglot XHTML; the doctype line is dropped first).</summary>
    internal static XElement ParseHtml(string html)
    {
        Assert.StartsWith("<!DOCTYPE html>\n", html, StringComparison.Ordinal);
        return XDocument.Parse(html["<!DOCTYPE html>\n".Length..]).Root!;
    }

    /// <summary>No scripts, no links out, no web fonts, no external images.</summary>
    internal static void AssertSelfContained(string html)
    {
        Assert.DoesNotContain("<script", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("http://", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("https://", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("@import", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("@font-face", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("url(", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("<link", html, StringComparison.OrdinalIgnoreCase);
        foreach (Match m in Regex.Matches(html, "(?:href|src)=\"([^\"]*)\""))
            Assert.StartsWith("data:image/png;base64,", m.Groups[1].Value, StringComparison.Ordinal);
    }

    private static FoldResult Fold(int fold, int[] truth, int[] predicted, params (double Loss, double Ua)[] epochs)
    {
        var state = new TrainingState { Epoch = epochs.Length, BestEpoch = 2, BestUa = 0.75 };
        for (int i = 0; i < epochs.Length; i++) state.History.Add(new EpochRecord(i + 1, epochs[i].Loss, 1e-3, epochs[i].Ua, epochs[i].Ua, i == 1, 0.5));
        var plan = new FoldPlan(fold, 2, [0, 1, 2], [3], [.. Enumerable.Range(4, truth.Length)], $"test speakers spk{fold} & <x>");
        return new FoldResult(plan, ClassificationMetrics.From(truth, predicted, Labels), state, 1.0);
    }

    private static ReportContent Content()
    {
        var folds = new[]
        {
            Fold(1, [0, 0, 1, 1], [0, 1, 1, 1], (0.9, 0.5), (0.7, 0.75), (0.6, 0.5)),
            Fold(2, [0, 1, 1], [0, 0, 1], (0.8, 0.25), (0.5, 1.0), (0.4, 0.75)),
        };
        var result = new ExperimentResult(folds, folds.Average(f => f.Test.WeightedAccuracy), folds.Average(f => f.Test.UnweightedAccuracy));
        return new ReportContent("fcn", "AttentionFcn tiny", "data: <corpus> & more", "cpu", [("seed", "7")], Labels, result, [], 2);
    }

    [Fact]
    public void ReportIsWellFormedSelfContainedAndCarriesTheNumbers()
    {
        var html = TrainingReport.Build(Content());
        AssertSelfContained(html);
        var root = ParseHtml(html);
        Assert.Equal("html", root.Name.LocalName);
        var svgs = root.Descendants("svg").ToList();
        Assert.Equal(4, svgs.Count); // loss, validation UA, confusion matrix, recall bars
        Assert.Equal(["training loss", "validation UA", "confusion matrix", "recall per class"], svgs.Select(s => s.Element("title")!.Value));
        // one line per fold in each curve chart (both folds have finite values everywhere)
        Assert.Equal(2, svgs[0].Elements("polyline").Count());
        Assert.Equal(2, svgs[1].Elements("polyline").Count());
        // confusion summed over the folds: [[2, 1], [1, 3]]
        var counts = svgs[2].Elements("text").Select(t => t.Value).Where(v => Regex.IsMatch(v, @"^\d+$")).ToList();
        Assert.Equal(["2", "1", "1", "3"], counts);
        // recall per class: neutral 2/3, happy 3/4
        var bars = svgs[3].Elements("text").Select(t => t.Value).ToList();
        Assert.Contains("0.67", bars);
        Assert.Contains("0.75", bars);
        string text = root.Value;
        Assert.Contains("mean test WA 0.708", text.Replace("\u00a0", " ", StringComparison.Ordinal).Replace("  ", " ", StringComparison.Ordinal));
        Assert.Contains("data: <corpus> & more", text);             // escaped in the file, intact when parsed
        Assert.Contains("test speakers spk1 & <x>", text);
        Assert.Contains("No kept checkpoint of the last fold was found", text);
        var rows = root.Descendants("table").ElementAt(1).Elements("tr").ToList();
        Assert.Equal(3, rows.Count); // header + 2 folds
        Assert.Equal(["1", "test speakers spk1 & <x>", "3 / 1 / 4", "3", "2", "0.750", "0.750", "0.750"], rows[1].Elements("td").Select(td => td.Value));
    }

    [Fact]
    public void WithoutValidationTheReportSaysSoInsteadOfDrawingAnEmptyChart()
    {
        var c = Content();
        var folds = c.Result.Folds.Select(f => f with { Plan = f.Plan with { Validation = [] } }).ToList();
        var html = TrainingReport.Build(c with { Result = c.Result with { Folds = folds } });
        var root = ParseHtml(html);
        Assert.Equal(["training loss", "confusion matrix", "recall per class"], root.Descendants("svg").Select(s => s.Element("title")!.Value));
        Assert.Contains("No validation set in this run", root.Value, StringComparison.Ordinal);
        Assert.Equal("n/a", root.Descendants("table").ElementAt(1).Elements("tr").ElementAt(1).Elements("td").ElementAt(5).Value);
    }

    [Fact]
    public void AReportThatCannotBeWrittenDoesNotFailTheRun()
    {
        var outDir = Path.Combine(runs.Root, "report-blocked");
        Directory.CreateDirectory(Path.Combine(outDir, "report.html")); // a folder where the file should go
        var r = Cli.TrainCommandTests.Run(["train", .. Cli.TinyTrainingRuns.Corpus, "--folds", "2", "--fold", "2", "--epochs", "1",
            "--widths", "8,8,8,8,8", "--out", outDir]);
        Assert.True(r.Code == 0, r.Err);
        Assert.Matches(@"(?m)^report: not written \(\w+: .+\)$", r.Out);
        Assert.Matches(@"(?m)^result: WA=\d\.\d{3} UA=\d\.\d{3}$", r.Out);
        Assert.True(File.Exists(Path.Combine(outDir, "metrics.json")));
        Assert.True(File.Exists(Path.Combine(outDir, "fold2", "best.safetensors")));
    }

    [Fact]
    public void TrainWritesAReportWithAttentionFiguresOfTheLastFold()
    {
        Assert.True(runs.Fca.Code == 0, runs.Fca.Err);
        Assert.Contains($"report: {Path.Combine(runs.FcaDir, "report.html")}", runs.Fca.Out);
        foreach (var (dir, model) in new[] { (runs.FcaDir, "fca"), (runs.FcnDir, "fcn") })
        {
            var path = Path.Combine(dir, "report.html");
            var html = File.ReadAllText(path);
            AssertSelfContained(html);
            Assert.True(html.Length < 2_000_000, $"{html.Length} characters");
            var root = ParseHtml(html);
            Assert.Equal($"SerEngine training report: {model}", root.Descendants("title").First().Value);
            var figures = root.Descendants("svg").Where(s => s.Element("title")!.Value.Contains(": predicted ", StringComparison.Ordinal)).ToList();
            Assert.Equal(TrainingReport.ExampleCount, figures.Count); // 2 classes × 2 speakers × 2 utterances in the test fold: 4 shown
            Assert.Contains("fold 2", root.Value, StringComparison.Ordinal);
            Assert.Empty(Directory.GetFiles(dir, "*.tmp*"));
        }
    }
}
