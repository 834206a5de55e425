namespace SerEngine.Conformance.Handlers;

/// <summary>
/// <c>softmax</c>. With <c>in.bias</c>, <c>in.mask</c> (Int32 [N, L], 1 = keep) or <c>params.scale</c>:
/// y = softmax(scale·in.scores + bias) over the last axis with masked keys at zero
/// (<see cref="Ops.BiasedSoftmax"/>). Otherwise a plain softmax of <c>in.scores</c> (or <c>in.x</c>)
/// along <c>params.axis</c> (default −1), a log-softmax when <c>params.log</c> is true.
/// </summary>
public sealed class SoftmaxHandler : AutogradFixtureHandler
{
    /// <inheritdoc/>
    public override string Op => "softmax";

    /// <inheritdoc/>
    protected override IReadOnlyDictionary<string, Tensor> Forward(FixtureContext ctx)
    {
        var p = ctx.Params;
        var x = ctx.TryInput("scores") ?? ctx.Input("x");
        var bias = ctx.TryInput("bias");
        var mask = ctx.TryInput("mask");
        int axis = p.Int("axis", -1);
        Tensor y;
        if (bias is not null || mask is not null || p.Has("scale"))
        {
            if (x.Shape.NormalizeAxis(axis) != x.Rank - 1)
                throw new FormatException($"{ctx.Fixture.Name}: the scaled/biased/masked softmax works on the last axis, params.axis is {axis} for {x.Shape}");
            y = Ops.BiasedSoftmax(x, bias, mask, p.Float("scale", 1f));
        }
        else
        {
            y = p.Bool("log", false) ? Ops.LogSoftmax(x, axis) : Ops.Softmax(x, axis);
        }
        return new Dictionary<string, Tensor> { ["y"] = y };
    }
}
