namespace SerEngine.Conformance.Handlers;

/// <summary><c>maxpool2d</c>: y = maxpool2d(in.x) with params <c>kernel</c>, <c>stride</c> (default: kernel), <c>padding</c> (default 0).</summary>
public sealed class MaxPool2dHandler : AutogradFixtureHandler
{
    /// <inheritdoc/>
    public override string Op => "maxpool2d";

    /// <inheritdoc/>
    protected override IReadOnlyDictionary<string, Tensor> Forward(FixtureContext ctx)
    {
        var p = ctx.Params;
        if (!p.Has("kernel")) throw new FormatException($"{ctx.Fixture.Name}: params has no 'kernel'");
        var kernel = p.Pair("kernel", (1, 1));
        var y = Ops.MaxPool2d(ctx.Input("x"), kernel, p.Pair("stride", kernel), p.Pair("padding", (0, 0)));
        return new Dictionary<string, Tensor> { ["y"] = y };
    }
}
