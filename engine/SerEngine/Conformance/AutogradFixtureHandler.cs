using SerEngine.Autograd;
using SerEngine.Backends;
using SerEngine.IO;

namespace SerEngine.Conformance;

/// <summary>
/// The common shape of a fixture handler for a differentiable op or module: build the tensors
/// (<see cref="FixtureContext"/>), run <see cref="Forward"/> for the named outputs, back-propagate
/// from ALL outputs at once, each seeded with its <c>gout.NAME</c>, and collect <c>out.NAME</c>,
/// <c>grad.NAME</c> (from the leaves' <see cref="Tensor.Grad"/>) and whatever the handler reported.
/// </summary>
public abstract class AutogradFixtureHandler : IFixtureHandler
{
    /// <inheritdoc/>
    public abstract string Op { get; }

    /// <summary>Computes the outputs, keyed by NAME (the file's <c>out.NAME</c>).</summary>
    protected abstract IReadOnlyDictionary<string, Tensor> Forward(FixtureContext ctx);

    /// <inheritdoc/>
    public IReadOnlyDictionary<string, HostTensor> Run(Fixture fixture, Backend backend)
    {
        var ctx = new FixtureContext(fixture, backend);
        var outputs = Forward(ctx);
        var result = new Dictionary<string, HostTensor>(ctx.Reported, StringComparer.Ordinal);
        foreach (var (name, t) in outputs) result["out." + name] = HostTensor.FromTensor(t);

        var roots = new List<Tensor>();
        var seeds = new List<Tensor>();
        foreach (var (name, t) in outputs)
        {
            if (!t.RequiresGrad || !fixture.Tensors.TryGetValue("gout." + name, out var gout)) continue;
            roots.Add(t);
            seeds.Add(gout.ToTensor(backend));
        }
        if (roots.Count > 0) Graph.Backward(roots, seeds);

        foreach (var full in fixture.Tensors.Keys)
        {
            if (!full.StartsWith("grad.", StringComparison.Ordinal)) continue;
            if (ctx.GradientSource(full[5..])?.Grad is { } g) result[full] = HostTensor.FromTensor(g);
        }
        foreach (var t in ctx.Tensors.Values) t.ZeroGrad();
        return result;
    }
}
