using System.Text.Json;
using SerEngine.IO;

namespace SerEngine.Conformance;

/// <summary>
/// One conformance case (shared/fixtures/README.md): a safetensors file with <c>in.*</c>,
/// <c>param.*</c>, <c>gout.*</c> tensors to feed and <c>out.*</c>, <c>grad.*</c> tensors to match.
/// </summary>
public sealed class Fixture
{
    /// <summary>File name without extension.</summary>
    public required string Name { get; init; }

    /// <summary>Full path of the file.</summary>
    public required string Path { get; init; }

    /// <summary><c>op</c>, <c>module</c> or <c>audio</c>.</summary>
    public required string Kind { get; init; }

    /// <summary>Which operation or model the case exercises (<c>conv2d</c>, <c>attention_fcn</c>, ...).</summary>
    public required string Op { get; init; }

    /// <summary>The <c>params</c> JSON object (an empty object when absent).</summary>
    public required JsonElement Params { get; init; }

    /// <summary>Relative tolerance.</summary>
    public required double Rtol { get; init; }

    /// <summary>Absolute tolerance (per √n).</summary>
    public required double Atol { get; init; }

    /// <summary>Every tensor in the file by its full name.</summary>
    public required IReadOnlyDictionary<string, HostTensor> Tensors { get; init; }

    /// <summary>Tensors whose name starts with <paramref name="prefix"/> (e.g. "in."), keyed by the rest of the name.</summary>
    public IReadOnlyDictionary<string, HostTensor> WithPrefix(string prefix) =>
        Tensors.Where(kv => kv.Key.StartsWith(prefix, StringComparison.Ordinal))
               .ToDictionary(kv => kv.Key[prefix.Length..], kv => kv.Value);
}

/// <summary>
/// Runs the fixtures of one <c>op</c> value on a backend and returns the actual values of the
/// <c>out.*</c>, <c>out.state.*</c> and <c>grad.*</c> tensors, keyed by those full names.
/// </summary>
public interface IFixtureHandler
{
    /// <summary>The <c>op</c> metadata value this handler runs.</summary>
    string Op { get; }

    /// <summary>Computes the outputs and gradients the fixture expects.</summary>
    IReadOnlyDictionary<string, HostTensor> Run(Fixture fixture, Backends.Backend backend);
}
