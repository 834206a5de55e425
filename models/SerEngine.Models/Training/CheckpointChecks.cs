using System.Globalization;
using System.Text;
using System.Text.Json;
using SerEngine.Models.Data;
using SerEngine.IO;

namespace SerEngine.Models.Training;

/// <summary>
/// What <see cref="Checkpoint"/> checks in a file before trusting it: labels that are safe to print,
/// finite tensors, and stored shapes that agree with the config. Each refusal is a
/// <see cref="CheckpointException"/> naming the file and the tensor, label or field.
/// </summary>
internal static class CheckpointChecks
{
    /// <summary>Longest label accepted (labels are printed in tables and one-line results).</summary>
    public const int MaxLabelLength = 100;

    /// <summary>What is wrong with <paramref name="label"/> as a class name (<c>is empty</c>, <c>contains …</c>), or null: the one rule for checkpoint and data set labels.</summary>
    public static string? LabelProblem(string label) =>
        label.Length == 0 ? "is empty"
        : label.Length > MaxLabelLength ? string.Create(CultureInfo.InvariantCulture, $"has {label.Length} characters; at most {MaxLabelLength} are allowed")
        : PrintableText.Unprintable(label) is string what ? $"contains {what}; labels must be printable text"
        : null;

    /// <summary>
    /// The <c>labels</c> metadata: a JSON array of 2..<see cref="FcnModel.MaxClasses"/> distinct,
    /// non-empty strings of printable text (no control, bidi-override or line-separator characters).
    /// </summary>
    public static List<string> Labels(string json, string path)
    {
        string where = $"{path}: metadata 'labels'";
        JsonDocument doc;
        try { doc = JsonDocument.Parse(json); }
        catch (JsonException ex) { throw new CheckpointException($"{where} is not valid JSON ({ex.Message})"); }
        using (doc)
        {
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Array) throw new CheckpointException($"{where} must be a JSON array of strings, found {root.ValueKind}");
            int n = root.GetArrayLength();
            if (n < 2 || n > FcnModel.MaxClasses)
                throw new CheckpointException(string.Create(CultureInfo.InvariantCulture, $"{where} must hold 2..{FcnModel.MaxClasses} labels, found {n}"));
            var labels = new List<string>(n);
            var seen = new Dictionary<string, int>(StringComparer.Ordinal);
            foreach (var e in root.EnumerateArray())
            {
                int i = labels.Count;
                string at = string.Create(CultureInfo.InvariantCulture, $"{where}: label {i}");
                if (e.ValueKind != JsonValueKind.String) throw new CheckpointException($"{at} must be a string, found {e.ValueKind}");
                string label = e.GetString()!;
                if (LabelProblem(label) is string why) throw new CheckpointException($"{at} {why}");
                if (seen.TryGetValue(label, out int first))
                    throw new CheckpointException(string.Create(CultureInfo.InvariantCulture, $"{at} ('{label}') repeats label {first}"));
                seen[label] = i;
                labels.Add(label);
            }
            return labels;
        }
    }

    /// <summary>Every float in <paramref name="tensors"/> must be finite; the refusal names the tensor (with <paramref name="prefix"/>) and the first bad element.</summary>
    public static void Finite(IReadOnlyDictionary<string, HostTensor> tensors, string path, string prefix)
    {
        foreach (var (name, t) in tensors)
        {
            if (t.Floats is not float[] v) continue;
            int bad = FirstNonFinite(v);
            if (bad < 0) continue;
            string what = float.IsNaN(v[bad]) ? "NaN" : v[bad] > 0 ? "+infinity" : "-infinity";
            throw new CheckpointException(string.Create(CultureInfo.InvariantCulture,
                $"{path}: tensor '{prefix}{name}' {t.Shape} holds {what} at element {bad}; a checkpoint's tensors must be finite"));
        }
    }

    private static int FirstNonFinite(float[] v)
    {
        for (int i = 0; i < v.Length; i++)
            if (!float.IsFinite(v[i])) return i;
        return -1;
    }

    /// <summary>Tensor <paramref name="name"/> must be stored with shape <paramref name="expected"/> (long: computed from config values without wrapping).</summary>
    public static void Shape(IReadOnlyDictionary<string, HostTensor> weights, string path, string name, long[] expected, string because)
    {
        string want = $"[{string.Join(", ", expected)}]";
        if (!weights.TryGetValue(name, out var t)) throw new CheckpointException($"{path}: tensor '{name}' is missing ({because} need it with shape {want})");
        bool same = t.Shape.Rank == expected.Length;
        for (int i = 0; same && i < expected.Length; i++) same = t.Shape[i] == expected[i];
        if (!same) throw new CheckpointException($"{path}: tensor '{name}' is {t.Shape} in the file, but {because} make it {want}");
    }

    /// <summary>One label count everywhere: the classifier's stored rows must equal the labels.</summary>
    public static void LabelCount(IReadOnlyDictionary<string, HostTensor> weights, int labels, string path)
    {
        if (weights.TryGetValue("fc.weight", out var fc) && (fc.Shape.Rank != 2 || fc.Shape[0] != labels))
            throw new CheckpointException(string.Create(CultureInfo.InvariantCulture,
                $"{path}: metadata 'labels' has {labels} labels, but the classifier tensor 'fc.weight' is {fc.Shape} ({(fc.Shape.Rank > 0 ? fc.Shape[0] : 0)} classes)"));
    }
}
