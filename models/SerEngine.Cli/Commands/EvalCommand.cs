using System.Globalization;
using SerEngine.Models.Corpus;
using SerEngine.Models.Data;
using SerEngine.Models.Training;

namespace SerEngine.Cli.Commands;

/// <summary>
/// <c>ser eval --checkpoint F [--data DIR]</c>: scores a checkpoint on a data set (every
/// utterance): WA, UA, per-class recall and the confusion matrix; the last line is
/// <c>result: WA=0.xxx UA=0.xxx</c>. Without <c>--data</c> it uses the built-in corpus: only the
/// checkpoint's held-out test speakers when it records them (<see cref="HeldOutSet"/>), else every
/// speaker, with a note on stderr. Audio too short for the model is zero-padded with
/// <c>--pad-short</c>, else skipped with a warning.
/// </summary>
public sealed class EvalCommand : ICommand
{
    /// <inheritdoc/>
    public string Name => "eval";

    /// <inheritdoc/>
    public string Summary => "evaluate a checkpoint on a data set (WA, UA, per-class recall, confusion matrix)";

    /// <inheritdoc/>
    public string Usage => "eval --checkpoint F [--data DIR] [--format F] [--pad-short] [--backend NAME] [--json FILE]";

    /// <inheritdoc/>
    public IReadOnlyList<OptionSpec> Options { get; } =
    [
        new("--checkpoint", "F", "a checkpoint written by 'ser train' (foldI/best.safetensors)"),
        new("--data", "DIR", "data folder or .csv manifest (default: the built-in corpus, the checkpoint's test speakers when it records them)"),
        new("--format", "F", "auto, ravdess, crema-d, emodb, iemocap, folders or csv (default auto)", Choices: ["auto", "ravdess", "crema-d", "emodb", "iemocap", "folders", "csv"]),
        ShortAudio.Option,
        ModelCommandOptions.Backend,
        new("--json", "FILE", "also write the metrics as JSON"),
    ];

    /// <inheritdoc/>
    public int Run(ParsedArgs args, TextWriter stdout, TextWriter stderr)
    {
        if (args.Positionals.Count > 0) throw new UsageException($"eval takes no positional arguments, got '{args.Positionals[0]}' (usage: ser {Usage})");
        var checkpointPath = args.Value("--checkpoint") ?? throw new UsageException("eval needs --checkpoint F");
        var backend = ModelCommandOptions.GetBackend(args);
        var dataPath = args.Value("--data");
        if (dataPath is null && args.Value("--format") is not null) throw new UsageException("--format needs --data");
        var jsonPath = args.Value("--json");
        if (jsonPath is not null) ModelCommandOptions.OutputFile("--json", jsonPath);
        var checkpoint = ModelCommandOptions.LoadCheckpoint(checkpointPath);
        var data = dataPath is null ? BuiltinHeldOut(checkpoint, stdout, stderr) : ModelCommandOptions.LoadData(args, dataPath);
        if (data.Utterances.Count == 0) throw new DatasetException($"no utterances in {data.Root}");
        var unknown = data.Labels.Where(l => !checkpoint.Labels.Contains(l)).ToList();
        if (unknown.Count > 0)
            throw new DatasetException($"label{(unknown.Count > 1 ? "s" : "")} {string.Join(", ", unknown.Select(l => $"'{l}'"))} of {data.Root} {(unknown.Count > 1 ? "are" : "is")} not among the checkpoint's labels ({string.Join(", ", checkpoint.Labels)})");
        var model = checkpoint.CreateModel(backend);

        var log = ModelCommandOptions.Log(stdout);
        log.Line(data.Describe());
        log.Line($"model: {model.Kind}: {model.Description}; backend {backend.Name}");
        var spec = ShortAudio.Spec(model, args.Flag("--pad-short"));
        var (scored, features, skipped) = ShortAudio.Features(model, spec, data.Utterances, FeatureCache.Shared,
            ProgressMeter.Reporter(log, "features:", "files", milestoneFrom: 2000));
        log.ClearStatus();
        foreach (var u in skipped) stderr.WriteLine(ShortAudio.Warning(u.DisplayName, model, spec, Name));
        if (scored.Count == 0)
            throw new DatasetException(
                $"nothing scored: every utterance of {data.Root} is shorter than the {ShortAudio.MinimumDuration(model, spec)} this {model.Kind} model needs (--pad-short zero-pads them)");
        var logits = model.PredictLogits(features, [.. scored.Select(u => u.DisplayName)], ProgressMeter.Reporter(log, "predicting:", model.PredictionUnit));
        log.ClearStatus();
        var truth = scored.Select(u => model.Labels.ToList().IndexOf(u.Label)).ToArray();
        var metrics = ClassificationMetrics.From(truth, [.. logits.Select(SerModel.ArgMax)], model.Labels);
        log.Line(metrics.Table());
        if (jsonPath is not null) JsonUtil.WriteFileAtomic(jsonPath, JsonUtil.Build(metrics.WriteJson, indented: true));
        log.Line($"result: {metrics.Summary}");
        return 0;
    }

    /// <summary>
    /// The built-in corpus for a checkpoint: the one it was trained on, cut to its fold's test speakers,
    /// when the checkpoint records them; else the default corpus, every speaker, with a note on stderr.
    /// </summary>
    private static Dataset BuiltinHeldOut(Checkpoint checkpoint, TextWriter stdout, TextWriter stderr)
    {
        var heldOut = HeldOutSet.FromJson(checkpoint.HeldOutJson);
        if (heldOut?.Corpus is null)
        {
            stderr.WriteLine($"ser: note: {checkpoint.Path} records no held-out speakers of the built-in corpus; every speaker is scored, including those it was trained on (give --data for a fair test)");
            return BuiltinCorpus.Create();
        }
        var corpus = BuiltinCorpus.Create(heldOut.Corpus);
        var test = heldOut.TestSpeakers.ToHashSet(StringComparer.Ordinal);
        stdout.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"eval: the checkpoint's held-out test speakers (fold {heldOut.Fold}/{heldOut.Folds}): {string.Join(", ", heldOut.TestSpeakers)}; its training speakers are left out"));
        return new Dataset(corpus.Name, corpus.Format, corpus.Root, [.. corpus.Utterances.Where(u => test.Contains(u.Speaker))], corpus.Labels);
    }
}
