namespace SerEngine.Conformance.Handlers;

/// <summary>
/// <c>cross_entropy</c>: loss = cross_entropy(in.logits, in.labels) with <c>params.reduction</c>
/// (<c>mean</c>, <c>sum</c>, <c>none</c>; default mean). A reduced loss is reported with shape [1],
/// as the fixtures store it.
/// </summary>
public sealed class CrossEntropyHandler : AutogradFixtureHandler
{
    /// <inheritdoc/>
    public override string Op => "cross_entropy";

    /// <inheritdoc/>
    protected override IReadOnlyDictionary<string, Tensor> Forward(FixtureContext ctx)
    {
        var reduction = ctx.Params.String("reduction", "mean") switch
        {
            "mean" => Reduction.Mean,
            "sum" => Reduction.Sum,
            "none" => Reduction.None,
            var r => throw new FormatException($"{ctx.Fixture.Name}: params.reduction must be mean, sum or none, got '{r}'"),
        };
        var loss = Ops.CrossEntropy(ctx.Input("logits"), ctx.Input("labels"), reduction);
        if (reduction != Reduction.None) loss = Ops.Reshape(loss, 1);
        return new Dictionary<string, Tensor> { ["loss"] = loss };
    }
}
