using SerEngine.Backends;
using SerEngine.IO;

namespace SerEngine.Nn;

/// <summary>
/// Base of every network part: named parameters (trained), buffers (state such as BatchNorm's
/// running statistics), child modules, and train/eval mode. Names join with dots as in PyTorch
/// (<c>features.0.weight</c>), so state dicts match PyTorch's and the fixtures'.
/// </summary>
public abstract class Module
{
    private readonly List<(string Name, Tensor Tensor)> _parameters = [];
    private readonly List<(string Name, Tensor Tensor)> _buffers = [];
    private readonly List<(string Name, Module Module)> _children = [];

    /// <summary>True in training mode (dropout active, BatchNorm uses batch statistics).</summary>
    public bool Training { get; private set; } = true;

    /// <summary>Registers a trainable parameter: it requires gradients and outlives every scope.</summary>
    protected Tensor RegisterParameter(string name, Tensor value)
    {
        value.KeepAlive();
        value.RequiresGrad = true;
        value.Name = name;
        _parameters.Add((name, value));
        return value;
    }

    /// <summary>Registers a buffer (saved in the state dict, not trained).</summary>
    protected Tensor RegisterBuffer(string name, Tensor value)
    {
        value.KeepAlive();
        value.Name = name;
        _buffers.Add((name, value));
        return value;
    }

    /// <summary>Registers a child module under <paramref name="name"/>.</summary>
    protected T RegisterModule<T>(string name, T module) where T : Module
    {
        _children.Add((name, module));
        return module;
    }

    /// <summary>Direct children with their names.</summary>
    public IEnumerable<(string Name, Module Module)> NamedChildren() => _children;

    /// <summary>All parameters of this module and its descendants with dotted names.</summary>
    public IEnumerable<(string Name, Tensor Tensor)> NamedParameters(string prefix = "")
    {
        foreach (var (n, t) in _parameters) yield return (prefix + n, t);
        foreach (var (n, m) in _children)
            foreach (var p in m.NamedParameters(prefix + n + ".")) yield return p;
    }

    /// <summary>All buffers with dotted names.</summary>
    public IEnumerable<(string Name, Tensor Tensor)> NamedBuffers(string prefix = "")
    {
        foreach (var (n, t) in _buffers) yield return (prefix + n, t);
        foreach (var (n, m) in _children)
            foreach (var p in m.NamedBuffers(prefix + n + ".")) yield return p;
    }

    /// <summary>All parameters (for optimizers).</summary>
    public IEnumerable<Tensor> Parameters() => NamedParameters().Select(p => p.Tensor);

    /// <summary>Number of trainable scalars.</summary>
    public long ParameterCount => NamedParameters().Sum(p => (long)p.Tensor.Size);

    /// <summary>Parameters and buffers by name (the tensors themselves, not copies).</summary>
    public IReadOnlyDictionary<string, Tensor> StateDict()
    {
        var d = new Dictionary<string, Tensor>();
        foreach (var (n, t) in NamedParameters()) d[n] = t;
        foreach (var (n, t) in NamedBuffers()) d[n] = t;
        return d;
    }

    /// <summary>
    /// Copies values into the parameters and buffers by name. Shapes must match exactly; with
    /// <paramref name="strict"/>, missing and unexpected names are errors (PyTorch's
    /// <c>num_batches_tracked</c> counters are ignored). Returns the names that were loaded.
    /// </summary>
    public IReadOnlyList<string> LoadStateDict(IReadOnlyDictionary<string, HostTensor> state, bool strict = true)
    {
        var own = StateDict();
        var loaded = new List<string>();
        if (strict)
        {
            var missing = own.Keys.Where(k => !state.ContainsKey(k)).ToList();
            var unexpected = state.Keys.Where(k => !own.ContainsKey(k) && !k.EndsWith("num_batches_tracked", StringComparison.Ordinal)).ToList();
            if (missing.Count > 0 || unexpected.Count > 0)
                throw new ArgumentException(
                    $"state dict does not match {GetType().Name}: " +
                    (missing.Count > 0 ? $"missing {string.Join(", ", missing.Take(8))}{(missing.Count > 8 ? $" (+{missing.Count - 8} more)" : "")}" : "") +
                    (missing.Count > 0 && unexpected.Count > 0 ? "; " : "") +
                    (unexpected.Count > 0 ? $"unexpected {string.Join(", ", unexpected.Take(8))}{(unexpected.Count > 8 ? $" (+{unexpected.Count - 8} more)" : "")}" : ""));
        }
        foreach (var (name, t) in own)
        {
            if (!state.TryGetValue(name, out var src)) continue;
            if (src.Shape != t.Shape)
                throw new ArgumentException($"state dict entry '{name}' has shape {src.Shape}, the model expects {t.Shape}");
            if (src.Floats is null)
                throw new ArgumentException($"state dict entry '{name}' is {src.DType}, the model expects Float32");
            t.CopyFrom(src.Floats);
            loaded.Add(name);
        }
        return loaded;
    }

    /// <summary>Sets training (true) or evaluation (false) mode here and below.</summary>
    public Module Train(bool training = true)
    {
        Training = training;
        foreach (var (_, m) in _children) m.Train(training);
        return this;
    }

    /// <summary>Evaluation mode (same as Train(false)).</summary>
    public Module Eval() => Train(false);

    /// <summary>Drops every parameter's gradient.</summary>
    public void ZeroGrad()
    {
        foreach (var p in Parameters()) p.ZeroGrad();
    }

    /// <summary>Moves every parameter and buffer to <paramref name="backend"/> in place.</summary>
    public Module To(Backend backend)
    {
        foreach (var (_, t) in NamedParameters()) t.MoveTo(backend);
        foreach (var (_, t) in NamedBuffers()) t.MoveTo(backend);
        return this;
    }
}

/// <summary>A module with one tensor in and one tensor out.</summary>
public abstract class Layer : Module
{
    /// <summary>Computes the output.</summary>
    public abstract Tensor Forward(Tensor x);
}
