using System.Globalization;
using System.Text.Json;
using SerEngine.IO;

namespace SerEngine.Conformance;

/// <summary>Reads a fixture file (shared/fixtures/README.md) into a <see cref="Fixture"/>.</summary>
public static class FixtureLoader
{
    /// <summary>
    /// Reads <paramref name="path"/>: the tensors, and <c>kind</c>, <c>op</c>, <c>params</c>,
    /// <c>rtol</c>, <c>atol</c> from <c>__metadata__</c> (<c>params</c> may be absent: an empty object).
    /// </summary>
    /// <exception cref="SafeTensorsFormatException">The file is not valid safetensors.</exception>
    /// <exception cref="FormatException">The metadata lacks a key or holds an unreadable value.</exception>
    public static Fixture Load(string path)
    {
        var file = SafeTensors.Read(path);
        var meta = file.Metadata;
        return new Fixture
        {
            Name = System.IO.Path.GetFileNameWithoutExtension(path),
            Path = System.IO.Path.GetFullPath(path),
            Kind = Required(meta, "kind", path),
            Op = Required(meta, "op", path),
            Params = ParseParams(meta.TryGetValue("params", out var p) ? p : "{}", path),
            Rtol = ParseTolerance(meta, "rtol", path),
            Atol = ParseTolerance(meta, "atol", path),
            Tensors = file.Tensors,
        };
    }

    private static string Required(IReadOnlyDictionary<string, string> meta, string key, string path) =>
        meta.TryGetValue(key, out var v) && v.Length > 0 ? v : throw new FormatException($"{path}: metadata has no '{key}'");

    private static double ParseTolerance(IReadOnlyDictionary<string, string> meta, string key, string path)
    {
        var s = Required(meta, key, path);
        if (!double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) || !(v >= 0) || double.IsInfinity(v))
            throw new FormatException($"{path}: metadata '{key}' is '{s}', not a non-negative number");
        return v;
    }

    private static JsonElement ParseParams(string json, string path)
    {
        try
        {
            using var doc = JsonDocument.Parse(json);
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
                throw new FormatException($"{path}: metadata 'params' is a JSON {doc.RootElement.ValueKind.ToString().ToLowerInvariant()}, not an object");
            return doc.RootElement.Clone();
        }
        catch (JsonException ex)
        {
            throw new FormatException($"{path}: metadata 'params' is not valid JSON: {ex.Message}".ReplaceLineEndings(" "));
        }
    }
}
