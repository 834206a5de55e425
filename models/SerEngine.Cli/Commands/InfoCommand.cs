using System.Globalization;
using SerEngine.Audio;

namespace SerEngine.Cli.Commands;

/// <summary>
/// <c>ser info FILE...</c>: sample rate, channels, encoding, frames and duration of WAV files, and a
/// <c>note:</c> line for a streamed WAV (placeholder sizes in the header, read to end of file).
/// </summary>
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
            if (i.Streamed is not null) stdout.WriteLine($"note: {i.Streamed}"); // placeholder sizes: the frame count is what the file holds, not what the header says
        }
        return 0;
    }
}
