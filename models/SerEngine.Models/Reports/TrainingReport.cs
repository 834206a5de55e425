using System.Globalization;
using System.Text;
using SerEngine.Audio;
using SerEngine.Backends;
using SerEngine.Models.Data;
using SerEngine.Models.Training;

namespace SerEngine.Models.Reports;

/// <summary>What the training report shows.</summary>
/// <param name="Model"><c>fcn</c> or <c>fca</c>.</param>
/// <param name="Description">The model's one-line description.</param>
/// <param name="Corpus">The data set's one-line description.</param>
/// <param name="Backend">Backend name.</param>
/// <param name="Settings">Further settings as (name, value) rows.</param>
/// <param name="Labels">Class names.</param>
/// <param name="Result">Every fold's result and the means.</param>
/// <param name="Examples">Explained test utterances (may be empty).</param>
/// <param name="ExamplesFold">The fold the examples come from.</param>
public sealed record ReportContent(string Model, string Description, string Corpus, string Backend,
    IReadOnlyList<(string Name, string Value)> Settings, IReadOnlyList<string> Labels, ExperimentResult Result,
    IReadOnlyList<UtteranceExplanation> Examples, int ExamplesFold);

/// <summary>
/// <c>report.html</c> of a training run: one self-contained file (inline SVG and CSS; images as
/// data URIs; no scripts, fonts or links): the run summary, loss and validation UA per epoch and
/// fold, the confusion matrix and recalls over the test folds, and the attention of the last fold's
/// kept model on a few of its test utterances.
/// </summary>
public static class TrainingReport
{
    /// <summary>The file name inside the output folder.</summary>
    public const string FileName = "report.html";

    /// <summary>How many test utterances of the last fold get an attention figure.</summary>
    public const int ExampleCount = 4;

    /// <summary>
    /// Gathers the content of a finished <see cref="Experiment"/> run (the last fold's kept model, its
    /// <see cref="FoldResult.Model"/> or else loaded from its <c>best.safetensors</c>, explains the attention figures) and writes <c>OUT/report.html</c> atomically;
    /// returns its path.
    /// </summary>
    public static string Write(string outDir, Dataset data, IReadOnlyList<FeatureMatrix> features, TrainOptions options,
        SerModel probe, ExperimentResult result, Backend backend)
    {
        var last = result.Folds[^1];
        var examples = new List<UtteranceExplanation>();
        var best = Path.Combine(outDir, $"fold{last.Plan.Fold}", FoldTrainer.BestFile);
        if (File.Exists(best))
        {
            // the fold's own model holds exactly the weights of its best.safetensors: no second model is built
            var model = last.Model ?? Checkpoint.Load(best).CreateModel(backend);
            foreach (int i in PickExamples(data, last.Plan.Test, ExampleCount))
                examples.Add(Explainer.Explain(model, features[i], data.Utterances[i].DisplayName, data.Utterances[i].Label));
        }
        var settings = new List<(string, string)>
        {
            ("split", $"{options.Split.ToString().ToLowerInvariant()}, {result.Folds.Count} of {last.Plan.Folds} fold{(last.Plan.Folds > 1 ? "s" : "")} run"),
            ("epochs", options.EffectiveEpochs.ToString(CultureInfo.InvariantCulture) + (options.EffectivePatience > 0 ? $" (patience {options.EffectivePatience})" : "")),
            ("optimizer", string.Create(CultureInfo.InvariantCulture, $"{(options.AdamW ? "AdamW" : "Adam")}, lr {options.EffectiveLearningRate:0.#e+0}, weight decay {Decay(options.EffectiveWeightDecay)}")),
            ("batch", (options.BatchSize ?? probe.DefaultBatchSize).ToString(CultureInfo.InvariantCulture)),
            ("seed", options.Seed.ToString(CultureInfo.InvariantCulture)),
            ("features", FeatureSettingsJson.Describe(probe.Features.Settings)),
        };
        // Describe() is a log line ("data: NAME at DIR: ..."): the table's "corpus" row wants it without the prefix
        var corpus = data.Describe().Replace("\ndata: ", "; ", StringComparison.Ordinal);
        if (corpus.StartsWith("data: ", StringComparison.Ordinal)) corpus = corpus["data: ".Length..];
        var content = new ReportContent(options.Model, probe.Description, corpus, backend.Name, settings, data.Labels, result, examples, last.Plan.Fold);
        var path = Path.Combine(outDir, FileName);
        ReportFiles.WriteAtomic(path, Build(content));
        return path;
    }

