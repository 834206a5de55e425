namespace SerEngine.Conformance;

/// <summary>Shell-style name patterns: <c>*</c> matches any run of characters, <c>?</c> one character.</summary>
public static class Glob
{
    /// <summary>True when <paramref name="pattern"/> matches all of <paramref name="text"/> (ordinal).</summary>
    public static bool IsMatch(string pattern, string text)
    {
        // Greedy scan with one backtrack point: the position after the last '*'.
        int p = 0, t = 0, starP = -1, starT = 0;
        while (t < text.Length)
        {
            if (p < pattern.Length && (pattern[p] == '?' || pattern[p] == text[t])) { p++; t++; }
            else if (p < pattern.Length && pattern[p] == '*') { starP = p++; starT = t; }
            else if (starP >= 0) { p = starP + 1; t = ++starT; }
            else return false;
        }
        while (p < pattern.Length && pattern[p] == '*') p++;
        return p == pattern.Length;
    }
}
