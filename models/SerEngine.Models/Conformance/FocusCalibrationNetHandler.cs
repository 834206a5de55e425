using SerEngine.Conformance;

namespace SerEngine.Models.Conformance;

/// <summary>
/// <c>focus_calibration_net</c>: logits = FocusCalibrationNet(in.x) with params <c>num_classes</c>,
/// <c>freq_bins</c>, <c>heads</c>, <c>head_dim</c>, <c>focus</c>, <c>calibration</c>,
/// <c>training</c> (BatchNorm batch statistics; dropout off). BatchNorm running statistics after
/// the pass are reported as <c>out.state.*</c>.
/// </summary>
public sealed class FocusCalibrationNetHandler : AutogradFixtureHandler
{
    /// <inheritdoc/>
    public override string Op => "focus_calibration_net";

    /// <inheritdoc/>
    protected override IReadOnlyDictionary<string, Tensor> Forward(FixtureContext ctx)
    {
        var p = ctx.Params;
        var config = new FocusCalibrationNetConfig(p.Int("num_classes", 4), p.Int("freq_bins", 26), p.Int("heads", 4), p.Int("head_dim", 64),
            p.Bool("focus", true), p.Bool("calibration", true), Dropout: 0f);
        var model = ModelFixtureHandlers.Load(ctx, new FocusCalibrationNet(config, new Generator(0), ctx.Backend), training: p.Bool("training", false));
        var (logits, _) = model.Forward(ctx.Input("x"));
        ModelFixtureHandlers.ReportState(ctx, model);
        return new Dictionary<string, Tensor> { ["logits"] = logits };
    }
}
