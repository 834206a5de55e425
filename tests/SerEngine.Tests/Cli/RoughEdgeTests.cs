using SerEngine.Conformance;
using SerEngine.IO;
using SerEngine.Models.Data;
using SerEngine.Models.Reports;
using SerEngine.Models.Training;
using SerEngine.Tests.Models;

namespace SerEngine.Tests.Cli;

/// <summary>One tiny fcn run (fold 1 of 2 of the tiny built-in corpus) and the corpus as WAV files, shared by <see cref="RoughEdgeTests"/>.</summary>
public sealed class RoughEdgeRuns : IDisposable
{
    /// <summary>The tiny fcn run's arguments without <c>--out</c>.</summary>
    public static readonly string[] TinyFcn = ["train", .. TinyTrainingRuns.Corpus, "--folds", "2", "--fold", "1", "--epochs", "1", "--widths", "8,8,8,8,8"];

    public RoughEdgeRuns()
    {
        Root = Directory.CreateTempSubdirectory("ser-cli-edges").FullName;
        Fcn = TrainCommandTests.Run([.. TinyFcn, "--out", FcnDir]);
        CorpusResult = TrainCommandTests.Run(["corpus", .. TinyTrainingRuns.Corpus, "--out", CorpusDir]);
    }

    public string Root { get; }

    public string FcnDir => Path.Combine(Root, "fcn");

    public string CorpusDir => Path.Combine(Root, "corpus");

    public string Best => Path.Combine(FcnDir, "fold1", "best.safetensors");

    public (int Code, string Out, string Err) Fcn { get; }

    public (int Code, string Out, string Err) CorpusResult { get; }

    /// <summary>A copy of the fcn output folder to change.</summary>
    public string CopyRun(string name)
    {
        var dir = Path.Combine(Root, name);
        foreach (var f in Directory.EnumerateFiles(FcnDir, "*", SearchOption.AllDirectories))
        {
            var to = Path.Combine(dir, Path.GetRelativePath(FcnDir, f));
            Directory.CreateDirectory(Path.GetDirectoryName(to)!);
            File.Copy(f, to);
        }
        return dir;
    }

    public void Dispose()
    {
        Directory.Delete(Root, recursive: true);
        GC.SuppressFinalize(this);
    }
}

/// <summary>Issue 15's rough edges of the <c>ser</c> command: each refusal one line, nothing written lost.</summary>
public sealed class RoughEdgeTests(RoughEdgeRuns runs) : IClassFixture<RoughEdgeRuns>
{
    private static (int Code, string Out, string Err) Run(params string[] args) => TrainCommandTests.Run(args);

    private static string[] Lines(string text) => text.ReplaceLineEndings("\n").TrimEnd('\n').Split('\n');

    private static void AssertError(int code, string fragment, (int Code, string Out, string Err) r)
    {
        Assert.True(r.Code == code, $"exit {r.Code}: {r.Err}");
        var line = Assert.Single(Lines(r.Err));
        Assert.StartsWith("ser: ", line);
        Assert.Contains(fragment, line);
    }

    [Theory]
    [InlineData("--epochs needs a value (N), got option '--seed' after it", "train", "--epochs", "--seed", "3")]
    [InlineData("--out needs a value (DIR)", "train", "--out")]
    [InlineData("option '--epochs' needs a whole number ≥ 1, got '99999999999' (too large)", "train", "--epochs", "99999999999")]
    [InlineData("option '--epochs' needs a whole number ≥ 1, got 'x'", "train", "--epochs", "x")]
    [InlineData("option '--lr' needs a number ≥ 0, got 'abc'", "train", "--lr", "abc")]
    [InlineData("option '--seed' needs a whole number ≥ 0, got '-1'", "train", "--seed", "-1")]
    [InlineData("--resume and --force exclude each other", "train", "--resume", "--force")]
    [InlineData("--checkpoint needs a value (F), got option '--json' after it", "predict", "--checkpoint", "--json", "a.wav")]
    [InlineData("option '--widths' needs five whole numbers in 1..4096, got '99999,1,1,1,1'", "train", "--widths", "99999,1,1,1,1")]
    [InlineData("option '--heads' needs a whole number in 1..1024, got '100000'", "train", "--model", "fca", "--heads", "100000")]
    [InlineData("options '--heads' × '--head-dim' must be at most 65536, got 1024 × 4096 = 4194304", "train", "--model", "fca", "--heads", "1024", "--head-dim", "4096")]
    [InlineData("--all-rows applies to --profile", "bench", "--case", "sgemm.1024", "--all-rows")]
    public void OptionMistakesNameTheOptionAndTheExpectedValue(string fragment, params string[] args) => AssertError(2, fragment, Run(args));

