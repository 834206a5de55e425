namespace SerEngine.Conformance.Handlers;

/// <summary><c>matmul</c>: y = in.a · in.b (batched, broadcasting).</summary>
public sealed class MatMulHandler : AutogradFixtureHandler
{
    /// <inheritdoc/>
    public override string Op => "matmul";

    /// <inheritdoc/>
    protected override IReadOnlyDictionary<string, Tensor> Forward(FixtureContext ctx) =>
        new Dictionary<string, Tensor> { ["y"] = Ops.MatMul(ctx.Input("a"), ctx.Input("b")) };
}
