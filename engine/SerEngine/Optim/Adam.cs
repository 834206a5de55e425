using SerEngine.Backends;

namespace SerEngine.Optim;

// Adam and AdamW as torch.optim (PyTorch 1.13), per parameter with gradient g and step t:
//   Adam:  g = g + wd·p                        (L2 added to the gradient)
//   AdamW: p = p·(1 − lr·wd)                   (decoupled decay, before the update)
//   m = β1·m + (1 − β1)·g;  v = β2·v + (1 − β2)·g²
//   p = p − lr/(1 − β1^t) · m / (√v / √(1 − β2^t) + eps)
// State per parameter: exp_avg m, exp_avg_sq v (zeros before the first step, created outside any
// TensorScope and updated in place by Backend.AdamStep) and the step count t.

/// <summary>Adam as torch.optim.Adam (weight decay as L2 added to the gradient).</summary>
public class Adam : Optimizer
{
    private readonly State?[] _state;

    /// <summary>Creates the optimizer; arguments as torch.optim.Adam (betas default to (0.9, 0.999)).</summary>
    public Adam(IEnumerable<Tensor> parameters, float lr = 1e-3f, (float Beta1, float Beta2)? betas = null, float eps = 1e-8f, float weightDecay = 0f)
        : base(parameters, lr)
    {
        Betas = betas ?? (0.9f, 0.999f);
        if (!(Betas.Beta1 >= 0f && Betas.Beta1 < 1f)) throw new ArgumentOutOfRangeException(nameof(betas), $"beta1 must be in [0, 1), got {Betas.Beta1}");
        if (!(Betas.Beta2 >= 0f && Betas.Beta2 < 1f)) throw new ArgumentOutOfRangeException(nameof(betas), $"beta2 must be in [0, 1), got {Betas.Beta2}");
        if (!(eps >= 0f)) throw new ArgumentOutOfRangeException(nameof(eps), $"eps must be ≥ 0, got {eps}");
        if (!(weightDecay >= 0f)) throw new ArgumentOutOfRangeException(nameof(weightDecay), $"weight decay must be ≥ 0, got {weightDecay}");
        Eps = eps;
        WeightDecay = weightDecay;
        _state = new State?[Parameters.Count];
    }

    /// <summary>(β1, β2).</summary>
    public (float Beta1, float Beta2) Betas { get; }

    /// <summary>Denominator term.</summary>
    public float Eps { get; }

    /// <summary>Weight decay coefficient.</summary>
    public float WeightDecay { get; }

    /// <summary>True for AdamW: weight decay multiplies the parameter instead of adding to the gradient.</summary>
    protected virtual bool Decoupled => false;

    /// <summary>The moment buffers and step count of <paramref name="parameter"/>, or null before its first step.</summary>
    /// <remarks>The buffers are the live state (updated in place by later steps), not copies.</remarks>
    public (Tensor ExpAvg, Tensor ExpAvgSq, int Step)? GetState(Tensor parameter)
    {
        var s = _state[IndexOf(parameter)];
        return s is null ? null : (s.ExpAvg, s.ExpAvgSq, s.Step);
    }

    /// <inheritdoc/>
    /// <remarks>
    /// The parameters that have gradients are updated together, one <see cref="Backend.AdamStepMulti"/> per
    /// backend and step count (normally one call for the whole model: one launch per chunk of tensors on a GPU).
    /// </remarks>
    public override void Step()
    {
        var batches = new Dictionary<(Backend Backend, int Step), List<AdamTensors>>();
        var updated = new List<Tensor>(Parameters.Count);
        for (int i = 0; i < Parameters.Count; i++)
        {
            var g = GradOf(i);
            if (g is null) continue;
            var p = Parameters[i];
            var s = _state[i] ??= new State(NewStateBuffer(i), NewStateBuffer(i), 0);
            s.Step++;
            var key = (p.Backend, s.Step);
            if (!batches.TryGetValue(key, out var list)) batches[key] = list = [];
            list.Add(new AdamTensors(p.Storage, g.Storage, s.ExpAvg.Storage, s.ExpAvgSq.Storage, p.Size));
            updated.Add(p);
        }
        foreach (var ((backend, step), list) in batches)
            backend.AdamStepMulti(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(list),
                new AdamStepParams(Lr, Betas.Beta1, Betas.Beta2, Eps, WeightDecay, Decoupled, step));
        foreach (var p in updated) p.MarkModified();
    }

    /// <summary>
    /// Copies of the state: <c>state.{i}.exp_avg</c>, <c>state.{i}.exp_avg_sq</c> (the parameter's
    /// shape) and <c>state.{i}.step</c> (Float32 [1]) for every parameter i that has stepped.
    /// </summary>
    public override IReadOnlyDictionary<string, Tensor> StateDict()
    {
        var d = new Dictionary<string, Tensor>();
        for (int i = 0; i < _state.Length; i++)
        {
            if (_state[i] is not { } s) continue;
            d[$"state.{i}.exp_avg"] = s.ExpAvg.Clone();
            d[$"state.{i}.exp_avg_sq"] = s.ExpAvgSq.Clone();
            d[$"state.{i}.step"] = StepTensor(s.Step, s.ExpAvg.Backend);
        }
        return d;
    }

    /// <summary>Loads the names written by <see cref="StateDict"/>; each parameter needs all three or none.</summary>
    public override void LoadStateDict(IReadOnlyDictionary<string, Tensor> state)
    {
        var groups = GroupState(state, "exp_avg", "exp_avg_sq", "step");
        var loaded = new State?[_state.Length];
        try
        {
            for (int i = 0; i < groups.Length; i++)
            {
                var g = groups[i];
                if (g.Count == 0) continue;
                if (!g.TryGetValue("exp_avg", out var m) || !g.TryGetValue("exp_avg_sq", out var v) || !g.TryGetValue("step", out var t))
                    throw new ArgumentException($"optimizer state of parameter {i} is incomplete: needs exp_avg, exp_avg_sq and step, got {string.Join(", ", g.Keys)}", nameof(state));
                int step = ReadStep($"state.{i}.step", t);
                var expAvg = ImportBuffer(i, $"state.{i}.exp_avg", m);
                Tensor expAvgSq;
                try { expAvgSq = ImportBuffer(i, $"state.{i}.exp_avg_sq", v); }
                catch { expAvg.Dispose(); throw; }
                loaded[i] = new State(expAvg, expAvgSq, step);
            }
        }
        catch
        {
            foreach (var s in loaded) s?.Dispose();
            throw;
        }
        for (int i = 0; i < _state.Length; i++)
        {
            _state[i]?.Dispose();
            _state[i] = loaded[i];
        }
    }

    private sealed class State(Tensor expAvg, Tensor expAvgSq, int step) : IDisposable
    {
        public Tensor ExpAvg { get; } = expAvg;     // [param shape]
        public Tensor ExpAvgSq { get; } = expAvgSq; // [param shape]
        public int Step { get; set; } = step;

        public void Dispose()
        {
            ExpAvg.Dispose();
            ExpAvgSq.Dispose();
        }
    }
}

/// <summary>AdamW as torch.optim.AdamW (decoupled weight decay: param *= 1 − lr·wd).</summary>
public sealed class AdamW(IEnumerable<Tensor> parameters, float lr = 1e-3f, (float Beta1, float Beta2)? betas = null, float eps = 1e-8f, float weightDecay = 1e-2f)
    : Adam(parameters, lr, betas, eps, weightDecay)
{
    /// <inheritdoc/>
    protected override bool Decoupled => true;
}
