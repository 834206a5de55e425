namespace SerEngine.Optim;

/// <summary>
/// Base of the optimizers: holds the parameters, steps them from their <see cref="Tensor.Grad"/>
/// (parameters without a gradient are skipped, as in PyTorch) and clears gradients.
/// </summary>
/// <remarks>
/// Per-parameter state (moment buffers, step counts) is created outside every
/// <see cref="TensorScope"/> so a per-step scope never releases it, and is updated in place by the
/// backend's primitives. <see cref="StateDict"/> / <see cref="LoadStateDict"/> export and import
/// that state for checkpoints under names <c>state.{paramIndex}.{buffer}</c>, where paramIndex is
/// the parameter's position in <see cref="Parameters"/> (PyTorch's numbering for one group).
/// </remarks>
public abstract class Optimizer
{
    /// <summary>Takes the parameters to update.</summary>
    protected Optimizer(IEnumerable<Tensor> parameters, float lr)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        Parameters = [.. parameters];
        if (!(lr >= 0f)) throw new ArgumentOutOfRangeException(nameof(lr), $"learning rate must be ≥ 0, got {lr}");
        for (int i = 0; i < Parameters.Count; i++)
        {
            if (Parameters[i].DType != DType.Float32)
                throw new ArgumentException($"parameter {i} {Parameters[i].Shape} is {Parameters[i].DType}; optimizers update Float32 tensors", nameof(parameters));
            for (int j = 0; j < i; j++)
                if (ReferenceEquals(Parameters[i], Parameters[j]))
                    throw new ArgumentException($"parameter {i} {Parameters[i].Shape} appears twice (also at {j})", nameof(parameters));
        }
        Lr = lr;
    }

    /// <summary>The parameters, in the order given.</summary>
    public IReadOnlyList<Tensor> Parameters { get; }

    /// <summary>Learning rate (schedules change it between steps).</summary>
    public float Lr { get; set; }

    /// <summary>Applies one update to every parameter that has a gradient.</summary>
    public abstract void Step();

    /// <summary>Drops every parameter's gradient.</summary>
    public void ZeroGrad()
    {
        foreach (var p in Parameters) p.ZeroGrad();
    }

    /// <summary>
    /// Copies of the optimizer state for a checkpoint, named <c>state.{paramIndex}.{buffer}</c>
    /// (buffers of the concrete optimizer; parameters that have not stepped yet have no entries).
    /// The copies belong to the current <see cref="TensorScope"/>, if any.
    /// </summary>
    public abstract IReadOnlyDictionary<string, Tensor> StateDict();

    /// <summary>
    /// Replaces the optimizer state with the entries of <paramref name="state"/> (as written by
    /// <see cref="StateDict"/>); parameters without entries start fresh. Values are copied onto the
    /// parameters' backends. Throws <see cref="ArgumentException"/> for unknown names, wrong shapes or
    /// incomplete entries.
    /// </summary>
    public abstract void LoadStateDict(IReadOnlyDictionary<string, Tensor> state);

    /// <summary>Index of <paramref name="parameter"/> in <see cref="Parameters"/>; throws if absent.</summary>
    protected int IndexOf(Tensor parameter)
    {
        for (int i = 0; i < Parameters.Count; i++)
            if (ReferenceEquals(Parameters[i], parameter)) return i;
        throw new ArgumentException($"tensor {parameter.Shape} is not one of this optimizer's {Parameters.Count} parameters", nameof(parameter));
    }

    /// <summary>The gradient of parameter <paramref name="index"/>, checked against it; null when it has none.</summary>
    protected Tensor? GradOf(int index)
    {
        var p = Parameters[index];
        var g = p.Grad;
        if (g is null) return null;
        if (g.Shape != p.Shape) throw new InvalidOperationException($"parameter {index} {p.Shape} has a gradient of shape {g.Shape}");
        if (!ReferenceEquals(g.Backend, p.Backend))
            throw new InvalidOperationException($"parameter {index} {p.Shape} is on {p.Backend.Name} but its gradient is on {g.Backend.Name}");
        return g;
    }

    /// <summary>A zero-filled state buffer like parameter <paramref name="index"/>, outside every scope.</summary>
    protected Tensor NewStateBuffer(int index)
    {
        var p = Parameters[index];
        using (TensorScope.Suspend()) return Tensor.Zeros(p.Shape, p.Backend);
    }

    /// <summary>A persistent (scope-free) copy of <paramref name="value"/> on parameter <paramref name="index"/>'s backend.</summary>
    protected Tensor ImportBuffer(int index, string name, Tensor value)
    {
        var p = Parameters[index];
        if (value.DType != DType.Float32 || value.Shape != p.Shape)
            throw new ArgumentException($"optimizer state '{name}' is {value.DType} {value.Shape}; parameter {index} needs Float32 {p.Shape}", nameof(value));
        var data = value.ToArray();
        using (TensorScope.Suspend()) return Tensor.FromArray(data, p.Shape, p.Backend);
    }

    /// <summary>A one-element Float32 tensor [1] holding a step count, in the current scope.</summary>
    protected static Tensor StepTensor(int step, Backends.Backend backend) => Tensor.FromArray([(float)step], new Shape(1), backend);

    /// <summary>Reads a step count from a one-element tensor (Float32 or Int32).</summary>
    protected static int ReadStep(string name, Tensor value)
    {
        if (value.Size != 1) throw new ArgumentException($"optimizer state '{name}' must hold one step count, got shape {value.Shape}", nameof(value));
        double s = value.DType == DType.Int32 ? value.ToInt32Array()[0] : value.ToArray()[0];
        if (s < 1 || s != Math.Floor(s) || s > int.MaxValue)
            throw new ArgumentException($"optimizer state '{name}' holds step {s}; expected a whole number ≥ 1", nameof(value));
        return (int)s;
    }

    /// <summary>
    /// Splits the names of <paramref name="state"/> into per-parameter buffers: result[i] maps a
    /// buffer name to its tensor for parameter i. Throws for names outside
    /// <c>state.{0..count−1}.{one of bufferNames}</c>.
    /// </summary>
    protected Dictionary<string, Tensor>[] GroupState(IReadOnlyDictionary<string, Tensor> state, params string[] bufferNames)
    {
        ArgumentNullException.ThrowIfNull(state);
        var groups = new Dictionary<string, Tensor>[Parameters.Count];
        for (int i = 0; i < groups.Length; i++) groups[i] = [];
        foreach (var (key, value) in state)
        {
            var parts = key.Split('.');
            if (parts.Length != 3 || parts[0] != "state"
                || !int.TryParse(parts[1], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int index)
                || index >= Parameters.Count || Array.IndexOf(bufferNames, parts[2]) < 0)
                throw new ArgumentException(
                    $"unknown optimizer state '{key}': expected state.{{0..{Parameters.Count - 1}}}.{{{string.Join("|", bufferNames)}}}", nameof(state));
            groups[index][parts[2]] = value;
        }
        return groups;
    }
}
