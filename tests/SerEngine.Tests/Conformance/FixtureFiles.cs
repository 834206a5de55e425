using SerEngine.IO;

namespace SerEngine.Tests.Conformance;

/// <summary>Writes small fixture files in the shared/fixtures layout into a temporary directory.</summary>
public sealed class FixtureFiles : IDisposable
{
    /// <summary>A fresh empty directory.</summary>
    public string Directory { get; } = Path.Combine(Path.GetTempPath(), "serengine-fx-" + Guid.NewGuid().ToString("N"));

    public FixtureFiles() => System.IO.Directory.CreateDirectory(Directory);

    /// <summary>Writes NAME.safetensors with the given metadata and tensors; returns its path.</summary>
    public string Write(string name, string kind, string op, string paramsJson, params (string Name, HostTensor Tensor)[] tensors) =>
        Write(name, kind, op, paramsJson, 1e-4, 1e-6, tensors);

    /// <summary>Writes NAME.safetensors with explicit tolerances.</summary>
    public string Write(string name, string kind, string op, string paramsJson, double rtol, double atol, params (string Name, HostTensor Tensor)[] tensors)
    {
        var path = Path.Combine(Directory, name + ".safetensors");
        var meta = new Dictionary<string, string>
        {
            ["kind"] = kind, ["op"] = op, ["params"] = paramsJson,
            ["rtol"] = rtol.ToString("R", System.Globalization.CultureInfo.InvariantCulture),
            ["atol"] = atol.ToString("R", System.Globalization.CultureInfo.InvariantCulture),
        };
        SafeTensors.Write(path, tensors.Select(t => new KeyValuePair<string, HostTensor>(t.Name, t.Tensor)), meta);
        return path;
    }

    /// <summary>A Float32 host tensor.</summary>
    public static HostTensor F(int[] shape, params float[] values) => new(new Shape(shape), values);

    /// <summary>
    /// A linear-layer case y = x·wᵀ + b (forward only) whose expected output is scaled by
    /// <paramref name="outputError"/> (1 = correct).
    /// </summary>
    public string WriteLinear(string name, float outputError = 1f)
    {
        float[] x = [1, 2, 3, -1, 0.5f, 2];     // [2, 3]
        float[] w = [0.5f, -1, 2, 1, 1, -0.25f]; // [2, 3]
        float[] b = [0.1f, -0.2f];               // [2]
        var y = new float[4];                    // [2, 2]
        for (int i = 0; i < 2; i++)
            for (int o = 0; o < 2; o++)
            {
                double acc = b[o];
                for (int k = 0; k < 3; k++) acc += (double)x[i * 3 + k] * w[o * 3 + k];
                y[i * 2 + o] = (float)acc * outputError;
            }
        return Write(name, "op", "linear", "{}",
            ("in.x", F([2, 3], x)), ("param.weight", F([2, 3], w)), ("param.bias", F([2], b)), ("out.y", F([2, 2], y)));
    }

    public void Dispose() => System.IO.Directory.Delete(Directory, recursive: true);
}
