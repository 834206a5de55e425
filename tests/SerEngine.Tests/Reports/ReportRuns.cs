using SerEngine.Tests.Cli;

namespace SerEngine.Tests.Reports;

/// <summary>
/// The runs the report and explain tests share: <see cref="TinyTrainingRuns"/> with fca on fold 2 of 2 only.
/// </summary>
public sealed class ReportRuns() : TinyTrainingRuns("ser-report", ["--folds", "2", "--fold", "2"]);

/// <summary>The report and explain tests share one <see cref="ReportRuns"/>.</summary>
[CollectionDefinition(Name)]
public sealed class ReportRunsCollection : ICollectionFixture<ReportRuns>
{
    /// <summary>The collection's name.</summary>
    public const string Name = "report-runs";
}
