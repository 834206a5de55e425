using System.Globalization;
using System.Text.RegularExpressions;

namespace SerEngine.Models.Data;

/// <summary>
/// IEMOCAP as released: <c>Session1..5/sentences/wav/&lt;dialog&gt;/&lt;utt&gt;.wav</c>, labels in
/// <c>Session*/dialog/EmoEvaluation/&lt;dialog&gt;.txt</c> on lines
/// <c>[6.2901 - 8.2357]	Ses01F_impro01_F000	neu	[2.5000, 2.5000, 2.5000]</c>. The usual 4-class
/// convention: neu → neutral, hap and exc → happy, sad, ang → angry; other codes are skipped.
/// The speaker is the session plus the gender letter of the utterance's last name part
/// (<c>Ses01F</c>); folds split by session (<c>Session1</c>), so leave-one-session-out is speaker independent.
/// </summary>
public static partial class IemocapReader
{
    /// <summary>The four classes, in class order.</summary>
    public static IReadOnlyList<string> Labels { get; } = ["neutral", "happy", "sad", "angry"];

    /// <summary>True when <paramref name="dir"/> has a <c>Session*</c> folder with <c>sentences/wav</c> inside.</summary>
    public static bool Looks(string dir) =>
        Directory.GetDirectories(dir, "Session*").Any(s => Directory.Exists(Path.Combine(s, "sentences", "wav")));

    /// <summary>Reads every labelled utterance of every session present.</summary>
    public static Dataset Read(string dir)
    {
        var sessions = Directory.GetDirectories(dir, "Session*")
            .Where(s => SessionRegex().IsMatch(Path.GetFileName(s)))
            .Order(StringComparer.Ordinal).ToList();
        if (sessions.Count == 0) throw new DatasetException($"{dir} has no Session1..Session5 folders (IEMOCAP layout)");
        var items = new List<Utterance>();
        var skippedCodes = new SortedDictionary<string, int>(StringComparer.Ordinal);
        int missing = 0;
        foreach (var session in sessions)
        {
            string sessionName = Path.GetFileName(session);
            var evalDir = Path.Combine(session, "dialog", "EmoEvaluation");
            if (!Directory.Exists(evalDir)) throw new DatasetException($"{evalDir} is missing (IEMOCAP labels)");
            foreach (var txt in Directory.GetFiles(evalDir, "*.txt").Order(StringComparer.Ordinal))
            {
                if (Path.GetFileName(txt).StartsWith("._", StringComparison.Ordinal)) continue;
                foreach (var line in File.ReadLines(txt))
                {
                    var m = LineRegex().Match(line);
                    if (!m.Success) continue;
                    string utt = m.Groups[1].Value, code = m.Groups[2].Value;
                    string? label = code switch
                    {
                        "neu" => "neutral",
                        "hap" or "exc" => "happy",
                        "sad" => "sad",
                        "ang" => "angry",
                        _ => null,
                    };
                    if (label is null)
                    {
                        skippedCodes[code] = skippedCodes.GetValueOrDefault(code) + 1;
                        continue;
                    }
                    int cut = utt.LastIndexOf('_');
                    if (cut <= 0 || cut == utt.Length - 1)
                        throw new DatasetException($"{txt}: utterance name '{utt}' is not <dialog>_<turn>");
                    string dialog = utt[..cut];
                    var wav = Path.Combine(session, "sentences", "wav", dialog, utt + ".wav");
                    if (!File.Exists(wav))
                    {
                        missing++;
                        continue;
                    }
                    string speaker = utt[..Math.Min(5, utt.Length)] + utt[cut + 1];
                    items.Add(new Utterance(DatasetReader.RelativeId(dir, wav), label, speaker, sessionName, wav));
                }
            }
        }
        items.Sort((a, b) => string.CompareOrdinal(a.Id, b.Id));
        var notes = new List<string>();
        if (skippedCodes.Count > 0)
            notes.Add($"{skippedCodes.Values.Sum()} utterances outside the 4 classes ({string.Join(", ", skippedCodes.Select(kv => string.Create(CultureInfo.InvariantCulture, $"{kv.Key} {kv.Value}")))})");
        if (missing > 0) notes.Add(string.Create(CultureInfo.InvariantCulture, $"{missing} labelled utterances whose WAV file is missing"));
        if (items.Count == 0) throw new DatasetException($"no labelled IEMOCAP utterances with WAV files in {dir}");
        return new Dataset("IEMOCAP", DatasetFormat.Iemocap, dir, items, [.. Labels], notes.Count > 0 ? string.Join("; ", notes) : null);
    }

    [GeneratedRegex(@"^Session\d+$")]
    private static partial Regex SessionRegex();

    [GeneratedRegex(@"^\[\s*[\d.]+\s*-\s*[\d.]+\s*\]\t(\S+)\t(\S+)\t")]
    private static partial Regex LineRegex();
}
