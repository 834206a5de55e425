namespace SerEngine.Nn;

/// <summary>max(x, 0) as a layer (for <see cref="Sequential"/>).</summary>
public sealed class Relu : Layer
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor x) => Ops.Relu(x);
}

/// <summary>Max pooling as a layer.</summary>
public sealed class MaxPool2d((int H, int W) kernel, (int H, int W)? stride = null, (int H, int W)? padding = null) : Layer
{
    /// <summary>Window size.</summary>
    public (int H, int W) Kernel { get; } = kernel;

    /// <summary>Stride (defaults to the window).</summary>
    public (int H, int W) Stride { get; } = stride ?? kernel;

    /// <summary>Padding.</summary>
    public (int H, int W) Padding { get; } = padding ?? (0, 0);

    /// <inheritdoc/>
    public override Tensor Forward(Tensor x) => Ops.MaxPool2d(x, Kernel, Stride, Padding);
}

/// <summary>Inverted dropout; identity in eval mode. Each call draws a fresh seed from the generator.</summary>
public sealed class Dropout(float p, Generator rng) : Layer
{
    /// <summary>Drop probability.</summary>
    public float P { get; } = p;

    /// <inheritdoc/>
    public override Tensor Forward(Tensor x) => Ops.Dropout(x, P, Training, rng);
}

/// <summary>Layers applied in order; children are named "0", "1", ... as in torch.nn.Sequential.</summary>
public sealed class Sequential : Layer
{
    private readonly List<Layer> _layers = [];

    /// <summary>Creates the chain.</summary>
    public Sequential(params Layer[] layers)
    {
        foreach (var l in layers) Add(l);
    }

    /// <summary>The layers in order.</summary>
    public IReadOnlyList<Layer> Layers => _layers;

    /// <summary>Appends a layer named by its index.</summary>
    public void Add(Layer layer)
    {
        RegisterModule(_layers.Count.ToString(System.Globalization.CultureInfo.InvariantCulture), layer);
        _layers.Add(layer);
    }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor x)
    {
        foreach (var l in _layers) x = l.Forward(x);
        return x;
    }
}

/// <summary>Layers under names of their own (PyTorch's ModuleDict): a child <c>k</c> is saved as <c>prefix.k.*</c>.</summary>
public sealed class LayerMap<T> : Module where T : Layer
{
    private readonly Dictionary<string, T> _layers = new(StringComparer.Ordinal);

    /// <summary>Adds <paramref name="layer"/> under <paramref name="name"/>.</summary>
    public void Add(string name, T layer)
    {
        if (!_layers.TryAdd(name, layer)) throw new ArgumentException($"a layer named '{name}' is already in the map");
        RegisterModule(name, layer);
    }

    /// <summary>The layer named <paramref name="name"/>, or null.</summary>
    public T? Find(string name) => _layers.GetValueOrDefault(name);

    /// <summary>The names in the order they were added.</summary>
    public IEnumerable<string> Names => NamedChildren().Select(c => c.Name);
}
