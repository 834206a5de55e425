using SerEngine.Backends;

namespace SerEngine.Optim;

// SGD as torch.optim.SGD, per parameter with gradient g:
//   d = g + wd·p
//   buf = d (first step) or momentum·buf + (1 − dampening)·d      (momentum ≠ 0)
//   d = d + momentum·buf (nesterov) or buf                        (momentum ≠ 0)
//   p = p − lr·d
// State per parameter: momentum_buffer (only when momentum ≠ 0), created outside any TensorScope
// and updated in place by Backend.SgdStep.

/// <summary>Stochastic gradient descent with optional momentum, dampening, weight decay and Nesterov, as torch.optim.SGD.</summary>
public sealed class Sgd : Optimizer
{
    private readonly Tensor?[] _momentumBuffers;

    /// <summary>Creates the optimizer; arguments as torch.optim.SGD.</summary>
    public Sgd(IEnumerable<Tensor> parameters, float lr, float momentum = 0f, float dampening = 0f, float weightDecay = 0f, bool nesterov = false)
        : base(parameters, lr)
    {
        if (!(momentum >= 0f)) throw new ArgumentOutOfRangeException(nameof(momentum), $"momentum must be ≥ 0, got {momentum}");
        if (!(weightDecay >= 0f)) throw new ArgumentOutOfRangeException(nameof(weightDecay), $"weight decay must be ≥ 0, got {weightDecay}");
        if (nesterov && (momentum <= 0f || dampening != 0f))
            throw new ArgumentException($"Nesterov momentum needs momentum > 0 and dampening = 0 (got momentum {momentum}, dampening {dampening})", nameof(nesterov));
        Momentum = momentum;
        Dampening = dampening;
        WeightDecay = weightDecay;
        Nesterov = nesterov;
        _momentumBuffers = new Tensor?[Parameters.Count];
    }

    /// <summary>Momentum factor (0 = plain SGD).</summary>
    public float Momentum { get; }

    /// <summary>Dampening for momentum.</summary>
    public float Dampening { get; }

    /// <summary>L2 coefficient added to the gradient.</summary>
    public float WeightDecay { get; }

    /// <summary>Nesterov momentum.</summary>
    public bool Nesterov { get; }

    /// <summary>The momentum buffer of <paramref name="parameter"/> (live state), or null before its first step or without momentum.</summary>
    public Tensor? GetMomentumBuffer(Tensor parameter) => _momentumBuffers[IndexOf(parameter)];

    /// <inheritdoc/>
    public override void Step()
    {
        for (int i = 0; i < Parameters.Count; i++)
        {
            var g = GradOf(i);
            if (g is null) continue;
            var p = Parameters[i];
            bool first = false;
            Tensor? buf = null;
            if (Momentum != 0f)
            {
                first = _momentumBuffers[i] is null;
                buf = _momentumBuffers[i] ??= NewStateBuffer(i);
            }
            var args = new SgdStepParams(Lr, Momentum, Dampening, WeightDecay, Nesterov, first);
            p.Backend.SgdStep(p.Storage, g.Storage, buf?.Storage, p.Size, args);
            p.MarkModified();
        }
    }

    /// <summary>Copies of the state: <c>state.{i}.momentum_buffer</c> for every parameter i that has one.</summary>
    public override IReadOnlyDictionary<string, Tensor> StateDict()
    {
        var d = new Dictionary<string, Tensor>();
        for (int i = 0; i < _momentumBuffers.Length; i++)
            if (_momentumBuffers[i] is { } b) d[$"state.{i}.momentum_buffer"] = b.Clone();
        return d;
    }

    /// <summary>Loads the names written by <see cref="StateDict"/>.</summary>
    public override void LoadStateDict(IReadOnlyDictionary<string, Tensor> state)
    {
        var groups = GroupState(state, "momentum_buffer");
        var loaded = new Tensor?[_momentumBuffers.Length];
        try
        {
            for (int i = 0; i < groups.Length; i++)
                if (groups[i].TryGetValue("momentum_buffer", out var b))
                    loaded[i] = ImportBuffer(i, $"state.{i}.momentum_buffer", b);
        }
        catch
        {
            foreach (var t in loaded) t?.Dispose();
            throw;
        }
        for (int i = 0; i < _momentumBuffers.Length; i++)
        {
            _momentumBuffers[i]?.Dispose();
            _momentumBuffers[i] = loaded[i];
        }
    }
}
