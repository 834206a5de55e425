using System.Globalization;
using SerEngine.Models.Data;
using SerEngine.Models.Training;

namespace SerEngine.Cli.Commands;

/// <summary>
/// <c>ser predict --checkpoint F FILE...</c>: the predicted label and the class probabilities of
/// each WAV file, one line per file (<c>FILE: angry (angry 0.71, happy 0.20, ...)</c>), or a JSON
/// array with <c>--json</c>. A file shorter than the model needs is zero-padded with
/// <c>--pad-short</c>, else skipped with a warning on stderr; the exit code is 1 only when every file
/// was skipped.
/// </summary>
public sealed class PredictCommand : ICommand
{
    /// <inheritdoc/>
    public string Name => "predict";

    /// <inheritdoc/>
    public string Summary => "predict the emotion of WAV files with a checkpoint (label and class probabilities)";

    /// <inheritdoc/>
    public string Usage => "predict --checkpoint F FILE... [--json] [--pad-short] [--backend NAME]";

    /// <inheritdoc/>
    public IReadOnlyList<OptionSpec> Options { get; } =
    [
        new("--checkpoint", "F", "a checkpoint written by 'ser train' (foldI/best.safetensors)"),
        new("--json", null, "print a JSON array of {file, label, probabilities}"),
        ShortAudio.Option,
        ModelCommandOptions.Backend,
    ];

    /// <inheritdoc/>
    public int Run(ParsedArgs args, TextWriter stdout, TextWriter stderr)
    {
        var checkpointPath = args.Value("--checkpoint") ?? throw new UsageException("predict needs --checkpoint F");
        if (args.Positionals.Count == 0) throw new UsageException($"predict needs at least one WAV file (usage: ser {Usage})");
        var backend = ModelCommandOptions.GetBackend(args);
        var model = ModelCommandOptions.LoadCheckpoint(checkpointPath).CreateModel(backend);
        foreach (var f in args.Positionals) ModelCommandOptions.InputFile(f, "predict takes WAV files");
        var spec = ShortAudio.Spec(model, args.Flag("--pad-short"));
        var log = new TextTrainingLog(stderr, interactive: ReferenceEquals(stderr, Console.Error) && !Console.IsErrorRedirected);
        var (kept, features, skipped) = ShortAudio.Features(model, spec, [.. args.Positionals.Select(f => new Utterance(f, "", "", "", f))], new FeatureCache(),
            ProgressMeter.Reporter(log, "features:", "files"));
        log.ClearStatus();
        foreach (var u in skipped) stderr.WriteLine(ShortAudio.Warning(u.DisplayName, model, spec, Name));
        if (features.Count == 0)
            throw new DatasetException(
                $"nothing predicted: every file is shorter than the {ShortAudio.MinimumDuration(model, spec)} this {model.Kind} model needs (--pad-short zero-pads them)");
        var files = kept.Select(u => u.DisplayName).ToList();
        var probabilities = SerModel.Softmax(model.PredictLogits(features, files, ProgressMeter.Reporter(log, "predicting:", model.PredictionUnit)));
        log.ClearStatus();
        if (args.Flag("--json"))
        {
            stdout.WriteLine(JsonUtil.Build(w =>
            {
                w.WriteStartArray();
                for (int i = 0; i < files.Count; i++)
                {
                    w.WriteStartObject();
                    w.WriteString("file", files[i]);
                    w.WriteString("label", model.Labels[SerModel.ArgMax(probabilities[i])]);
                    w.WriteStartObject("probabilities");
                    for (int c = 0; c < model.Labels.Count; c++) w.WriteNumber(model.Labels[c], Math.Round(probabilities[i][c], 6));
                    w.WriteEndObject();
                    w.WriteEndObject();
                }
                w.WriteEndArray();
            }, indented: true));
            return 0;
        }
        for (int i = 0; i < files.Count; i++)
        {
            var p = probabilities[i];
            var ranked = Enumerable.Range(0, p.Length).OrderByDescending(c => p[c]).ThenBy(c => c);
            stdout.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{files[i]}: {model.Labels[SerModel.ArgMax(p)]} ({string.Join(", ", ranked.Select(c => string.Create(CultureInfo.InvariantCulture, $"{model.Labels[c]} {p[c]:0.000}")))})"));
        }
        return 0;
    }
}
