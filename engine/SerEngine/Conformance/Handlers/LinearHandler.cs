namespace SerEngine.Conformance.Handlers;

/// <summary><c>linear</c>: y = in.x · param.weightᵀ + param.bias (bias optional).</summary>
public sealed class LinearHandler : AutogradFixtureHandler
{
    /// <inheritdoc/>
    public override string Op => "linear";

    /// <inheritdoc/>
    protected override IReadOnlyDictionary<string, Tensor> Forward(FixtureContext ctx) =>
        new Dictionary<string, Tensor> { ["y"] = Ops.Linear(ctx.Input("x"), ctx.Param("weight"), ctx.TryParam("bias")) };
}
