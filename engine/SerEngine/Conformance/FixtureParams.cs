using System.Text.Json;

namespace SerEngine.Conformance;

/// <summary>
/// Typed access to a fixture's <c>params</c> object, with defaults for absent keys and one-line
/// errors naming the key and the fixture for values of the wrong type.
/// </summary>
public sealed class FixtureParams(Fixture fixture)
{
    private readonly JsonElement _root = fixture.Params;

    /// <summary>True when <paramref name="key"/> is present and not null.</summary>
    public bool Has(string key) => _root.TryGetProperty(key, out var v) && v.ValueKind != JsonValueKind.Null;

    /// <summary>An integer setting.</summary>
    public int Int(string key, int fallback) =>
        Get(key) is { } v ? (v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out var i) ? i : throw Bad(key, v, "an integer")) : fallback;

    /// <summary>A floating-point setting.</summary>
    public float Float(string key, float fallback) =>
        Get(key) is { } v ? (v.ValueKind == JsonValueKind.Number ? (float)v.GetDouble() : throw Bad(key, v, "a number")) : fallback;

    /// <summary>A boolean setting.</summary>
    public bool Bool(string key, bool fallback) =>
        Get(key) is { } v ? v.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw Bad(key, v, "true or false"),
        } : fallback;

    /// <summary>A string setting.</summary>
    public string String(string key, string fallback) =>
        Get(key) is { } v ? (v.ValueKind == JsonValueKind.String ? v.GetString()! : throw Bad(key, v, "a string")) : fallback;

    /// <summary>A list of integers (<c>[2, 2]</c>); a single integer counts as a one-element list.</summary>
    public int[]? Ints(string key)
    {
        if (Get(key) is not { } v) return null;
        if (v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out var one)) return [one];
        if (v.ValueKind != JsonValueKind.Array) throw Bad(key, v, "a list of integers");
        var a = new int[v.GetArrayLength()];
        int i = 0;
        foreach (var e in v.EnumerateArray())
            a[i++] = e.ValueKind == JsonValueKind.Number && e.TryGetInt32(out var x) ? x : throw Bad(key, v, "a list of integers");
        return a;
    }

    /// <summary>A list of numbers (<c>[0.9, 0.999]</c>).</summary>
    public float[]? Floats(string key)
    {
        if (Get(key) is not { } v) return null;
        if (v.ValueKind != JsonValueKind.Array) throw Bad(key, v, "a list of numbers");
        var a = new float[v.GetArrayLength()];
        int i = 0;
        foreach (var e in v.EnumerateArray())
            a[i++] = e.ValueKind == JsonValueKind.Number ? (float)e.GetDouble() : throw Bad(key, v, "a list of numbers");
        return a;
    }

    /// <summary>A (height, width) pair: <c>[h, w]</c>, or one integer for both.</summary>
    public (int H, int W) Pair(string key, (int H, int W) fallback)
    {
        var a = Ints(key);
        if (a is null) return fallback;
        return a.Length switch
        {
            1 => (a[0], a[0]),
            2 => (a[0], a[1]),
            _ => throw new FormatException($"{fixture.Name}: params.{key} must be [h, w], got [{string.Join(", ", a)}]"),
        };
    }

    private JsonElement? Get(string key) =>
        _root.ValueKind == JsonValueKind.Object && _root.TryGetProperty(key, out var v) && v.ValueKind != JsonValueKind.Null ? v : null;

    private FormatException Bad(string key, JsonElement v, string what) =>
        new($"{fixture.Name}: params.{key} must be {what}, got {v.GetRawText()}");
}
