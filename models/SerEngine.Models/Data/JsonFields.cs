using System.Globalization;
using System.Text.Json;

namespace SerEngine.Models.Data;

/// <summary>
/// Typed, range-checked reads of one JSON object from a file we do not trust (a checkpoint's
/// metadata): every failure is a <see cref="FormatException"/> whose message names the source, the
/// field and what was expected against what was found, never a bare .NET parse message.
/// </summary>
internal sealed class JsonFields
{
    private readonly JsonElement _obj;
    private readonly string _where;

    /// <summary>Wraps <paramref name="obj"/>; <paramref name="where"/> starts every message (<c>FILE: training state</c>).</summary>
    public JsonFields(JsonElement obj, string where)
    {
        _where = where;
        if (obj.ValueKind != JsonValueKind.Object) throw new FormatException($"{where} must be a JSON object, found {Found(obj)}");
        _obj = obj;
    }

    /// <summary>Parses <paramref name="json"/> and runs <paramref name="read"/> on its root object; malformed JSON is reported under <paramref name="where"/>.</summary>
    public static T Parse<T>(string json, string where, Func<JsonFields, T> read)
    {
        JsonDocument doc;
        try { doc = JsonDocument.Parse(json); }
        catch (JsonException ex) { throw new FormatException($"{where} is not valid JSON ({ex.Message})"); }
        using (doc) return read(new JsonFields(doc.RootElement, where));
    }

    /// <summary>The message prefix.</summary>
    public string Where => _where;

    /// <summary>The raw value of field <paramref name="name"/>.</summary>
    public JsonElement Get(string name) =>
        _obj.TryGetProperty(name, out var v) ? v : throw new FormatException($"{_where}: field '{name}' is missing");

    /// <summary>True when field <paramref name="name"/> is present (optional fields added later).</summary>
    public bool Has(string name) => _obj.TryGetProperty(name, out _);

    /// <summary>True when field <paramref name="name"/> is JSON null.</summary>
    public bool IsNull(string name) => Get(name).ValueKind == JsonValueKind.Null;

    /// <summary>An integer in <paramref name="min"/>..<paramref name="max"/>.</summary>
    public int Int(string name, int min, int max) => Int(Get(name), name, min, max);

    /// <summary>A finite number in [<paramref name="min"/>, <paramref name="max"/>].</summary>
    public double Number(string name, double min, double max) => Number(Get(name), name, min, max);

    /// <summary>A finite number in [<paramref name="min"/>, <paramref name="max"/>], or null.</summary>
    public double? NumberOrNull(string name, double min, double max) => IsNull(name) ? null : Number(name, min, max);

    /// <summary>A finite number in [<paramref name="min"/>, <paramref name="max"/>]; null reads as NaN.</summary>
    public double NumberOrNaN(string name, double min, double max) => IsNull(name) ? double.NaN : Number(name, min, max);

    /// <summary>true or false.</summary>
    public bool Bool(string name)
    {
        var v = Get(name);
        return v.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw Bad(name, "true or false", v),
        };
    }

    /// <summary>A string.</summary>
    public string String(string name)
    {
        var v = Get(name);
        return v.ValueKind == JsonValueKind.String ? v.GetString()! : throw Bad(name, "a string", v);
    }

    /// <summary>One of the names of <typeparamref name="T"/> (exact spelling; numbers are refused).</summary>
    public T Enum<T>(string name) where T : struct, Enum
    {
        var v = Get(name);
        string[] names = System.Enum.GetNames<T>();
        string expected = $"one of {string.Join(", ", names)}";
        if (v.ValueKind != JsonValueKind.String || !names.Contains(v.GetString(), StringComparer.Ordinal)) throw Bad(name, expected, v);
        return System.Enum.Parse<T>(v.GetString()!);
    }

    /// <summary>An array of <paramref name="minCount"/>..<paramref name="maxCount"/> elements.</summary>
    public JsonElement[] Array(string name, int minCount, int maxCount)
    {
        var v = Get(name);
        if (v.ValueKind != JsonValueKind.Array) throw Bad(name, "an array", v);
        int n = v.GetArrayLength();
        if (n < minCount || n > maxCount)
            throw new FormatException(string.Create(CultureInfo.InvariantCulture, $"{_where}: field '{name}' must have {Range(minCount, maxCount)} elements, found {n}"));
        return [.. v.EnumerateArray()];
    }

    /// <summary>An array of integers, each in <paramref name="min"/>..<paramref name="max"/>.</summary>
    public int[] IntArray(string name, int count, int min, int max) =>
        [.. Array(name, count, count).Select((e, i) => Int(e, $"{name}[{i}]", min, max))];

    /// <summary>Element <paramref name="e"/> as the object of field <paramref name="name"/>.</summary>
    public JsonFields Object(JsonElement e, string name) => new(e, $"{_where}: {name}");

    /// <summary><paramref name="e"/> (named <paramref name="name"/>) as an integer in range.</summary>
    public int Int(JsonElement e, string name, int min, int max) =>
        e.ValueKind == JsonValueKind.Number && e.TryGetInt64(out long x) && x >= min && x <= max
            ? (int)x : throw Bad(name, min == max ? $"the integer {Range(min, max)}" : $"an integer in {Range(min, max)}", e);

    /// <summary><paramref name="e"/> (named <paramref name="name"/>) as a finite number in range.</summary>
    public double Number(JsonElement e, string name, double min, double max) =>
        e.ValueKind == JsonValueKind.Number && e.TryGetDouble(out double x) && double.IsFinite(x) && x >= min && x <= max
            ? x : throw Bad(name, string.Create(CultureInfo.InvariantCulture, $"a number in [{min}, {max}]"), e);

    /// <summary>A refusal of field <paramref name="name"/>: <paramref name="expected"/>, and what the file has.</summary>
    public FormatException Bad(string name, string expected, JsonElement found) =>
        new($"{_where}: field '{name}' must be {expected}, found {Found(found)}");

    /// <summary>A refusal of field <paramref name="name"/> with a free-form reason.</summary>
    public FormatException Bad(string name, string reason) => new($"{_where}: field '{name}' {reason}");

    private static string Range(int min, int max) => min == max
        ? min.ToString(CultureInfo.InvariantCulture)
        : string.Create(CultureInfo.InvariantCulture, $"{min}..{max}");

    /// <summary>The element's JSON text, cut to 40 characters (strings quoted with their unprintable characters escaped).</summary>
    private static string Found(JsonElement e)
    {
        string raw = e.ValueKind switch
        {
            JsonValueKind.Object => "an object",
            JsonValueKind.Array => "an array",
            JsonValueKind.String => PrintableText.Quote(e.GetString()!),
            _ => e.GetRawText(),
        };
        return raw.Length > 40 ? raw[..40] + "…" : raw;
    }
}
