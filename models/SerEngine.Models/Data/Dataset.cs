using System.Globalization;
using System.Text;

namespace SerEngine.Models.Data;

/// <summary>The layouts <see cref="DatasetReader"/> reads.</summary>
public enum DatasetFormat
{
    /// <summary>Detect from the folder's contents.</summary>
    Auto,
    /// <summary>RAVDESS: <c>03-01-05-01-02-01-12.wav</c>, emotion = 3rd field, actor = 7th.</summary>
    Ravdess,
    /// <summary>CREMA-D: <c>1001_DFA_ANG_XX.wav</c>, speaker = 1st field, emotion = 3rd.</summary>
    CremaD,
    /// <summary>Berlin EmoDB: <c>03a01Fa.wav</c>, speaker = first two digits, emotion letter at index 5.</summary>
    EmoDb,
    /// <summary>IEMOCAP's release: Session1–5 with sentences/wav and dialog/EmoEvaluation; 4 classes.</summary>
    Iemocap,
    /// <summary>One folder per label (optionally one sub-folder per speaker inside).</summary>
    Folders,
    /// <summary>A CSV manifest with a header naming path, label and (optionally) speaker columns.</summary>
    Csv,
    /// <summary>The synthetic corpus generated in code.</summary>
    Builtin,
}

/// <summary>A data set the reader refuses (empty, one class, unknown labels, ...): a one-line message.</summary>
public sealed class DatasetException(string message) : Exception(message);

/// <summary>A loaded data set: utterances, their label set in class-index order, and what was skipped.</summary>
public sealed class Dataset
{
    /// <summary>Wraps the utterances; <paramref name="labels"/> fixes class indices (labels not present are dropped).</summary>
    public Dataset(string name, DatasetFormat format, string root, IReadOnlyList<Utterance> utterances, IReadOnlyList<string>? labels = null, string? skipped = null)
    {
        Name = name;
        Format = format;
        Root = root;
        Utterances = utterances;
        var present = utterances.Select(u => u.Label).ToHashSet(StringComparer.Ordinal);
        Labels = labels is null
            ? [.. present.Order(StringComparer.Ordinal)]
            : [.. labels.Where(present.Contains), .. present.Where(l => !labels.Contains(l)).Order(StringComparer.Ordinal)];
        Skipped = skipped;
        foreach (var label in Labels) CheckLabel(label);
    }

    /// <summary>Labels reach the terminal and the checkpoint: refuse what a checkpoint could not carry (naming an utterance that has it).</summary>
    private void CheckLabel(string label)
    {
        if (Training.CheckpointChecks.LabelProblem(label) is not string why) return;
        var first = Utterances.First(u => u.Label == label);
        throw new DatasetException($"{Root}: the label {PrintableText.Quote(label)} of {PrintableText.Quote(first.Id, 200)} {why}");
    }

    /// <summary>A short name (the corpus, or "built-in synthetic corpus").</summary>
    public string Name { get; }

    /// <summary>The layout it was read as.</summary>
    public DatasetFormat Format { get; }

    /// <summary>The folder or file it came from.</summary>
    public string Root { get; }

    /// <summary>Every utterance, in a fixed order (sorted by id for file readers).</summary>
    public IReadOnlyList<Utterance> Utterances { get; }

    /// <summary>Class names; the index of a label here is its class index.</summary>
    public IReadOnlyList<string> Labels { get; }

    /// <summary>What the reader left out and why (null when nothing).</summary>
    public string? Skipped { get; }

    /// <summary>Class index of <paramref name="label"/>, or −1.</summary>
    public int LabelIndex(string label)
    {
        for (int i = 0; i < Labels.Count; i++)
            if (Labels[i] == label) return i;
        return -1;
    }

    /// <summary>Distinct speakers, sorted.</summary>
    public IReadOnlyList<string> Speakers => [.. Utterances.Select(u => u.Speaker).Distinct().Order(StringComparer.Ordinal)];

    /// <summary>Distinct fold groups (speakers, or sessions), sorted.</summary>
    public IReadOnlyList<string> Groups => [.. Utterances.Select(u => u.Group).Distinct().Order(StringComparer.Ordinal)];

    /// <summary>Utterances per class, in class order.</summary>
    public int[] ClassCounts()
    {
        var counts = new int[Labels.Count];
        foreach (var u in Utterances) counts[LabelIndex(u.Label)]++;
        return counts;
    }

    /// <summary>Refuses a data set that cannot be trained on: no utterances, or a single class.</summary>
    public void RequireTrainable()
    {
        if (Utterances.Count == 0) throw new DatasetException($"no utterances in {Root}");
        if (Labels.Count < 2)
            throw new DatasetException($"{Root} has only one class ({Labels[0]}, {Utterances.Count} utterances); training needs at least two");
    }

    /// <summary>
    /// Two lines for the user: the size, label set with counts and speakers; then what was skipped.
    /// </summary>
    public string Describe()
    {
        var sb = new StringBuilder();
        var counts = ClassCounts();
        var speakers = Speakers;
        sb.Append(Format == DatasetFormat.Builtin ? $"data: {Name}: " : $"data: {Name} ({FormatName(Format)}) at {Root}: ");
        sb.Append(CultureInfo.InvariantCulture, $"{Utterances.Count} utterances, ");
        sb.Append(CultureInfo.InvariantCulture, $"{Labels.Count} classes (");
        sb.Append(string.Join(", ", Labels.Select((l, i) => $"{l} {counts[i]}")));
        sb.Append(CultureInfo.InvariantCulture, $"), {speakers.Count} speakers ({Abbreviate(speakers)})");
        var groups = Groups;
        if (!groups.SequenceEqual(speakers)) sb.Append(CultureInfo.InvariantCulture, $", {groups.Count} fold groups ({Abbreviate(groups)})");
        if (Skipped is not null) sb.Append(CultureInfo.InvariantCulture, $"\ndata: skipped {Skipped}");
        return sb.ToString();
    }

    /// <summary>The option spelling of a format (<c>crema-d</c>).</summary>
    public static string FormatName(DatasetFormat format) => format switch
    {
        DatasetFormat.CremaD => "crema-d",
        _ => format.ToString().ToLowerInvariant(),
    };

    /// <summary>Parses <c>auto|ravdess|crema-d|emodb|iemocap|folders|csv</c>.</summary>
    public static DatasetFormat ParseFormat(string name) => name.ToLowerInvariant() switch
    {
        "auto" => DatasetFormat.Auto,
        "ravdess" => DatasetFormat.Ravdess,
        "crema-d" or "cremad" => DatasetFormat.CremaD,
        "emodb" => DatasetFormat.EmoDb,
        "iemocap" => DatasetFormat.Iemocap,
        "folders" => DatasetFormat.Folders,
        "csv" => DatasetFormat.Csv,
        _ => throw new ArgumentException($"unknown data format '{name}' (known: auto, ravdess, crema-d, emodb, iemocap, folders, csv)"),
    };

    private static string Abbreviate(IReadOnlyList<string> names) =>
        names.Count <= 8 ? string.Join(", ", names) : $"{string.Join(", ", names.Take(3))}, ..., {names[^1]}";
}
