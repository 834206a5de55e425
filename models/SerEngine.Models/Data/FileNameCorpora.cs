using System.Text.RegularExpressions;

namespace SerEngine.Models.Data;

/// <summary>
/// The corpora whose file names carry the label and the speaker: RAVDESS, CREMA-D and EmoDB.
/// Labels are mapped to one vocabulary (neutral, calm, happy, sad, angry, fearful, disgust,
/// surprised, bored) so checkpoints can be evaluated across corpora.
/// </summary>
public static partial class FileNameCorpora
{
    /// <summary>How one corpus names its files.</summary>
    /// <param name="Name">The corpus.</param>
    /// <param name="Format">Its format.</param>
    /// <param name="Pattern">The file name (without extension) it accepts.</param>
    /// <param name="Example">An example name for messages.</param>
    /// <param name="Labels">Its labels in class order.</param>
    /// <param name="Parse">(label, speaker) from a matching name; throws <see cref="DatasetException"/> for unknown codes.</param>
    public sealed record Corpus(string Name, DatasetFormat Format, Regex Pattern, string Example, string[] Labels, Func<string, (string Label, string Speaker)> Parse);

    private static readonly string[] RavdessLabels = ["neutral", "calm", "happy", "sad", "angry", "fearful", "disgust", "surprised"];

    /// <summary>RAVDESS: <c>MM-VV-EE-II-SS-RR-AA</c>; emotion EE 01..08, actor AA.</summary>
    public static Corpus Ravdess { get; } = new("RAVDESS", DatasetFormat.Ravdess, RavdessRegex(), "03-01-05-01-02-01-12.wav",
        RavdessLabels, name =>
        {
            var f = name.Split('-');
            int code = int.Parse(f[2], System.Globalization.CultureInfo.InvariantCulture);
            if (code is < 1 or > 8) throw new DatasetException($"{name}.wav: emotion code {f[2]} is not a RAVDESS emotion (01-08)");
            return (RavdessLabels[code - 1], f[6]);
        });

    /// <summary>CREMA-D: <c>1001_DFA_ANG_XX</c>; speaker, sentence, emotion (ANG/DIS/FEA/HAP/NEU/SAD), level.</summary>
    public static Corpus CremaD { get; } = new("CREMA-D", DatasetFormat.CremaD, CremaDRegex(), "1001_DFA_ANG_XX.wav",
        ["angry", "disgust", "fearful", "happy", "neutral", "sad"], name =>
        {
            var f = name.Split('_');
            string label = f[2] switch
            {
                "ANG" => "angry",
                "DIS" => "disgust",
                "FEA" => "fearful",
                "HAP" => "happy",
                "NEU" => "neutral",
                "SAD" => "sad",
                _ => throw new DatasetException($"{name}.wav: emotion code {f[2]} is not a CREMA-D emotion (ANG, DIS, FEA, HAP, NEU, SAD)"),
            };
            return (label, f[0]);
        });

    /// <summary>EmoDB: <c>03a01Fa</c>; speaker 03, text a01, emotion letter at index 5 (W L E A F T N), version.</summary>
    public static Corpus EmoDb { get; } = new("EmoDB", DatasetFormat.EmoDb, EmoDbRegex(), "03a01Fa.wav",
        ["angry", "bored", "disgust", "fearful", "happy", "sad", "neutral"], name =>
        {
            string label = name[5] switch
            {
                'W' => "angry",     // Wut
                'L' => "bored",     // Langeweile
                'E' => "disgust",   // Ekel
                'A' => "fearful",   // Angst
                'F' => "happy",     // Freude
                'T' => "sad",       // Trauer
                'N' => "neutral",
                _ => throw new DatasetException($"{name}.wav: emotion letter '{name[5]}' is not an EmoDB emotion (W, L, E, A, F, T, N)"),
            };
            return (label, name[..2]);
        });

    /// <summary>Reads every WAV under <paramref name="dir"/> named as <paramref name="corpus"/> names them.</summary>
    public static Dataset Read(string dir, Corpus corpus)
    {
        var files = DatasetReader.ListWavFiles(dir);
        if (files.Count == 0) throw new DatasetException($"no WAV files in {dir}");
        var items = new List<Utterance>(files.Count);
        foreach (var file in files)
        {
            var name = Path.GetFileNameWithoutExtension(file);
            if (!corpus.Pattern.IsMatch(name))
                throw new DatasetException($"{file} does not follow {corpus.Name} naming (e.g. {corpus.Example})");
            var (label, speaker) = corpus.Parse(name);
            items.Add(new Utterance(DatasetReader.RelativeId(dir, file), label, speaker, speaker, file));
        }
        return new Dataset(corpus.Name, corpus.Format, dir, items, corpus.Labels);
    }

    [GeneratedRegex(@"^\d{2}-\d{2}-\d{2}-\d{2}-\d{2}-\d{2}-\d{2}$")]
    private static partial Regex RavdessRegex();

    [GeneratedRegex(@"^\d{4}_[A-Z]{3}_[A-Z]{3}_[A-Z]{2}$")]
    private static partial Regex CremaDRegex();

    [GeneratedRegex(@"^\d{2}[a-z]\d{2}[A-Z][a-z]?$")]
    private static partial Regex EmoDbRegex();
}