    [Fact]
    public void TrainRefusesAnOutputFolderHoldingARunAndAnOutputThatIsAFile()
    {
        Assert.True(runs.Fcn.Code == 0, runs.Fcn.Err);
        var before = File.GetLastWriteTimeUtc(runs.Best);
        AssertError(2, $"--out '{runs.FcnDir}' already holds a run (metrics.json, fold1/); add --resume to continue it, --force to replace it",
            Run([.. RoughEdgeRuns.TinyFcn, "--out", runs.FcnDir]));
        Assert.Equal(before, File.GetLastWriteTimeUtc(runs.Best));

        var file = Path.Combine(runs.Root, "a-file");
        File.WriteAllText(file, "mine");
        // refused before the data is read: the --data folder does not even exist
        AssertError(2, $"--out '{file}' is a file; expected an output folder", Run("train", "--data", "/nonexistent/data", "--out", file));
        Assert.Equal("mine", File.ReadAllText(file));
    }

    [Fact]
    public void ForceReplacesOnlyOurOwnOutputs()
    {
        var dir = runs.CopyRun("forced");
        File.WriteAllText(Path.Combine(dir, "notes.txt"), "keep");
        Directory.CreateDirectory(Path.Combine(dir, "fold3"));
        File.Copy(runs.Best, Path.Combine(dir, "fold3", "best.safetensors"));
        var r = Run([.. RoughEdgeRuns.TinyFcn, "--out", dir, "--force"]);
        Assert.True(r.Code == 0, r.Err);
        Assert.Contains($"output: --force: removed the earlier run in {dir} (metrics.json, fold1/, fold3/)", Lines(r.Out));
        Assert.Equal("keep", File.ReadAllText(Path.Combine(dir, "notes.txt")));
        Assert.False(Directory.Exists(Path.Combine(dir, "fold3")));
        Assert.True(File.Exists(Path.Combine(dir, "fold1", "best.safetensors")));
    }

    [Fact]
    public void TrainRemovesStaleTempFilesOfAnInterruptedRun()
    {
        var dir = runs.CopyRun("crashed");
        string guid = Guid.NewGuid().ToString("N");
        var stale = new[] { Path.Combine("fold1", $"last.safetensors.tmp-{guid}"), "metrics.json.tmp4242", Path.Combine("fold1", "metrics.json.tmp77") };
        var foreign = new[] { "notes.tmp-1234", Path.Combine("fold1", "best.safetensors.tmp-xyz"), Path.Combine("fold1", "mine.txt.tmp1") };
        foreach (var f in stale.Concat(foreign)) File.WriteAllText(Path.Combine(dir, f), "x");
        var r = Run([.. RoughEdgeRuns.TinyFcn, "--out", dir, "--resume"]);
        Assert.True(r.Code == 0, r.Err);
        Assert.Contains(Lines(r.Out), l => l.StartsWith($"output: removed 3 temp files an interrupted run left in {dir} (", StringComparison.Ordinal));
        foreach (var f in stale) Assert.False(File.Exists(Path.Combine(dir, f)), f);
        foreach (var f in foreign) Assert.True(File.Exists(Path.Combine(dir, f)), f);
        Assert.Equal(Lines(runs.Fcn.Out)[^1], Lines(r.Out)[^1]);
    }

    [Fact]
    public void PredictSkipsTooShortFilesWithAWarningOrPadsThemWithPadShort()
    {
        var shortWav = Path.Combine(runs.Root, "short-predict.wav");
        DatasetReaderTests.Wav(shortWav, 0.4);
        var good = Path.Combine(runs.CorpusDir, "happy", "spk1", "001.wav");
        var r = Run("predict", "--checkpoint", runs.Best, shortWav, good);
        Assert.True(r.Code == 0, r.Err);
        Assert.Equal($"ser: warning: {shortWav}: shorter than the 0.67 s this fcn model needs; skipped ('ser predict --pad-short' zero-pads it)", Lines(r.Err).Single());
        Assert.StartsWith($"{good}: ", Lines(r.Out).Single());

        var padded = Run("predict", "--checkpoint", runs.Best, "--pad-short", shortWav, good);
        Assert.True(padded.Code == 0, padded.Err);
        Assert.Equal("", padded.Err);
        Assert.Equal(2, Lines(padded.Out).Length);
        Assert.StartsWith($"{shortWav}: ", Lines(padded.Out)[0]);
        Assert.Equal(Lines(r.Out)[0], Lines(padded.Out)[1]);
    }

