using System.Globalization;
using SerEngine.Audio;
using SerEngine.Models.Corpus;

namespace SerEngine.Cli.Commands;

/// <summary>
/// <c>ser corpus --out DIR</c>: writes the built-in synthetic corpus as 16 kHz WAV files in the
/// folders layout (<c>DIR/&lt;label&gt;/&lt;speaker&gt;/NNN.wav</c>), to listen to it or to train on it
/// with <c>--data DIR</c>.
/// </summary>
public sealed class CorpusCommand : ICommand
{
    /// <inheritdoc/>
    public string Name => "corpus";

    /// <inheritdoc/>
    public string Summary => "write the built-in synthetic corpus as WAV files (folders layout)";

    /// <inheritdoc/>
    public string Usage => "corpus --out DIR [--corpus-speakers N] [--corpus-utterances N] [--corpus-classes N]";

    /// <inheritdoc/>
    public IReadOnlyList<OptionSpec> Options { get; } =
    [
        new("--out", "DIR", "folder to write DIR/<label>/<speaker>/NNN.wav into"),
        new("--corpus-speakers", "N", "speakers (default 6)"),
        new("--corpus-utterances", "N", "utterances per speaker and class (default 20)"),
        new("--corpus-classes", "N", "classes, 2..4 of neutral, happy, sad, angry (default 4)"),
    ];

    /// <inheritdoc/>
    public int Run(ParsedArgs args, TextWriter stdout, TextWriter stderr)
    {
        if (args.Positionals.Count > 0) throw new UsageException($"corpus takes no positional arguments (usage: ser {Usage})");
        var outDir = args.Value("--out") ?? throw new UsageException("corpus needs --out DIR");
        ModelCommandOptions.OutputFolder("--out", outDir);
        var data = BuiltinCorpus.Create(new BuiltinCorpusConfig(
            Speakers: ModelCommandOptions.Int(args, "--corpus-speakers", 1, 64) ?? 6,
            UtterancesPerClass: ModelCommandOptions.Int(args, "--corpus-utterances", 1, 1000) ?? 20,
            Classes: ModelCommandOptions.Int(args, "--corpus-classes", 2, 4) ?? 4));
        Parallel.ForEach(data.Utterances, u =>
        {
            var parts = u.Id.Split('/'); // speaker/label/NNN
            var dir = Path.Combine(outDir, parts[1], parts[0]);
            Directory.CreateDirectory(dir);
            WavWriter.Write(Path.Combine(dir, parts[2] + ".wav"), u.LoadSamples(BuiltinCorpus.SampleRate), BuiltinCorpus.SampleRate);
        });
        stdout.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"corpus: {data.Utterances.Count} utterances, {data.Labels.Count} classes, {data.Speakers.Count} speakers -> {outDir}"));
        return 0;
    }
}
