using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using SerEngine.Audio;
using SerEngine.Backends;
using SerEngine.Models.Data;

namespace SerEngine.Models.Training;

/// <summary>The outcome of a training run: each fold's result and the mean over folds.</summary>
/// <param name="Folds">Per fold.</param>
/// <param name="MeanWa">Mean test WA over the folds run.</param>
/// <param name="MeanUa">Mean test UA over the folds run.</param>
public sealed record ExperimentResult(IReadOnlyList<FoldResult> Folds, double MeanWa, double MeanUa)
{
    /// <summary><c>result: WA=0.812 UA=0.800</c>.</summary>
    public string ResultLine => string.Create(CultureInfo.InvariantCulture, $"result: WA={MeanWa:0.000} UA={MeanUa:0.000}");
}

/// <summary>
/// A whole <c>ser train</c> run: features once for the data set (cached), then each fold (or the
/// one asked for) in its own folder <c>OUT/fold{i}/</c>, then <c>OUT/metrics.json</c> with every
/// fold's metrics and the mean, and <c>OUT/report.html</c> (<see cref="Reports.TrainingReport"/>).
/// </summary>
public static class Experiment
{
    /// <summary>
    /// Trains and tests; <paramref name="resume"/> continues every fold from its last checkpoint;
    /// <paramref name="phases"/>, when given, collects where the time goes.
    /// </summary>
    public static ExperimentResult Run(Dataset data, TrainOptions options, string outDir, bool resume, ITrainingLog log, FeatureCache? cache = null,
        RunPhases? phases = null)
    {
        phases ??= new RunPhases();
        ArgumentOutOfRangeException.ThrowIfLessThan(options.EffectiveEpochs, 1, "epochs");
        data.RequireTrainable();
        var backend = BackendRegistry.Get(options.Backend);
        int k = options.Split == SplitKind.List ? 1 : options.Folds;
        if (k < 1 || (options.Split != SplitKind.List && k < 2)) throw new ArgumentException($"--folds must be at least 2, got {k}");
        if (options.Fold is int f && (f < 1 || f > k)) throw new ArgumentException($"--fold {f} is outside 1..{k}");
        var folds = options.Fold is int one ? [one] : Enumerable.Range(1, k).ToArray();
        // plan every fold first, so a bad split fails before any work
        var plans = folds.Select(i => Splits.Plan(data, options, i)).ToList();
        // --pretrained is read once here (a bad file also fails before any work) and loaded into every fold's model
        var pretrained = options.Pretrained is null ? null : PretrainedWeights.Read(options.Pretrained);

        log.Line(data.Describe());
        var spec = options.FeatureSpecFor();
        cache ??= options.DiskFeatureCache ? new FeatureCache(outDir) : FeatureCache.Shared;
        var clock = Stopwatch.StartNew();
        int before = cache.Computed;
        IReadOnlyList<Audio.FeatureMatrix> features;
        using (phases.Time(RunPhase.Features))
            features = cache.GetAll(data.Utterances, spec, ProgressMeter.Reporter(log, "features:", "files", milestoneFrom: 2000));
        log.Line(string.Create(CultureInfo.InvariantCulture,
            $"features: {FeatureSettingsJson.Describe(spec.Settings)}, {cache.Computed - before} computed, {data.Utterances.Count - (cache.Computed - before)} cached ({clock.Elapsed.TotalSeconds:0.0} s)"));
        var probe = options.CreateModel(data.Labels, new Generator(options.Seed), backend);
        log.Line($"model: {options.Model}: {probe.Description}; backend {backend.Name}");
        if (options.Model == "fcn")
        {
            string norm = spec.Settings.Normalization switch { FeatureNormalization.PerBin => "per bin", var n => n.ToString().ToLowerInvariant() };
            log.Line(string.Create(CultureInfo.InvariantCulture,
                $"recipe: {options.Recipe.Name}{(options.Recipe == FcnRecipe.Paper ? " (Paper A)" : "")}; normalisation {norm}{(options.EffectiveSpecAugment ? ", SpecAugment" : "")}{(options.EffectiveFrequencyWarp > 0 ? $", frequency warp ±{options.EffectiveFrequencyWarp:0.##} semitones" : "")}{(options.EffectiveWarmup > 0 ? $", warm-up {options.EffectiveWarmup} epochs" : "")}{(options.EffectiveClipNorm > 0 ? $", gradient norm clipped at {options.EffectiveClipNorm}" : "")}"));
        }
        log.Line(string.Create(CultureInfo.InvariantCulture,
            $"training: {(options.AdamW ? "AdamW" : "Adam")} lr {options.EffectiveLearningRate:0.#e+0}{(options.EffectiveLrStep > 0 ? $" ÷10 every {options.EffectiveLrStep} epochs" : "")}, weight decay {Reports.TrainingReport.Decay(options.EffectiveWeightDecay)}, batch {options.BatchSize ?? probe.DefaultBatchSize}, {options.EffectiveEpochs} epochs, patience {options.EffectivePatience}, validation {options.EffectiveValidationFraction:0.##} of training{(options.Balanced ? ", class-balanced sampling" : "")}, seed {options.Seed}"));

        var results = new List<FoldResult>();
        foreach (var plan in plans)
        {
            log.Line(string.Create(CultureInfo.InvariantCulture,
                $"fold {plan.Fold}/{plan.Folds}: {plan.Description}; {plan.Train.Length} train / {plan.Validation.Length} validation / {plan.Test.Length} test utterances"));
            WarnMissingClasses(data, plan, log);
            var foldDir = Path.Combine(outDir, $"fold{plan.Fold}");
            if (results.Count > 0) results[^1] = results[^1] with { Model = null }; // only the last fold's model is kept, for the report
            results.Add(FoldTrainer.Run(data, features, plan, options, foldDir, resume, log, pretrained, phases));
        }
        var result = new ExperimentResult(results, results.Average(r => r.Test.WeightedAccuracy), results.Average(r => r.Test.UnweightedAccuracy));
        if (results.Count > 1)
            log.Line(string.Create(CultureInfo.InvariantCulture,
                $"mean over {results.Count} folds: WA={result.MeanWa:0.000} UA={result.MeanUa:0.000} (per fold UA: {string.Join(", ", results.Select(r => r.Test.UnweightedAccuracy.ToString("0.000", CultureInfo.InvariantCulture)))}){ClassSetNote(results)}"));
        using (phases.Time(RunPhase.Report))
        {
            JsonUtil.WriteFileAtomic(Path.Combine(outDir, "metrics.json"), JsonUtil.Build(w => WriteSummary(w, data, options, probe, result), indented: true));
            log.Line($"report: {WriteReport(outDir, data, features, options, probe, result, backend)}");
        }
        return result;
    }

    /// <summary>One line per class that has no training utterance in the fold: the model cannot learn it there.</summary>
    private static void WarnMissingClasses(Dataset data, FoldPlan plan, ITrainingLog log)
    {
        var trained = plan.Train.Select(i => data.Utterances[i].Label).ToHashSet(StringComparer.Ordinal);
        foreach (var label in data.Labels.Where(l => !trained.Contains(l)))
            log.Line($"fold {plan.Fold}/{plan.Folds}: warning: class '{label}' has no training utterances in this fold; the model cannot learn it");
    }

    /// <summary>
    /// "" when every fold's UA averages the same classes; else a note naming each fold's test classes
    /// (UA is the mean recall over the classes present in the test set).
    /// </summary>
    private static string ClassSetNote(IReadOnlyList<FoldResult> results)
    {
        var sets = results.Select(r => string.Join(", ", r.Test.Labels.Where((_, c) => r.Test.Support[c] > 0))).ToList();
        if (sets.Distinct(StringComparer.Ordinal).Count() == 1) return "";
        return "; folds average different class sets: " + string.Join("; ", results.Select((r, i) => $"fold {r.Plan.Fold}: {sets[i]}"));
    }

    /// <summary>
    /// Writes report.html; a failure there (a full disk, a drawing bug) is reported in the log line and
    /// does not fail a run whose checkpoints and metrics.json are already written.
    /// </summary>
    private static string WriteReport(string outDir, Dataset data, IReadOnlyList<Audio.FeatureMatrix> features, TrainOptions options, SerModel probe, ExperimentResult result, Backend backend)
    {
        try
        {
            return Reports.TrainingReport.Write(outDir, data, features, options, probe, result, backend);
        }
#pragma warning disable CA1031 // the report is optional output: any failure becomes one line
        catch (Exception ex) when (ex is not OutOfMemoryException)
#pragma warning restore CA1031
        {
            return $"not written ({ex.GetType().Name}: {ex.Message.ReplaceLineEndings(" ")})";
        }
    }

    private static void WriteSummary(Utf8JsonWriter w, Dataset data, TrainOptions options, SerModel probe, ExperimentResult result)
    {
        w.WriteStartObject();
        w.WriteString("model", options.Model);
        w.WriteString("description", probe.Description);
        w.WritePropertyName("config");
        w.WriteRawValue(probe.ConfigJson());
        w.WritePropertyName("features");
        w.WriteRawValue(FeatureSettingsJson.Serialize(probe.Features.Settings));
        w.WriteStartObject("data");
        w.WriteString("name", data.Name);
        w.WriteString("format", Dataset.FormatName(data.Format));
        w.WriteString("root", data.Root);
        w.WriteNumber("utterances", data.Utterances.Count);
        w.WriteStartArray("labels");
        foreach (var l in data.Labels) w.WriteStringValue(l);
        w.WriteEndArray();
        w.WriteNumber("speakers", data.Speakers.Count);
        w.WriteEndObject();
        w.WriteStartObject("options");
        w.WriteString("split", options.Split.ToString().ToLowerInvariant());
        w.WriteNumber("folds", options.Split == SplitKind.List ? 1 : options.Folds);
        w.WriteNumber("epochs", options.EffectiveEpochs);
        w.WriteString("seed", options.Seed.ToString(CultureInfo.InvariantCulture));
        w.WriteString("optimizer", options.AdamW ? "adamw" : "adam");
        w.WriteNumber("lr", options.EffectiveLearningRate);
        w.WriteNumber("lr_step_epochs", options.EffectiveLrStep);
        w.WriteNumber("weight_decay", options.EffectiveWeightDecay);
        w.WriteNumber("batch", options.BatchSize ?? probe.DefaultBatchSize);
        w.WriteNumber("patience", options.EffectivePatience);
        w.WriteNumber("validation_fraction", options.EffectiveValidationFraction);
        w.WriteBoolean("balanced", options.Balanced);
        w.WriteString("backend", options.Backend);
        w.WriteEndObject();
        w.WriteStartArray("folds");
        foreach (var r in result.Folds) r.WriteJson(w);
        w.WriteEndArray();
        w.WriteStartObject("mean");
        JsonUtil.WriteNumberOrNull(w, "wa", result.MeanWa);
        JsonUtil.WriteNumberOrNull(w, "ua", result.MeanUa);
        w.WriteEndObject();
        w.WriteEndObject();
    }
}
