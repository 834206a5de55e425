namespace SerEngine.Conformance.Handlers;

/// <summary>
/// <c>batchnorm2d</c>: y = batchnorm2d(in.x) with param.weight, param.bias, param.running_mean,
/// param.running_var (each optional) and params <c>training</c>, <c>momentum</c> (default 0.1),
/// <c>eps</c> (default 1e-5). The running buffers after the forward pass are reported as
/// <c>out.running_mean</c> and <c>out.running_var</c>.
/// </summary>
public sealed class BatchNorm2dHandler : AutogradFixtureHandler
{
    /// <inheritdoc/>
    public override string Op => "batchnorm2d";

    /// <inheritdoc/>
    protected override IReadOnlyDictionary<string, Tensor> Forward(FixtureContext ctx)
    {
        var p = ctx.Params;
        var runningMean = ctx.TryParam("running_mean");
        var runningVar = ctx.TryParam("running_var");
        var y = Ops.BatchNorm2d(ctx.Input("x"), ctx.TryParam("weight"), ctx.TryParam("bias"), runningMean, runningVar,
            training: p.Bool("training", true), momentum: p.Float("momentum", 0.1f), eps: p.Float("eps", 1e-5f));
        if (runningMean is not null) ctx.Report("out.running_mean", runningMean);
        if (runningVar is not null) ctx.Report("out.running_var", runningVar);
        return new Dictionary<string, Tensor> { ["y"] = y };
    }
}
