using System.Globalization;
using System.Text;

namespace SerEngine.Models.Data;

/// <summary>
/// Text from files (labels, metadata, folder names) on its way to a terminal: what in it a terminal
/// would act on (control, bidi-override and line-separator characters), and a quoted form safe to print.
/// </summary>
internal static class PrintableText
{
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
