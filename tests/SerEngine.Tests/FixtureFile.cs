using System.Text.Json;
using SerEngine.IO;

namespace SerEngine.Tests;

/// <summary>
/// One shared/fixtures file read with the engine's safetensors reader, for tests that drive an op
/// by hand (beyond what the conformance runner does) and check the fixture rule.
/// </summary>
internal sealed class FixtureFile
{
    private readonly SafeTensorsFile _file;

    private FixtureFile(string path)
    {
        Path = path;
        _file = SafeTensors.Read(path);
    }

    /// <summary>The file's path.</summary>
    public string Path { get; }

    /// <summary>Relative tolerance from the metadata.</summary>
    public double Rtol => double.Parse(_file.Metadata["rtol"], System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Absolute tolerance (per √n) from the metadata.</summary>
    public double Atol => double.Parse(_file.Metadata["atol"], System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>The <c>params</c> JSON object.</summary>
    public JsonElement Params => JsonDocument.Parse(_file.Metadata["params"]).RootElement;

    /// <summary>Reads a fixture by file name (without extension).</summary>
    public static FixtureFile Load(string name) => new(System.IO.Path.Combine(SharedFixtures.Directory, name + ".safetensors"));

    /// <summary>A tensor as an engine tensor on <paramref name="backend"/>.</summary>
    public Tensor Tensor(string name, Backends.Backend backend) => Entry(name).ToTensor(backend);

    /// <summary>An integer tensor as an Int32 engine tensor on <paramref name="backend"/>.</summary>
    public Tensor IntTensor(string name, Backends.Backend backend)
    {
        var e = Entry(name);
        Assert.True(e.Ints is not null, $"{name} in {Path} is {e.DType}, expected an integer type");
        return e.ToTensor(backend);
    }

    /// <summary>Asserts ‖actual − expected‖₂ ≤ rtol·‖expected‖₂ + atol·√n for tensor <paramref name="name"/>.</summary>
    public void AssertClose(string name, float[] actual)
    {
        var expected = Entry(name).Floats!;
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

    /// <summary>A Float32 tensor's values.</summary>
    public float[] Floats(string name) => Entry(name).Floats ?? throw new InvalidOperationException($"{name} in {Path} is not Float32");

    private HostTensor Entry(string name) =>
        _file.Tensors.TryGetValue(name, out var t) ? t : throw new KeyNotFoundException($"{Path} has no tensor '{name}' (has {string.Join(", ", _file.Tensors.Keys)})");
}
