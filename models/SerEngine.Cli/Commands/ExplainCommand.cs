using SerEngine.Models.Data;
using SerEngine.Models.Reports;
using SerEngine.Models.Training;

namespace SerEngine.Cli.Commands;

/// <summary>
/// <c>ser explain --checkpoint F FILE.wav --out OUT.svg|OUT.png</c>: the features of one WAV file
/// (computed as <c>ser predict</c> computes them), the predicted label and probabilities, and what
/// the model attended to, drawn as one figure (<see cref="UtteranceFigure"/>): SVG, or PNG painted
/// by the built-in raster canvas. The file is written atomically (temp file + rename).
/// </summary>
public sealed class ExplainCommand : ICommand
{
    /// <inheritdoc/>
    public string Name => "explain";

    /// <inheritdoc/>
    public string Summary => "draw what a checkpoint's model attends to in one WAV file (SVG or PNG figure)";

    /// <inheritdoc/>
    public string Usage => "explain --checkpoint F FILE.wav --out OUT.svg|OUT.png [--pad-short] [--backend NAME] [--scale S]";

    /// <inheritdoc/>
    public IReadOnlyList<OptionSpec> Options { get; } =
    [
        new("--checkpoint", "F", "a checkpoint written by 'ser train' (foldI/best.safetensors)"),
        new("--out", "FILE", "the figure to write: .svg, or .png"),
        new("--scale", "S", "PNG pixels per figure unit, 1..4 (default 2: a 1920-pixel-wide image)"),
        new("--pad-short", null, "zero-pad audio shorter than the model needs (fcn: 0.67 s) instead of refusing it"),
        ModelCommandOptions.Backend,
    ];

    /// <inheritdoc/>
    public int Run(ParsedArgs args, TextWriter stdout, TextWriter stderr)
    {
        var checkpointPath = args.Value("--checkpoint") ?? throw new UsageException($"explain needs --checkpoint F (usage: ser {Usage})");
        var outPath = args.Value("--out") ?? throw new UsageException($"explain needs --out OUT.svg or OUT.png (usage: ser {Usage})");
        if (args.Positionals.Count != 1)
            throw new UsageException($"explain takes exactly one WAV file, got {args.Positionals.Count} (usage: ser {Usage})");
        ModelCommandOptions.OutputFile("--out", outPath);
        string ext = Path.GetExtension(outPath).ToLowerInvariant();
        if (ext is not (".svg" or ".png")) throw new UsageException($"--out '{outPath}': unknown figure type '{ext}' (known: .svg, .png)");
        double scale = ModelCommandOptions.Number(args, "--scale", 1) ?? 2;
        if (scale > 4) throw new UsageException($"option '--scale' needs a number in 1..4, got '{args.Value("--scale")}'");
        var file = args.Positionals[0];
        ModelCommandOptions.InputFile(file, "explain takes one WAV file");

        var backend = ModelCommandOptions.GetBackend(args);
        var model = ModelCommandOptions.LoadCheckpoint(checkpointPath).CreateModel(backend);
        var features = new FeatureCache().GetAll([new Utterance(file, "", "", "", file)], ShortAudio.Spec(model, args.Flag("--pad-short")))[0];
        model.CheckInput(features, file);
        var explanation = Explainer.Explain(model, features, file);
        UtteranceFigure.Write(outPath, explanation, scale); // .svg or .png, checked above
        stdout.WriteLine($"{file}: {explanation.Predicted} -> {outPath}");
        return 0;
    }
}
