using System.Globalization;
using SerEngine.Audio;
using SerEngine.Models;
using SerEngine.Models.Data;
using SerEngine.Models.Training;

namespace SerEngine.Cli.Commands;

/// <summary>
/// Audio shorter than a checkpoint's model needs, for <c>predict</c> and <c>eval</c>: with
/// <c>--pad-short</c> it is zero-padded to the minimum (as <c>ser train --pad-short</c> does), without
/// it it is skipped with one warning line naming the file and the minimum.
/// </summary>
internal static class ShortAudio
{
    /// <summary>The <c>--pad-short</c> option of predict and eval.</summary>
    public static OptionSpec Option { get; } = new("--pad-short", null, "zero-pad audio shorter than the model needs (fcn: 0.67 s); without it such files are skipped with a warning, and the command fails only when every file is");

    /// <summary>The front end to use: the checkpoint's, padded to the model's minimum with <paramref name="padShort"/> (fcn; fca pads to its segment already).</summary>
    public static FeatureSpec Spec(SerModel model, bool padShort) =>
        padShort && model is FcnModel
            ? model.Features with { PadToSamples = Math.Max(model.Features.PadToSamples, FcnModel.MinimumSamples(model.Features.Settings)) }
            : model.Features;

    /// <summary>Samples (at the model's rate) the model needs under <paramref name="spec"/>.</summary>
    public static int MinimumSamples(SerModel model, FeatureSpec spec) =>
        spec.PadToSamples > 0 ? 1 : model is FcnModel ? FcnModel.MinimumSamples(spec.Settings) : spec.Settings.MinSamples;

    /// <summary>True when the WAV header already shows fewer samples than <paramref name="minimum"/>; unreadable files are left to the feature pass, which names the problem.</summary>
    public static bool ShortByHeader(Utterance u, int minimum, int sampleRate)
    {
        if (u.Path is null || minimum <= 1) return false;
        try
        {
            var info = WavReader.ReadInfo(u.Path);
            return info.SampleRate > 0 && Math.Floor(info.FrameCount * (double)sampleRate / info.SampleRate) < minimum;
        }
        catch (Exception ex) when (ex is IOException or FormatException or ArgumentException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>True when the features have fewer frames than the network accepts.</summary>
    public static bool ShortFeatures(SerModel model, FeatureMatrix f) =>
        f.Frames < (model is FcnModel ? AttentionFcn.MinimumLength : 8);

    /// <summary>The warning line for a skipped file.</summary>
    public static string Warning(string name, SerModel model, FeatureSpec spec, string command) =>
        string.Create(CultureInfo.InvariantCulture,
            $"ser: warning: {name}: shorter than the {MinimumSamples(model, spec) / (double)spec.Settings.SampleRate:0.###} s this {model.Kind} model needs; skipped ('ser {command} --pad-short' zero-pads it)");
}
