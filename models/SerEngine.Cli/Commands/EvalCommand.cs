using System.Globalization;
using SerEngine.Models.Corpus;
using SerEngine.Models.Data;
using SerEngine.Models.Training;

namespace SerEngine.Cli.Commands;

/// <summary>
/// <c>ser eval --checkpoint F [--data DIR]</c>: scores a checkpoint on a data set (every
/// utterance): WA, UA, per-class recall and the confusion matrix; the last line is
/// <c>result: WA=0.xxx UA=0.xxx</c>. Without <c>--data</c> it uses the built-in corpus.
/// </summary>
public sealed class EvalCommand : ICommand
{
    /// <inheritdoc/>
    public string Name => "eval";

    /// <inheritdoc/>
    public string Summary => "evaluate a checkpoint on a data set (WA, UA, per-class recall, confusion matrix)";

    /// <inheritdoc/>
    public string Usage => "eval --checkpoint F [--data DIR] [--format F] [--backend NAME] [--json FILE]";

    /// <inheritdoc/>
    public IReadOnlyList<OptionSpec> Options { get; } =
    [
        new("--checkpoint", "F", "a checkpoint written by 'ser train' (foldI/best.safetensors)"),
        new("--data", "DIR", "data folder or .csv manifest (default: the built-in synthetic corpus)"),
        new("--format", "F", "auto, ravdess, crema-d, emodb, iemocap, folders or csv (default auto)"),
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
        var checkpoint = Checkpoint.Load(checkpointPath);
        var data = dataPath is null ? BuiltinCorpus.Create() : ModelCommandOptions.LoadData(args, dataPath);
        if (data.Utterances.Count == 0) throw new DatasetException($"no utterances in {data.Root}");
        var unknown = data.Labels.Where(l => !checkpoint.Labels.Contains(l)).ToList();
        if (unknown.Count > 0)
            throw new DatasetException($"label{(unknown.Count > 1 ? "s" : "")} {string.Join(", ", unknown.Select(l => $"'{l}'"))} of {data.Root} {(unknown.Count > 1 ? "are" : "is")} not among the checkpoint's labels ({string.Join(", ", checkpoint.Labels)})");
        var model = checkpoint.CreateModel(backend);

        var log = ModelCommandOptions.Log(stdout);
        log.Line(data.Describe());
        log.Line($"model: {model.Kind}: {model.Description}; backend {backend.Name}");
        var features = FeatureCache.Shared.GetAll(data.Utterances, model.Features, (done, total) =>
            log.Progress(string.Create(CultureInfo.InvariantCulture, $"features: {done}/{total}"), milestone: total >= 2000));
        for (int i = 0; i < features.Length; i++) model.CheckInput(features[i], data.Utterances[i].DisplayName);
        log.Progress("predicting ...");
        var logits = model.PredictLogits(features, [.. data.Utterances.Select(u => u.DisplayName)]);
        var truth = data.Utterances.Select(u => model.Labels.ToList().IndexOf(u.Label)).ToArray();
        var metrics = ClassificationMetrics.From(truth, [.. logits.Select(SerModel.ArgMax)], model.Labels);
        log.Line(metrics.Table());
        var jsonPath = args.Value("--json");
        if (jsonPath is not null) JsonUtil.WriteFileAtomic(jsonPath, JsonUtil.Build(metrics.WriteJson, indented: true));
        log.Line($"result: {metrics.Summary}");
        return 0;
    }
}