    [Fact]
    public void EvalSkipsOrPadsTooShortUtterances()
    {
        var dir = Path.Combine(runs.Root, "evalshort");
        DatasetReaderTests.Wav(Path.Combine(dir, "happy", "s1", "a.wav"), 1.0);
        DatasetReaderTests.Wav(Path.Combine(dir, "neutral", "s1", "b.wav"), 1.0);
        var shortWav = Path.Combine(dir, "neutral", "s2", "c.wav");
        DatasetReaderTests.Wav(shortWav, 0.3);
        var r = Run("eval", "--checkpoint", runs.Best, "--data", dir);
        Assert.True(r.Code == 0, r.Err);
        Assert.Contains($"ser: warning: {shortWav}: shorter than the 0.67 s", Lines(r.Err).Single());
        var padded = Run("eval", "--checkpoint", runs.Best, "--data", dir, "--pad-short");
        Assert.True(padded.Code == 0, padded.Err);
        Assert.Equal("", padded.Err);
    }

    [Fact]
    public void EvalWithoutDataScoresTheCheckpointsHeldOutSpeakers()
    {
        var r = Run("eval", "--checkpoint", runs.Best);
        Assert.True(r.Code == 0, r.Err);
        var lines = Lines(r.Out);
        Assert.Equal("eval: the checkpoint's held-out test speakers (fold 1/2): spk1, spk2; its training speakers are left out", lines[0]);
        Assert.StartsWith("data: built-in synthetic corpus: 8 utterances, 2 classes (neutral 4, happy 4), 2 speakers (spk1, spk2)", lines[1]);
        // the fold's own test result: the same utterances, the same model
        Assert.Equal(Lines(runs.Fcn.Out)[^1], lines[^1]);

        var file = SafeTensors.Read(runs.Best);
        var old = Path.Combine(runs.Root, "no-held-out.safetensors");
        SafeTensors.Write(old, file.Tensors, file.Metadata.Where(kv => kv.Key != "held_out").ToDictionary());
        var note = Run("eval", "--checkpoint", old);
        Assert.StartsWith($"ser: note: {old} records no held-out speakers of the built-in corpus; every speaker is scored, including those it was trained on", Lines(note.Err)[0]);
    }

    [Fact]
    public void LabelFoldersWinOverCremaDLikeFileNames()
    {
        var dir = Path.Combine(runs.Root, "crema-like-folders");
        DatasetReaderTests.Wav(Path.Combine(dir, "happy", "s1", "1001_DFA_ANG_XX.wav"));
        DatasetReaderTests.Wav(Path.Combine(dir, "Neutral", "s2", "1002_IEO_SAD_HI.wav"));
        Assert.Equal(DatasetFormat.Folders, DatasetReader.Detect(dir));
        var data = DatasetReader.Load(dir);
        Assert.Equal(["Neutral", "happy"], data.Utterances.Select(u => u.Label));

        var crema = Path.Combine(runs.Root, "crema-real");
        DatasetReaderTests.Wav(Path.Combine(crema, "AudioWAV", "1001_DFA_ANG_XX.wav"));
        DatasetReaderTests.Wav(Path.Combine(crema, "AudioWAV", "1002_IEO_SAD_HI.wav"));
        Assert.Equal(DatasetFormat.CremaD, DatasetReader.Detect(crema));
    }

    [Fact]
    public void CorpusNamesInUnknownTopLevelFoldersAreReportedAsAmbiguous()
    {
        var dir = Path.Combine(runs.Root, "crema-like-unknown-folders");
        DatasetReaderTests.Wav(Path.Combine(dir, "joyful", "1001_DFA_ANG_XX.wav"));
        DatasetReaderTests.Wav(Path.Combine(dir, "gloomy", "1002_IEO_SAD_HI.wav"));
        var ex = Assert.Throws<DatasetException>(() => DatasetReader.Detect(dir));
        Assert.Equal($"cannot tell the layout of {dir}: its file names follow CREMA-D naming (e.g. 1002_IEO_SAD_HI.wav), but its WAVs sit in 2 top-level folders (gloomy, joyful) that may be labels; give --format crema-d or --format folders", ex.Message);
        Assert.Equal(DatasetFormat.Folders, DatasetReader.Load(dir, DatasetFormat.Folders).Format);

        // RAVDESS's own Actor_NN folders are not taken for labels
        var ravdess = Path.Combine(runs.Root, "ravdess-actors");
        DatasetReaderTests.Wav(Path.Combine(ravdess, "Actor_01", "03-01-05-01-02-01-01.wav"));
        DatasetReaderTests.Wav(Path.Combine(ravdess, "Actor_02", "03-01-04-01-02-01-02.wav"));
        Assert.Equal(DatasetFormat.Ravdess, DatasetReader.Detect(ravdess));
    }

