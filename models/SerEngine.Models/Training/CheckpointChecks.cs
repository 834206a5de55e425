using System.Globalization;
using System.Text;
using System.Text.Json;
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
                if (label.Length == 0) throw new CheckpointException($"{at} is empty");
                if (label.Length > MaxLabelLength)
                    throw new CheckpointException(string.Create(CultureInfo.InvariantCulture, $"{at} has {label.Length} characters; at most {MaxLabelLength} are allowed"));
                if (Unprintable(label) is string why) throw new CheckpointException($"{at} contains {why}; labels must be printable text");
                if (seen.TryGetValue(label, out int first))
                    throw new CheckpointException(string.Create(CultureInfo.InvariantCulture, $"{at} ('{label}') repeats label {first}"));
                seen[label] = i;
                labels.Add(label);
            }
            return labels;
        }
    }

    /// <summary>The first character that must not reach a terminal, described (<c>control character U+001B</c>), or null.</summary>
    public static string? Unprintable(string text)
    {
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if (char.IsSurrogate(c))
            {
                if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1])) { i++; continue; }
                return $"an unpaired surrogate U+{(int)c:X4}";
            }
            if (char.IsControl(c)) return $"control character U+{(int)c:X4}";
            if (IsBidiControl(c)) return $"bidirectional control character U+{(int)c:X4}";
            var category = char.GetUnicodeCategory(c);
            if (category is UnicodeCategory.LineSeparator or UnicodeCategory.ParagraphSeparator) return $"line separator U+{(int)c:X4}";
        }
        return null;
    }

    // the Cf characters that reorder displayed text (Trojan Source): ALM, LRM, RLM, LRE..RLO, LRI..PDI
    private static bool IsBidiControl(char c) => c is '\u061C' or '\u200E' or '\u200F' or (>= '\u202A' and <= '\u202E') or (>= '\u2066' and <= '\u2069');

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
        if (!same) throw new CheckpointException($"{path}: {because} need tensor '{name}' of shape {want}, the file has {t.Shape}");
    }

    /// <summary>One label count everywhere: the classifier's stored rows must equal the labels.</summary>
    public static void LabelCount(IReadOnlyDictionary<string, HostTensor> weights, int labels, string path)
    {
        if (weights.TryGetValue("fc.weight", out var fc) && (fc.Shape.Rank != 2 || fc.Shape[0] != labels))
            throw new CheckpointException(string.Create(CultureInfo.InvariantCulture,
                $"{path}: metadata 'labels' has {labels} labels, but the classifier tensor 'fc.weight' is {fc.Shape} ({(fc.Shape.Rank > 0 ? fc.Shape[0] : 0)} classes)"));
    }

    /// <summary>Untrusted text in double quotes, safe for a terminal: control, bidi and line-separator characters as <c>\uXXXX</c>, quotes and backslashes escaped, cut to <paramref name="max"/> characters.</summary>
    public static string Quote(string text, int max = 40)
    {
        var cut = text.Length > max ? text[..max] + "…" : text;
        var sb = new StringBuilder("\"");
        foreach (var r in cut.EnumerateRunes())   // unpaired surrogates arrive as U+FFFD
        {
            bool unsafeRune = Rune.IsControl(r) || (r.IsBmp && IsBidiControl((char)r.Value))
                || Rune.GetUnicodeCategory(r) is UnicodeCategory.LineSeparator or UnicodeCategory.ParagraphSeparator;
            if (unsafeRune) sb.Append(CultureInfo.InvariantCulture, $"\\u{r.Value:X4}");
            else if (r.Value is '"' or '\\') sb.Append('\\').Append((char)r.Value);
            else sb.Append(r.ToString());
        }
        return sb.Append('"').ToString();
    }

    /// <summary><paramref name="text"/> itself when it has nothing a terminal would act on, else <see cref="Quote"/>d.</summary>
    public static string Printable(string text, int max = 300) => Unprintable(text) is null && text.Length <= max ? text : Quote(text, max);
}
