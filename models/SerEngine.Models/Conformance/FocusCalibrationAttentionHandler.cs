using SerEngine.Conformance;
using SerEngine.Models.Attention;

namespace SerEngine.Models.Conformance;

/// <summary>
/// <c>focus_calibration_attention</c>: (y, attention) = attn(in.x) with params <c>heads</c>,
/// <c>head_dim</c>, <c>focus</c>, <c>calibration</c>; dropout off.
/// </summary>
public sealed class FocusCalibrationAttentionHandler : AutogradFixtureHandler
{
    /// <inheritdoc/>
    public override string Op => "focus_calibration_attention";

    /// <inheritdoc/>
    protected override IReadOnlyDictionary<string, Tensor> Forward(FixtureContext ctx)
    {
        var p = ctx.Params;
        var x = ctx.Input("x");
        var attn = new FocusCalibrationAttention(x.Shape[-1], p.Int("heads", 4), p.Int("head_dim", 64),
            p.Bool("focus", true), p.Bool("calibration", true), dropout: 0f, new Generator(0), ctx.Backend);
        ModelFixtureHandlers.Load(ctx, attn, training: p.Bool("training", false));
        var (y, internals) = attn.Forward(x);
        return new Dictionary<string, Tensor> { ["y"] = y, ["attention"] = internals.Attention };
    }
}
