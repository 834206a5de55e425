using SerEngine.Conformance;

namespace SerEngine.Models.Conformance;

/// <summary>
/// <c>attention_fcn</c>: (logits, alpha) = AttentionFcn(in.x) with params <c>num_classes</c>,
/// <c>in_channels</c>, <c>widths</c>, <c>lambda</c>; dropout off; optional <c>in.lengths</c>
/// (valid frames per item).
/// </summary>
public sealed class AttentionFcnHandler : AutogradFixtureHandler
{
    /// <inheritdoc/>
    public override string Op => "attention_fcn";

    /// <inheritdoc/>
    protected override IReadOnlyDictionary<string, Tensor> Forward(FixtureContext ctx)
    {
        var p = ctx.Params;
        var config = new AttentionFcnConfig(p.Int("num_classes", 4), p.Int("in_channels", 1), p.Ints("widths"), p.Float("lambda", 0.3f), Dropout: 0f);
        var model = ModelFixtureHandlers.Load(ctx, new AttentionFcn(config, new Generator(0), ctx.Backend), training: p.Bool("training", false));
        var lengths = ctx.TryInput("lengths")?.ToInt32Array();
        var (logits, alpha) = model.Forward(ctx.Input("x"), lengths);
        return new Dictionary<string, Tensor> { ["logits"] = logits, ["alpha"] = alpha };
    }
}
