using SerEngine.Models.Reports;

namespace SerEngine.Tests.Reports;

/// <summary>
/// The SerEngine.Models package exports the report and figure of a model (TrainingReport,
/// Explainer, UtteranceFigure), not the generic drawing code behind them (PNG encoder, bitmap font,
/// canvases, colours, charts), which stays internal.
/// </summary>
public class ReportsPublicApiTests
{
    [Fact]
    public void OnlyTheModelFiguresAreExported()
    {
        var exported = typeof(UtteranceFigure).Assembly.GetExportedTypes()
            .Where(t => t.Namespace == typeof(UtteranceFigure).Namespace)
            .Select(t => t.Name)
            .Order(StringComparer.Ordinal);
        Assert.Equal(
            ["Explainer", "FcaAttention", "FcnAttention", "ReportContent", "TrainingReport", "UtteranceExplanation", "UtteranceFigure"],
            exported);
    }
}
