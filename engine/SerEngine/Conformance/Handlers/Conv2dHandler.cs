namespace SerEngine.Conformance.Handlers;

/// <summary>
/// <c>conv2d</c>: y = conv2d(in.x, param.weight, param.bias?) with params <c>stride [h, w]</c>,
/// <c>padding [h, w]</c> (or <c>[top, bottom, left, right]</c>), <c>dilation [h, w]</c>.
/// </summary>
public sealed class Conv2dHandler : AutogradFixtureHandler
{
    /// <inheritdoc/>
    public override string Op => "conv2d";

    /// <inheritdoc/>
    protected override IReadOnlyDictionary<string, Tensor> Forward(FixtureContext ctx)
    {
        var p = ctx.Params;
        var pad = p.Ints("padding") ?? [0, 0];
        (int, int, int, int) padding = pad.Length switch
        {
            1 => (pad[0], pad[0], pad[0], pad[0]),
            2 => (pad[0], pad[0], pad[1], pad[1]),
            4 => (pad[0], pad[1], pad[2], pad[3]),
            _ => throw new FormatException($"{ctx.Fixture.Name}: params.padding must be [h, w] or [top, bottom, left, right], got [{string.Join(", ", pad)}]"),
        };
        var y = Ops.Conv2d(ctx.Input("x"), ctx.Param("weight"), ctx.TryParam("bias"),
            p.Pair("stride", (1, 1)), padding, p.Pair("dilation", (1, 1)));
        return new Dictionary<string, Tensor> { ["y"] = y };
    }
}
