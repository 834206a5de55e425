using SerEngine.Backends;
using SerEngine.IO;
using SerEngine.Optim;

namespace SerEngine.Conformance.Handlers;

/// <summary>
/// <c>adam</c> and <c>adamw</c>: start from <c>in.param</c> and take <c>params.steps</c> optimizer
/// steps with the gradients <c>in.grad_step0</c>, <c>in.grad_step1</c>, ... (params <c>lr</c>,
/// <c>betas</c>, <c>eps</c>, <c>weight_decay</c>); report <c>out.param</c>, <c>out.exp_avg</c>,
/// <c>out.exp_avg_sq</c>. Each gradient reaches <see cref="Tensor.Grad"/> through autograd, as in
/// training: backward of Σ(param · g) gives exactly g.
/// </summary>
public sealed class AdamHandler(string op) : IFixtureHandler
{
    /// <inheritdoc/>
    public string Op { get; } = op is "adam" or "adamw" ? op : throw new ArgumentException($"AdamHandler runs adam or adamw, not '{op}'", nameof(op));

    /// <inheritdoc/>
    public IReadOnlyDictionary<string, HostTensor> Run(Fixture fixture, Backend backend)
    {
        var ctx = new FixtureContext(fixture, backend);
        var p = ctx.Params;
        var betas = p.Floats("betas") ?? [0.9f, 0.999f];
        if (betas.Length != 2) throw new FormatException($"{fixture.Name}: params.betas must be [beta1, beta2]");
        float lr = p.Float("lr", 1e-3f), eps = p.Float("eps", 1e-8f);
        int steps = p.Int("steps", 1);

        var param = ctx.Input("param");
        param.RequiresGrad = true;
        Adam opt = Op == "adam"
            ? new Adam([param], lr, (betas[0], betas[1]), eps, p.Float("weight_decay", 0f))
            : new AdamW([param], lr, (betas[0], betas[1]), eps, p.Float("weight_decay", 1e-2f));
        for (int step = 0; step < steps; step++)
        {
            var g = ctx.Input($"grad_step{step}");
            opt.ZeroGrad();
            Ops.Sum(Ops.Mul(param, g)).Backward();
            opt.Step();
        }
        var state = opt.GetState(param) ?? throw new InvalidOperationException($"{fixture.Name}: {Op} kept no state for the parameter after {steps} steps");
        var result = new Dictionary<string, HostTensor>(StringComparer.Ordinal)
        {
            ["out.param"] = HostTensor.FromTensor(param),
            ["out.exp_avg"] = HostTensor.FromTensor(state.ExpAvg),
            ["out.exp_avg_sq"] = HostTensor.FromTensor(state.ExpAvgSq),
        };
        opt.ZeroGrad();
        return result;
    }
}
