using System.Globalization;
using SerEngine.Audio;
using SerEngine.IO;

namespace SerEngine.Cli.Commands;

/// <summary>
/// <c>ser features FILE --kind logspec|logmel|mfcc [--out F.safetensors]</c>: computes a model's
/// front end for one WAV file (resampled to 16 kHz) and prints its size, or writes it as a
/// <c>features [bins, frames]</c> tensor with the settings in the metadata.
/// </summary>
public sealed class FeaturesCommand : ICommand
{
    /// <inheritdoc/>
    public string Name => "features";

    /// <inheritdoc/>
    public string Summary => "compute log spectrogram, log-mel or MFCC features of a WAV file";

    /// <inheritdoc/>
    public string Usage => "features FILE --kind logspec|logmel|mfcc [--out F.safetensors]";

    /// <inheritdoc/>
    public IReadOnlyList<OptionSpec> Options { get; } =
    [
        new("--kind", "KIND", "logspec (AttentionFcn), logmel (its log-mel variant) or mfcc (FocusCalibrationNet)", Choices: ["logspec", "logmel", "mfcc"]),
        new("--out", "FILE", "write the features to a safetensors file (tensor 'features', [bins, frames])"),
    ];

    /// <inheritdoc/>
    public int Run(ParsedArgs args, TextWriter stdout, TextWriter stderr)
    {
        if (args.Positionals.Count != 1) throw new UsageException($"features needs exactly one WAV file (usage: ser {Usage})");
        var kind = args.Value("--kind") ?? throw new UsageException("features needs --kind logspec|logmel|mfcc");
        var settings = kind switch
        {
            "logspec" => FeatureSettings.PaperA,
            "logmel" => FeatureSettings.PaperALogMel,
            "mfcc" => FeatureSettings.PaperB,
            _ => throw new UsageException($"unknown feature kind '{kind}' (known: logspec, logmel, mfcc)"),
        };
        var path = args.Positionals[0];
        ModelCommandOptions.InputFile(path, "features takes one WAV file");
        var outPath = args.Value("--out");
        if (outPath is not null) ModelCommandOptions.OutputFile("--out", outPath);
        var m = AudioFeatures.FromFile(path, settings);
        if (outPath is not null)
        {
            var metadata = new Dictionary<string, string>
            {
                ["kind"] = kind,
                ["source"] = Path.GetFileName(path),
                ["layout"] = "[bins, frames]",
                ["sample_rate"] = settings.SampleRate.ToString(CultureInfo.InvariantCulture),
            };
            SafeTensors.Write(outPath, [new("features", m.ToHostTensor())], metadata);
        }
        stdout.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{path}: {kind} {m.Bins} bins × {m.Frames} frames{(outPath is null ? "" : $" -> {outPath}")}"));
        return 0;
    }
}