    /// <summary>A weight decay as the log prints it: <c>0</c>, or <c>1e-6</c>.</summary>
    public static string Decay(double value) => value == 0 ? "0" : value.ToString("0.#e+0", CultureInfo.InvariantCulture);

    /// <summary>Up to <paramref name="count"/> test utterances: one per class in label order first, then the next ones.</summary>
    public static IReadOnlyList<int> PickExamples(Dataset data, IReadOnlyList<int> test, int count)
    {
        var picked = new List<int>();
        foreach (var label in data.Labels)
        {
            int hit = test.FirstOrDefault(i => data.Utterances[i].Label == label, -1);
            if (hit >= 0 && picked.Count < count) picked.Add(hit);
        }
        foreach (int i in test)
            if (picked.Count < count && !picked.Contains(i)) picked.Add(i);
        return picked;
    }

    /// <summary>The HTML document.</summary>
    public static string Build(ReportContent r)
    {
        var h = new StringBuilder();
        string E(string s) => SvgCanvas.Escape(s);
        string F3(double v) => double.IsFinite(v) ? v.ToString("0.000", CultureInfo.InvariantCulture) : "n/a";
        h.Append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n");
        h.Append("<title>SerEngine training report: ").Append(E(r.Model)).Append("</title>\n");
        h.Append(Css);
        h.Append("</head>\n<body>\n");
        h.Append("<h1>Training report: ").Append(E(r.Model)).Append("</h1>\n");
        h.Append("<p class=\"result\">mean test WA <b>").Append(F3(r.Result.MeanWa)).Append("</b> &#160; UA <b>").Append(F3(r.Result.MeanUa))
            .Append("</b> over ").Append(r.Result.Folds.Count.ToString(CultureInfo.InvariantCulture)).Append(r.Result.Folds.Count == 1 ? " fold" : " folds").Append("</p>\n");

        h.Append("<h2>Run</h2>\n<table class=\"kv\">\n");
        foreach (var (k, v) in new[] { ("model", r.Description), ("corpus", r.Corpus), ("backend", r.Backend) }.Concat(r.Settings))
            h.Append("<tr><th>").Append(E(k)).Append("</th><td>").Append(E(v)).Append("</td></tr>\n");
        h.Append("</table>\n");

        h.Append("<h2>Folds</h2>\n<table class=\"grid\">\n<tr><th>fold</th><th>split</th><th>train / val / test</th><th>epochs</th><th>kept epoch</th><th>val UA</th><th>test WA</th><th>test UA</th></tr>\n");
        foreach (var f in r.Result.Folds)
            h.Append(CultureInfo.InvariantCulture,
                $"<tr><td>{f.Plan.Fold}</td><td>{E(f.Plan.Description)}</td><td>{f.Plan.Train.Length} / {f.Plan.Validation.Length} / {f.Plan.Test.Length}</td><td>{f.State.Epoch}{(f.State.StoppedEarly ? " (early stop)" : "")}</td><td>{f.State.BestEpoch}</td><td>{(f.Plan.Validation.Length > 0 ? F3(f.State.BestUa) : "n/a")}</td><td>{F3(f.Test.WeightedAccuracy)}</td><td>{F3(f.Test.UnweightedAccuracy)}</td></tr>\n");
        h.Append("</table>\n");

        h.Append("<h2>Training curves</h2>\n<div class=\"row\">\n");
        h.Append(Figure(CurveSvg(r.Result, loss: true), "Training loss (mean cross-entropy per example) after each epoch, one line per fold."));
        if (r.Result.Folds.All(f => f.Plan.Validation.Length == 0))
            h.Append("<p>No validation set in this run (validation fraction 0): no validation UA curve; each fold kept its last epoch.</p>\n");
        else h.Append(Figure(CurveSvg(r.Result, loss: false), "Validation UA after each epoch, one line per fold."));
        h.Append("</div>\n");

        var confusion = SumConfusion(r.Result, r.Labels.Count);
        var (truth, predicted) = Expand(confusion);
        var total = ClassificationMetrics.From(truth, predicted, r.Labels);
        h.Append("<h2>Test results</h2>\n<div class=\"row\">\n");
        var cm = new SvgCanvas(440, 90 + 56 * r.Labels.Count) { Title = "confusion matrix" };
        Charts.CountMatrix(cm, new Box(0, 0, cm.Width, cm.Height), confusion, r.Labels, r.Labels,
            "confusion matrix (test utterances)", "true class", "predicted class", ColorMap.Blues);
        h.Append(Figure(cm, $"Counts summed over the test sets of the {r.Result.Folds.Count} fold{(r.Result.Folds.Count == 1 ? "" : "s")} run: {total.Count} utterances, WA {F3(total.WeightedAccuracy)}, UA {F3(total.UnweightedAccuracy)}. Cell colour: share of the true class's row."));
        var bars = new SvgCanvas(Math.Max(320, 90 + 80 * r.Labels.Count), 300) { Title = "recall per class" };
        Charts.BarChart(bars, new Box(0, 0, bars.Width, bars.Height), r.Labels, total.Recall, "recall per class (test)", "recall");
        h.Append(Figure(bars, "Recall of each class over the same test utterances (UA is their mean)."));
        h.Append("</div>\n");

        h.Append("<h2>What the model attends to</h2>\n");
        if (r.Examples.Count == 0) h.Append("<p>No kept checkpoint of the last fold was found, so no utterance is shown.</p>\n");
        else
        {
            h.Append(CultureInfo.InvariantCulture, $"<p>{r.Examples.Count} test utterances of fold {r.ExamplesFold}, run through that fold's kept model (best validation UA). ");
            h.Append(r.Model == "fcn"
                ? "AttentionFcn pools its last feature map with one softmax weight per time-frequency cell; the cells are stretched over the input's extent (each really sees a larger receptive field).</p>\n"
                : "FocusCalibrationNet is run on 2 s segments tiling the utterance; each head's focus window (centre P, width W) is learned per query time step, and the calibration weight g scales each head's output.</p>\n");
            foreach (var e in r.Examples) h.Append(Figure(UtteranceFigure.ToSvg(e), $"{e.Name}: true {e.TrueLabel}, predicted {e.Predicted}."));
        }
        h.Append("<p class=\"foot\">Written by ser train (SerEngine). Self-contained: no scripts or external resources.</p>\n</body>\n</html>\n");
        return h.ToString();
    }

