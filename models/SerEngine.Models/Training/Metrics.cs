using System.Globalization;
using System.Text;
using System.Text.Json;

namespace SerEngine.Models.Training;

/// <summary>
/// Utterance-level classification metrics: WA (overall accuracy), UA (mean of the per-class
/// recalls over classes that occur in the truth), per-class recall and the confusion matrix
/// (rows: true class, columns: predicted class).
/// </summary>
public sealed class ClassificationMetrics
{
    private ClassificationMetrics(IReadOnlyList<string> labels, int[,] confusion)
    {
        Labels = labels;
        Confusion = confusion;
        int c = labels.Count;
        Support = new int[c];
        Recall = new double[c];
        long correct = 0, total = 0;
        for (int i = 0; i < c; i++)
        {
            for (int j = 0; j < c; j++) Support[i] += confusion[i, j];
            correct += confusion[i, i];
            total += Support[i];
            Recall[i] = Support[i] > 0 ? confusion[i, i] / (double)Support[i] : double.NaN;
        }
        Count = (int)total;
        WeightedAccuracy = total > 0 ? correct / (double)total : double.NaN;
        var present = Recall.Where(r => !double.IsNaN(r)).ToList();
        UnweightedAccuracy = present.Count > 0 ? present.Average() : double.NaN;
    }

    /// <summary>Metrics of <paramref name="predicted"/> against <paramref name="truth"/> (class indices).</summary>
    public static ClassificationMetrics From(IReadOnlyList<int> truth, IReadOnlyList<int> predicted, IReadOnlyList<string> labels)
    {
        if (truth.Count != predicted.Count) throw new ArgumentException($"{truth.Count} true labels, {predicted.Count} predictions");
        var m = new int[labels.Count, labels.Count];
        for (int i = 0; i < truth.Count; i++) m[truth[i], predicted[i]]++;
        return new ClassificationMetrics(labels, m);
    }

    /// <summary>Class names.</summary>
    public IReadOnlyList<string> Labels { get; }

    /// <summary>[true, predicted] counts.</summary>
    public int[,] Confusion { get; }

    /// <summary>Utterances per true class.</summary>
    public int[] Support { get; }

    /// <summary>Recall per class (NaN for a class with no utterances).</summary>
    public double[] Recall { get; }

    /// <summary>Utterances scored.</summary>
    public int Count { get; }

    /// <summary>WA: correct / all.</summary>
    public double WeightedAccuracy { get; }

    /// <summary>UA: mean recall over the classes present.</summary>
    public double UnweightedAccuracy { get; }

    /// <summary><c>WA=0.812 UA=0.800</c>.</summary>
    public string Summary => string.Create(CultureInfo.InvariantCulture, $"WA={WeightedAccuracy:0.000} UA={UnweightedAccuracy:0.000}");

    /// <summary>Per-class recall and the confusion matrix as text lines.</summary>
    public string Table()
    {
        var sb = new StringBuilder();
        int width = Math.Max(9, Labels.Max(l => l.Length) + 1);
        sb.Append("true \\ predicted".PadRight(width + 7));
        foreach (var l in Labels) sb.Append(l.PadLeft(width));
        sb.Append("   recall\n");
        for (int i = 0; i < Labels.Count; i++)
        {
            sb.Append(Labels[i].PadRight(width + 7));
            for (int j = 0; j < Labels.Count; j++) sb.Append(Confusion[i, j].ToString(CultureInfo.InvariantCulture).PadLeft(width));
            sb.Append(double.IsNaN(Recall[i]) ? "        -" : Recall[i].ToString("0.000", CultureInfo.InvariantCulture).PadLeft(9));
            sb.Append('\n');
        }
        return sb.ToString().TrimEnd('\n');
    }

    /// <summary>Writes the metrics as a JSON object.</summary>
    public void WriteJson(Utf8JsonWriter w)
    {
        w.WriteStartObject();
        w.WriteNumber("utterances", Count);
        JsonUtil.WriteNumberOrNull(w, "wa", WeightedAccuracy);
        JsonUtil.WriteNumberOrNull(w, "ua", UnweightedAccuracy);
        w.WriteStartObject("recall");
        for (int i = 0; i < Labels.Count; i++) JsonUtil.WriteNumberOrNull(w, Labels[i], Recall[i]);
        w.WriteEndObject();
        w.WriteStartArray("labels");
        foreach (var l in Labels) w.WriteStringValue(l);
        w.WriteEndArray();
        w.WriteStartArray("confusion");
        for (int i = 0; i < Labels.Count; i++)
        {
            w.WriteStartArray();
            for (int j = 0; j < Labels.Count; j++) w.WriteNumberValue(Confusion[i, j]);
            w.WriteEndArray();
        }
        w.WriteEndArray();
        w.WriteEndObject();
    }
}

/// <summary>Small JSON helpers (System.Text.Json without reflection, so the CLI stays AOT-friendly).</summary>
public static class JsonUtil
{
    /// <summary>A number, or null for NaN and infinities.</summary>
    public static void WriteNumberOrNull(Utf8JsonWriter w, string name, double value)
    {
        if (double.IsFinite(value)) w.WriteNumber(name, value);
        else w.WriteNull(name);
    }

    /// <summary>Builds a JSON text with <paramref name="write"/> (indented when asked).</summary>
    public static string Build(Action<Utf8JsonWriter> write, bool indented = false)
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms, new JsonWriterOptions { Indented = indented }))
            write(w);
        return Encoding.UTF8.GetString(ms.ToArray());
    }

    /// <summary>Writes <paramref name="text"/> to <paramref name="path"/> atomically (temp file + rename).</summary>
    public static void WriteFileAtomic(string path, string text)
    {
        string tmp = path + ".tmp" + Environment.ProcessId.ToString(CultureInfo.InvariantCulture);
        File.WriteAllText(tmp, text + "\n");
        File.Move(tmp, path, overwrite: true);
    }
}
