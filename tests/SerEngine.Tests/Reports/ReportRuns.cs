using SerEngine.Tests.Cli;

namespace SerEngine.Tests.Reports;

/// <summary>
/// One tiny fca and one tiny fcn training run (fold 2 of 2, one epoch, built-in corpus: 4 speakers,
/// 2 classes, 2 utterances each) and the corpus as WAV files, shared by the report and explain tests.
/// </summary>
public sealed class ReportRuns : IDisposable
{
    public ReportRuns()
    {
        Root = Directory.CreateTempSubdirectory("ser-report").FullName;
        string[] common = [.. TrainedRuns.Corpus, "--folds", "2", "--fold", "2", "--epochs", "1"];
        Fca = TrainCommandTests.Run(["train", "--model", "fca", .. common, "--heads", "2", "--head-dim", "8", "--out", FcaDir]);
        Fcn = TrainCommandTests.Run(["train", .. common, "--widths", "8,8,8,8,8", "--out", FcnDir]);
        CorpusResult = TrainCommandTests.Run(["corpus", .. TrainedRuns.Corpus, "--out", CorpusDir]);
    }

    public string Root { get; }

    public string FcaDir => Path.Combine(Root, "fca");

    public string FcnDir => Path.Combine(Root, "fcn");

    public string CorpusDir => Path.Combine(Root, "corpus");

    public (int Code, string Out, string Err) Fca { get; }

    public (int Code, string Out, string Err) Fcn { get; }

    public (int Code, string Out, string Err) CorpusResult { get; }

    public void Dispose() => Directory.Delete(Root, recursive: true);
}

/// <summary>The report and explain tests share one <see cref="ReportRuns"/>.</summary>
[CollectionDefinition(Name)]
public sealed class ReportRunsCollection : ICollectionFixture<ReportRuns>
{
    /// <summary>The collection's name.</summary>
    public const string Name = "report-runs";
}