    [Fact]
    public void AClassMissingFromAFoldsTrainingSetIsWarnedAndTheMeanLineSaysTheClassSetsDiffer()
    {
        var dir = Path.Combine(runs.Root, "missing-class");
        foreach (var (speaker, classes) in new[] { ("s1", "neutral happy sad"), ("s2", "neutral happy sad"), ("s3", "neutral happy"), ("s4", "neutral happy") })
            foreach (var label in classes.Split(' '))
                for (int i = 0; i < 2; i++)
                    DatasetReaderTests.Wav(Path.Combine(dir, label, speaker, $"{i}.wav"), 0.7);
        var r = Run("train", "--data", dir, "--folds", "2", "--epochs", "1", "--widths", "8,8,8,8,8", "--val-fraction", "0", "--out", Path.Combine(runs.Root, "missing-out"));
        Assert.True(r.Code == 0, r.Err);
        var lines = Lines(r.Out);
        Assert.Contains("fold 1/2: warning: class 'sad' has no training utterances in this fold; the model cannot learn it", lines);
        Assert.DoesNotContain(lines, l => l.StartsWith("fold 2/2: warning", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("mean over 2 folds: ", StringComparison.Ordinal)
            && l.EndsWith("; folds average different class sets: fold 1: happy, neutral, sad; fold 2: happy, neutral", StringComparison.Ordinal));
    }

    [Fact]
    public void BadPathsNameTheFileAndWhatWasExpected()
    {
        var file = Path.Combine(runs.Root, "plain-file");
        File.WriteAllText(file, "x");
        var wav = Path.Combine(runs.CorpusDir, "happy", "spk1", "001.wav");
        AssertError(1, $"--checkpoint '{runs.FcnDir}' is a folder; expected a checkpoint file such as {Path.Combine(runs.FcnDir, "fold1", "best.safetensors")}",
            Run("predict", "--checkpoint", runs.FcnDir, wav));
        AssertError(1, $"{runs.CorpusDir} is a folder; predict takes WAV files", Run("predict", "--checkpoint", runs.Best, runs.CorpusDir));
        AssertError(2, $"--out '{file}' is a file; expected an output folder", Run("corpus", "--out", file));
        AssertError(2, $"--out '{Path.Combine(file, "sub")}': '{file}' is a file, not a folder", Run("train", "--out", Path.Combine(file, "sub")));
        AssertError(2, $"--out '{runs.Root}' is a folder; expected a file to write", Run("features", wav, "--kind", "mfcc", "--out", runs.Root));
        AssertError(1, $"--json '{Path.Combine(runs.Root, "none", "m.json")}': folder '{Path.Combine(runs.Root, "none")}' does not exist",
            Run("eval", "--checkpoint", runs.Best, "--json", Path.Combine(runs.Root, "none", "m.json")));
        AssertError(2, $"--test-list '{runs.Root}' is a folder", Run("train", "--data", runs.CorpusDir, "--test-list", runs.Root, "--out", Path.Combine(runs.Root, "never")));
    }

    [Fact]
    public void ReportAndScoresReadNaturally()
    {
        var html = File.ReadAllText(Path.Combine(runs.FcnDir, "report.html"));
        Assert.Contains("<th>corpus</th><td>built-in synthetic corpus: 16 utterances", html);
        Assert.Contains("speaker, 1 of 2 folds run", html);
        Assert.Contains("weight decay 0<", html);
        Assert.Contains(Lines(runs.Fcn.Out), l => l.Contains("weight decay 0,", StringComparison.Ordinal));

        Assert.Equal("0.0000857", ConformanceRunner.Format(8.57e-5));
        Assert.Equal("0.03", ConformanceRunner.Format(0.03));
        Assert.Equal("0.123", ConformanceRunner.Format(0.12345));
        Assert.Equal("3.1", ConformanceRunner.Format(3.1));
        Assert.Equal("0", ConformanceRunner.Format(0));

        Assert.Equal("short", TextMetrics.Fit("short", 10, 100));
        var cut = TextMetrics.Fit(new string('a', 200), 10, 100);
        Assert.True(TextMetrics.Width(cut, 10) <= 100 && cut.EndsWith("...", StringComparison.Ordinal));
        Assert.StartsWith("...", TextMetrics.Fit("/a/very/long/path/" + new string('d', 100) + "/file.wav", 10, 100, keepEnd: true));
        // as the PNG canvas draws it (whole-pixel glyphs are wider than the estimate): the file name stays, the start goes
        var raster = new RasterCanvas(960, 40, 2);
        var title = TextMetrics.Fit("/recordings/" + new string('p', 120) + "/utterance-0001.wav", 14, 944, keepEnd: true, canvas: raster);
        Assert.True(raster.TextWidth(title, 14) <= 944);
        Assert.EndsWith("/utterance-0001.wav", title);
    }
}