    private const string Css = """
        <style>
        body { font-family: "DejaVu Sans", Helvetica, Arial, sans-serif; color: #333; margin: 24px auto; max-width: 1200px; padding: 0 16px; background: #fff; }
        h1 { font-size: 24px; margin: 0 0 6px 0; }
        h2 { font-size: 18px; margin: 28px 0 8px 0; border-bottom: 1px solid #ddd; padding-bottom: 4px; }
        p.result { font-size: 16px; margin: 0 0 12px 0; }
        table { border-collapse: collapse; font-size: 13px; }
        table.kv th { text-align: left; padding: 2px 16px 2px 0; color: #555; font-weight: normal; vertical-align: top; }
        table.kv td { padding: 2px 0; }
        table.grid th, table.grid td { border: 1px solid #ddd; padding: 3px 8px; text-align: right; }
        table.grid th { background: #f4f4f4; }
        table.grid td:nth-child(2) { text-align: left; }
        .row { display: flex; flex-wrap: wrap; gap: 16px; align-items: flex-start; }
        figure { margin: 8px 0; }
        figcaption { font-size: 12px; color: #555; max-width: 960px; }
        svg { display: block; }
        p.foot { font-size: 11px; color: #888; margin-top: 32px; }
        </style>

        """;

    private static string Figure(SvgCanvas svg, string caption) =>
        "<figure>\n" + svg + "\n<figcaption>" + SvgCanvas.Escape(caption) + "</figcaption>\n</figure>\n";

    private static SvgCanvas CurveSvg(ExperimentResult result, bool loss)
    {
        var svg = new SvgCanvas(560, 300) { Title = loss ? "training loss" : "validation UA" };
        var series = result.Folds.Select((f, i) => new Series($"fold {f.Plan.Fold}",
            [.. f.State.History.Select(e => new Pt(e.Epoch, loss ? e.Loss : e.ValidationUa))], Palette.At(i))).ToList();
        Charts.LineChart(svg, new Box(0, 0, svg.Width, svg.Height), series, loss ? "training loss" : "validation UA", "epoch",
            loss ? "loss" : "UA", 0, loss ? null : 1);
        return svg;
    }

    private static int[,] SumConfusion(ExperimentResult result, int classes)
    {
        var sum = new int[classes, classes];
        foreach (var f in result.Folds)
            for (int i = 0; i < classes; i++)
                for (int j = 0; j < classes; j++) sum[i, j] += f.Test.Confusion[i, j];
        return sum;
    }

    private static (int[] Truth, int[] Predicted) Expand(int[,] confusion)
    {
        var truth = new List<int>();
        var predicted = new List<int>();
        for (int i = 0; i < confusion.GetLength(0); i++)
            for (int j = 0; j < confusion.GetLength(1); j++)
                for (int k = 0; k < confusion[i, j]; k++)
                {
                    truth.Add(i);
                    predicted.Add(j);
                }
        return ([.. truth], [.. predicted]);
    }
}
