using System.Globalization;
using SerEngine.Audio;
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

    /// <summary>
    /// The features of the <paramref name="utterances"/> long enough for <paramref name="model"/> under
    /// <paramref name="spec"/>, checked by the model, and the ones too short, in input order. A WAV header
    /// that already shows too few samples spares its features; the frame count decides the rest (a
    /// resampled length can land a sample short of what the header promised).
    /// </summary>
    public static (List<Utterance> Kept, List<FeatureMatrix> Features, List<Utterance> Skipped) Features(
        SerModel model, FeatureSpec spec, IReadOnlyList<Utterance> utterances, FeatureCache cache, Action<int, int>? progress)
    {
        int minimum = MinimumSamples(model, spec);
        var skipped = utterances.Where(u => ShortByHeader(u, minimum, spec.Settings.SampleRate)).ToHashSet();
        var read = utterances.Where(u => !skipped.Contains(u)).ToList();
        var computed = cache.GetAll(read, spec, progress);
        var kept = new List<Utterance>();
        var features = new List<FeatureMatrix>();
        for (int i = 0; i < computed.Length; i++)
        {
            if (computed[i].Frames < model.MinimumFrames) { skipped.Add(read[i]); continue; }
            model.CheckInput(computed[i], read[i].DisplayName);
            kept.Add(read[i]);
            features.Add(computed[i]);
        }
        return (kept, features, [.. utterances.Where(skipped.Contains)]);
    }

    /// <summary>True when the WAV header already shows fewer samples than <paramref name="minimum"/>; unreadable files are left to the feature pass, which names the problem.</summary>
    private static bool ShortByHeader(Utterance u, int minimum, int sampleRate)
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

    /// <summary>The model's minimum under <paramref name="spec"/> as messages print it (<c>0.67 s</c>).</summary>
    public static string MinimumDuration(SerModel model, FeatureSpec spec) =>
        string.Create(CultureInfo.InvariantCulture, $"{MinimumSamples(model, spec) / (double)spec.Settings.SampleRate:0.###} s");

    /// <summary>The warning line for a skipped file.</summary>
    public static string Warning(string name, SerModel model, FeatureSpec spec, string command) =>
        string.Create(CultureInfo.InvariantCulture,
            $"ser: warning: {name}: shorter than the {MinimumDuration(model, spec)} this {model.Kind} model needs; skipped ('ser {command} --pad-short' zero-pads it)");
}
