using SerEngine.Conformance;
using SerEngine.Models.Attention;

namespace SerEngine.Models.Conformance;

/// <summary><c>attention_pool</c>: (c, α) = AttentionPool(in.a, in.mask) with params <c>lambda</c>.</summary>
public sealed class AttentionPoolHandler : AutogradFixtureHandler
{
    /// <inheritdoc/>
    public override string Op => "attention_pool";

    /// <inheritdoc/>
    protected override IReadOnlyDictionary<string, Tensor> Forward(FixtureContext ctx)
    {
        var a = ctx.Input("a");
        var pool = ModelFixtureHandlers.Load(ctx, new AttentionPool(a.Shape[-1], ctx.Params.Float("lambda", 0.3f), new Generator(0), ctx.Backend), training: false);
        var (c, alpha) = pool.Forward(a, ctx.TryInput("mask"));
        return new Dictionary<string, Tensor> { ["c"] = c, ["alpha"] = alpha };
    }
}
