using SerEngine.Conformance;
using SerEngine.Nn;

namespace SerEngine.Models.Conformance;

/// <summary>The fixture handlers of this assembly: the attention modules and the two networks.</summary>
public static class ModelFixtureHandlers
{
    /// <summary>Every handler, for <see cref="FixtureHandlers.Register(IEnumerable{IFixtureHandler})"/>.</summary>
    public static IEnumerable<IFixtureHandler> All =>
    [
        new AttentionPoolHandler(),
        new FocusCalibrationAttentionHandler(),
        new AttentionFcnHandler(),
        new FocusCalibrationNetHandler(),
    ];

    /// <summary>
    /// Loads the file's <c>param.*</c> tensors into <paramref name="module"/> (strictly: every
    /// parameter and buffer must be there) and binds the module's parameters so their gradients
    /// answer <c>grad.*</c>; returns the module in the fixture's train/eval mode.
    /// </summary>
    internal static T Load<T>(FixtureContext ctx, T module, bool training) where T : Module
    {
        module.To(ctx.Backend);
        module.LoadStateDict(ctx.Fixture.WithPrefix("param."));
        foreach (var (name, t) in module.NamedParameters()) ctx.Bind("param." + name, t);
        module.Train(training);
        return module;
    }

    /// <summary>Reports every buffer as <c>out.state.NAME</c> (BatchNorm running statistics after the pass).</summary>
    internal static void ReportState(FixtureContext ctx, Module module)
    {
        foreach (var (name, t) in module.NamedBuffers()) ctx.Report("out.state." + name, t);
    }
}
