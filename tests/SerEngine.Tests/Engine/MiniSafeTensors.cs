using System.Buffers.Binary;
using System.Text.Json;

namespace SerEngine.Tests.Engine;

/// <summary>
/// A deliberately tiny safetensors reader for the softmax/loss/optimizer tests, independent of the
/// engine's own reader: 8-byte little-endian header length, JSON header, raw little-endian data.
/// Reads F32 (as float) and I64/I32 (as int) tensors and the <c>__metadata__</c> strings.
/// </summary>
internal sealed class MiniSafeTensors
{
    private readonly Dictionary<string, (string DType, int[] Shape, byte[] Data)> _tensors = [];

    private MiniSafeTensors(string path)
    {
        Path = path;
        var bytes = File.ReadAllBytes(path);
        long headerLength = BinaryPrimitives.ReadInt64LittleEndian(bytes);
        Assert.InRange(headerLength, 2, bytes.Length - 8);
        using var doc = JsonDocument.Parse(bytes.AsMemory(8, (int)headerLength));
        int dataStart = 8 + (int)headerLength;
        foreach (var entry in doc.RootElement.EnumerateObject())
        {
            if (entry.Name == "__metadata__")
            {
                foreach (var m in entry.Value.EnumerateObject()) Metadata[m.Name] = m.Value.GetString() ?? "";
                continue;
            }
            var dtype = entry.Value.GetProperty("dtype").GetString()!;
            var shape = entry.Value.GetProperty("shape").EnumerateArray().Select(e => e.GetInt32()).ToArray();
            var offsets = entry.Value.GetProperty("data_offsets").EnumerateArray().Select(e => e.GetInt32()).ToArray();
            _tensors[entry.Name] = (dtype, shape, bytes[(dataStart + offsets[0])..(dataStart + offsets[1])]);
        }
    }

    /// <summary>The file's path.</summary>
    public string Path { get; }

    /// <summary>The <c>__metadata__</c> strings.</summary>
    public Dictionary<string, string> Metadata { get; } = [];

    /// <summary>Relative tolerance from the metadata.</summary>
    public double Rtol => double.Parse(Metadata["rtol"], System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Absolute tolerance (per √n) from the metadata.</summary>
    public double Atol => double.Parse(Metadata["atol"], System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>The <c>params</c> JSON object.</summary>
    public JsonElement Params => JsonDocument.Parse(Metadata["params"]).RootElement;

    /// <summary>Reads a fixture from shared/fixtures by file name (without extension).</summary>
    public static MiniSafeTensors Load(string name) => new(System.IO.Path.Combine(FixturesDirectory(), name + ".safetensors"));

    /// <summary>Shape of tensor <paramref name="name"/>.</summary>
    public int[] ShapeOf(string name) => Entry(name).Shape;

    /// <summary>An F32 tensor's values.</summary>
    public float[] Floats(string name)
    {
        var (dtype, _, data) = Entry(name);
        Assert.True(dtype == "F32", $"{name} in {Path} is {dtype}, expected F32");
        var v = new float[data.Length / 4];
        for (int i = 0; i < v.Length; i++) v[i] = BinaryPrimitives.ReadSingleLittleEndian(data.AsSpan(4 * i));
        return v;
    }

    /// <summary>An integer (I64 or I32) tensor's values as ints.</summary>
    public int[] Ints(string name)
    {
        var (dtype, _, data) = Entry(name);
        return dtype switch
        {
            "I64" => Enumerable.Range(0, data.Length / 8).Select(i => checked((int)BinaryPrimitives.ReadInt64LittleEndian(data.AsSpan(8 * i)))).ToArray(),
            "I32" => Enumerable.Range(0, data.Length / 4).Select(i => BinaryPrimitives.ReadInt32LittleEndian(data.AsSpan(4 * i))).ToArray(),
            _ => throw new InvalidOperationException($"{name} in {Path} is {dtype}, expected an integer type"),
        };
    }

    /// <summary>An F32 tensor as an engine tensor on <paramref name="backend"/>.</summary>
    public Tensor Tensor(string name, Backends.Backend backend) => SerEngine.Tensor.FromArray(Floats(name), new Shape(ShapeOf(name)), backend);

    /// <summary>An integer tensor as an Int32 engine tensor on <paramref name="backend"/>.</summary>
    public Tensor IntTensor(string name, Backends.Backend backend) => SerEngine.Tensor.FromArray(Ints(name), new Shape(ShapeOf(name)), backend);

    /// <summary>
    /// Asserts the fixture rule ‖actual − expected‖₂ ≤ rtol·‖expected‖₂ + atol·√n for tensor
    /// <paramref name="name"/>.
    /// </summary>
    public void AssertClose(string name, float[] actual)
    {
        var expected = Floats(name);
        Assert.True(expected.Length == actual.Length, $"{name}: {actual.Length} values, expected {expected.Length}");
        double diff = 0, norm = 0;
        for (int i = 0; i < expected.Length; i++)
        {
            double e = (double)actual[i] - expected[i];
            diff += e * e;
            norm += (double)expected[i] * expected[i];
        }
        double lhs = Math.Sqrt(diff), rhs = Rtol * Math.Sqrt(norm) + Atol * Math.Sqrt(expected.Length);
        Assert.True(lhs <= rhs, $"{System.IO.Path.GetFileName(Path)} {name}: ‖actual − expected‖ = {lhs:G4} > {rhs:G4} (score {lhs / rhs:F2})");
    }

    private (string DType, int[] Shape, byte[] Data) Entry(string name) =>
        _tensors.TryGetValue(name, out var t) ? t : throw new KeyNotFoundException($"{Path} has no tensor '{name}' (has {string.Join(", ", _tensors.Keys)})");

    /// <summary>
    /// $SERENGINE_FIXTURES, else the first <c>shared/fixtures</c> found walking up from the test
    /// binaries, else /work/shared/fixtures.
    /// </summary>
    private static string FixturesDirectory()
    {
        var env = Environment.GetEnvironmentVariable("SERENGINE_FIXTURES");
        if (!string.IsNullOrEmpty(env)) return env;
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = System.IO.Path.Combine(dir.FullName, "shared", "fixtures");
            if (Directory.Exists(candidate)) return candidate;
        }
        const string fallback = "/work/shared/fixtures";
        Assert.True(Directory.Exists(fallback), "fixtures not found: set SERENGINE_FIXTURES or put shared/fixtures above the test binaries");
        return fallback;
    }
}
