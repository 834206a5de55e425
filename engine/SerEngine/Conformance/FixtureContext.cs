using SerEngine.Backends;
using SerEngine.IO;

namespace SerEngine.Conformance;

/// <summary>
/// A fixture's tensors on a backend, for handlers. Every <c>in.*</c> and <c>param.*</c> tensor of the
/// file is created up front; a Float32 one requires gradients when the file expects its gradient
/// (<c>grad.NAME</c> exists). Handlers that build their own tensors (a module's parameters) can
/// <see cref="Bind"/> them so their gradients answer <c>grad.NAME</c>, and can <see cref="Report"/>
/// extra results such as <c>out.running_mean</c> or <c>out.state.*</c>.
/// </summary>
public sealed class FixtureContext
{
    private readonly Dictionary<string, Tensor> _tensors = new(StringComparer.Ordinal);
    private readonly Dictionary<string, HostTensor> _reported = new(StringComparer.Ordinal);

    /// <summary>Creates the fixture's input and parameter tensors on <paramref name="backend"/>.</summary>
    public FixtureContext(Fixture fixture, Backend backend)
    {
        Fixture = fixture;
        Backend = backend;
        Params = new FixtureParams(fixture);
        foreach (var (name, host) in fixture.Tensors)
        {
            var rest = LeafName(name);
            if (rest is null) continue;
            var t = host.ToTensor(backend);
            t.Name = name;
            if (t.DType == DType.Float32 && fixture.Tensors.ContainsKey("grad." + rest)) t.RequiresGrad = true;
            _tensors[name] = t;
        }
    }

    /// <summary>The fixture being run.</summary>
    public Fixture Fixture { get; }

    /// <summary>The backend the tensors live on.</summary>
    public Backend Backend { get; }

    /// <summary>The fixture's settings.</summary>
    public FixtureParams Params { get; }

    /// <summary>The input and parameter tensors by full name (<c>in.x</c>, <c>param.weight</c>).</summary>
    public IReadOnlyDictionary<string, Tensor> Tensors => _tensors;

    /// <summary>Extra results reported by the handler, by full name, copied to the host when reported.</summary>
    public IReadOnlyDictionary<string, HostTensor> Reported => _reported;

    /// <summary>The tensor <c>in.NAME</c>; throws naming the fixture when absent.</summary>
    public Tensor Input(string name) => Require("in." + name);

    /// <summary>The tensor <c>in.NAME</c>, or null when the file has none.</summary>
    public Tensor? TryInput(string name) => _tensors.GetValueOrDefault("in." + name);

    /// <summary>The tensor <c>param.NAME</c>; throws naming the fixture when absent.</summary>
    public Tensor Param(string name) => Require("param." + name);

    /// <summary>The tensor <c>param.NAME</c>, or null when the file has none.</summary>
    public Tensor? TryParam(string name) => _tensors.GetValueOrDefault("param." + name);

    /// <summary>
    /// Makes <paramref name="tensor"/> the one for <paramref name="fullName"/> (<c>param.fc.weight</c>):
    /// its <see cref="Tensor.Grad"/> then answers <c>grad.fc.weight</c>.
    /// </summary>
    public void Bind(string fullName, Tensor tensor)
    {
        if (LeafName(fullName) is null) throw new ArgumentException($"{Fixture.Name}: can only bind in.* or param.* names, not '{fullName}'", nameof(fullName));
        _tensors[fullName] = tensor;
    }

    /// <summary>Copies <paramref name="tensor"/>'s current values as the result <paramref name="fullName"/> (<c>out.running_mean</c>).</summary>
    public void Report(string fullName, Tensor tensor) => _reported[fullName] = HostTensor.FromTensor(tensor);

    /// <summary>The leaf whose gradient answers <c>grad.NAME</c>: <c>in.NAME</c>, else <c>param.NAME</c>.</summary>
    public Tensor? GradientSource(string name) =>
        _tensors.GetValueOrDefault("in." + name) ?? _tensors.GetValueOrDefault("param." + name);

    private Tensor Require(string fullName) =>
        _tensors.TryGetValue(fullName, out var t) ? t : throw new KeyNotFoundException($"{Fixture.Name}: the file has no tensor '{fullName}'");

    /// <summary>NAME for <c>in.NAME</c> / <c>param.NAME</c>, else null.</summary>
    private static string? LeafName(string fullName) =>
        fullName.StartsWith("in.", StringComparison.Ordinal) ? fullName[3..]
        : fullName.StartsWith("param.", StringComparison.Ordinal) ? fullName[6..]
        : null;
}
