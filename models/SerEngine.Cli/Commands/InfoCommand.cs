using System.Globalization;
using SerEngine.Audio;

namespace SerEngine.Cli.Commands;

/// <summary><c>ser info FILE...</c>: sample rate, channels, encoding, frames and duration of WAV files.</summary>
public sealed class InfoCommand : ICommand
{
    /// <inheritdoc/>
    public string Name => "info";

    /// <inheritdoc/>
    public string Summary => "print a WAV file's rate, channels, encoding, frames and duration";

    /// <inheritdoc/>
    public string Usage => "info FILE...";

    /// <inheritdoc/>
    public IReadOnlyList<OptionSpec> Options { get; } = [];

    /// <inheritdoc/>
    public int Run(ParsedArgs args, TextWriter stdout, TextWriter stderr)
    {
        if (args.Positionals.Count == 0) throw new UsageException($"info needs at least one WAV file (usage: ser {Usage})");
        foreach (var path in args.Positionals)
        {
            var i = WavReader.ReadInfo(path); // reads the header only; a bad file throws one clear line
            stdout.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{path}: {i.SampleRate} Hz, {i.Channels} channel{(i.Channels == 1 ? "" : "s")}, {i.EncodingDescription}, {i.FrameCount} frames, {i.DurationSeconds:0.000} s"));
        }
        return 0;
    }
}
