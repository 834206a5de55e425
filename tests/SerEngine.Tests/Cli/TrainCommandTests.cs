using System.Text.Json;
using System.Text.RegularExpressions;
using SerEngine.Cli;
using SerEngine.IO;
using SerEngine.Tests.Models;

namespace SerEngine.Tests.Cli;

/// <summary>
/// One tiny fca and one tiny fcn training run through the CLI (built-in corpus: 4 speakers, 2 classes,
/// 2 utterances each; one epoch; fcn on fold 2 of 2) and the corpus as WAV files, in a temporary folder.
/// </summary>
public abstract class TinyTrainingRuns : IDisposable
{
    /// <summary>Tiny built-in corpus: 4 speakers, 2 classes (neutral, happy), 2 utterances each.</summary>
    public static readonly string[] Corpus = ["--corpus-speakers", "4", "--corpus-utterances", "2", "--corpus-classes", "2"];

    /// <param name="prefix">Name prefix of the temporary folder.</param>
    /// <param name="fcaFolds">Fold options of the fca run (e.g. both folds, or only fold 2).</param>
    protected TinyTrainingRuns(string prefix, string[] fcaFolds)
    {
        Root = Directory.CreateTempSubdirectory(prefix).FullName;
        Fca = TrainCommandTests.Run(["train", "--model", "fca", .. Corpus, .. fcaFolds, "--epochs", "1", "--heads", "2", "--head-dim", "8", "--out", FcaDir]);
        Fcn = TrainCommandTests.Run(["train", .. Corpus, "--folds", "2", "--fold", "2", "--epochs", "1", "--widths", "8,8,8,8,8", "--out", FcnDir]);
        CorpusResult = TrainCommandTests.Run(["corpus", .. Corpus, "--out", CorpusDir]);
    }

    public string Root { get; }

    public string FcaDir => Path.Combine(Root, "fca");

    public string FcnDir => Path.Combine(Root, "fcn");

    public string CorpusDir => Path.Combine(Root, "corpus");

    public (int Code, string Out, string Err) Fca { get; }

    public (int Code, string Out, string Err) Fcn { get; }

    public (int Code, string Out, string Err) CorpusResult { get; }

    public void Dispose()
    {
        Directory.Delete(Root, recursive: true);
        GC.SuppressFinalize(this);
    }
}

/// <summary>The runs the CLI tests below share: fca over both folds.</summary>
public sealed class TrainedRuns() : TinyTrainingRuns("ser-cli-train", ["--folds", "2"]);

public sealed class TrainCommandTests(TrainedRuns runs) : IClassFixture<TrainedRuns>
{
    private static readonly Regex ResultLine = new(@"^result: WA=\d\.\d{3} UA=\d\.\d{3}$");

    internal static (int Code, string Out, string Err) Run(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int code = CliApp.Run(args, stdout, stderr);
        return (code, stdout.ToString(), stderr.ToString());
    }

    private static string[] Lines(string text) => text.ReplaceLineEndings("\n").TrimEnd('\n').Split('\n');

    private static void AssertError(int expectedCode, string fragment, (int Code, string Out, string Err) r)
    {
        Assert.Equal(expectedCode, r.Code);
        var line = Assert.Single(Lines(r.Err));
        Assert.StartsWith("ser: ", line);
        Assert.Contains(fragment, line);
    }

    [Fact]
    public void TrainRunsEveryFoldWritesCheckpointsAndMetricsAndEndsWithTheResultLine()
    {
        var (code, stdout, stderr) = runs.Fca;
        Assert.True(code == 0, stderr);
        Assert.Equal("", stderr);
        var lines = Lines(stdout);
        Assert.Matches(ResultLine, lines[^1]);
        Assert.StartsWith("data: built-in synthetic corpus: 16 utterances", lines[0]);
        Assert.Contains("16 utterances, 2 classes (neutral 8, happy 8), 4 speakers (spk1, spk2, spk3, spk4)", lines[0]);
        Assert.Contains(lines, l => l.StartsWith("fold 1/2: test speakers spk1, spk2;", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("fold 2/2 epoch   1/1  loss ", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("mean over 2 folds: ", StringComparison.Ordinal));
        // where the time went, just before the result
        Assert.Matches(@"^time: start-up \d+\.\d s, features \d+\.\d s, steps \d+\.\d s, validation \d+\.\d s, checkpoints \d+\.\d s, test \d+\.\d s, report \d+\.\d s, other \d+\.\d s \(\d+\.\d s in all\); peak memory [1-9]\d* MB$", lines[^2]);
        foreach (var f in new[] { "fold1", "fold2" })
        {
            Assert.True(File.Exists(Path.Combine(runs.FcaDir, f, "last.safetensors")));
            Assert.True(File.Exists(Path.Combine(runs.FcaDir, f, "best.safetensors")));
            Assert.True(File.Exists(Path.Combine(runs.FcaDir, f, "metrics.json")));
        }
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(runs.FcaDir, "metrics.json")));
        var root = doc.RootElement;
        Assert.Equal("fca", root.GetProperty("model").GetString());
        Assert.Equal(2, root.GetProperty("folds").GetArrayLength());
        var fold1 = root.GetProperty("folds")[0];
        Assert.Equal(8, fold1.GetProperty("test").GetProperty("utterances").GetInt32());
        Assert.Equal(2, fold1.GetProperty("test").GetProperty("confusion").GetArrayLength());
        double mean = (root.GetProperty("folds")[0].GetProperty("test").GetProperty("ua").GetDouble() + root.GetProperty("folds")[1].GetProperty("test").GetProperty("ua").GetDouble()) / 2;
        Assert.Equal(mean, root.GetProperty("mean").GetProperty("ua").GetDouble(), 12);
        Assert.Equal(lines[^1], $"result: WA={root.GetProperty("mean").GetProperty("wa").GetDouble():0.000} UA={mean:0.000}");

        var ckpt = SafeTensors.Read(Path.Combine(runs.FcaDir, "fold1", "best.safetensors"));
        Assert.Equal("fca", ckpt.Metadata["model"]);
        Assert.Equal("[\"neutral\",\"happy\"]", ckpt.Metadata["labels"]);
        Assert.Contains("\"kind\":\"Mfcc\"", ckpt.Metadata["features"]);
        Assert.Contains("\"heads\":2", ckpt.Metadata["config"]);
    }

    [Fact]
    public void ResumeAfterTheLastEpochReproducesTheResult()
    {
        var r = Run(["train", "--model", "fca", .. TrainedRuns.Corpus, "--folds", "2", "--epochs", "1", "--heads", "2", "--head-dim", "8", "--out", runs.FcaDir, "--resume"]);
        Assert.True(r.Code == 0, r.Err);
        Assert.Contains("fold 1/2: resuming after epoch 1 from ", r.Out);
        Assert.DoesNotContain("epoch   1/1  loss", r.Out);
        Assert.Equal(Lines(runs.Fca.Out)[^1], Lines(r.Out)[^1]);
    }

    [Fact]
    public void EvalScoresACheckpointOnAFolderAndWritesJson()
    {
        Assert.Equal(0, runs.CorpusResult.Code);
        Assert.Equal($"corpus: 16 utterances, 2 classes, 4 speakers -> {runs.CorpusDir}", Lines(runs.CorpusResult.Out).Single());
        var json = Path.Combine(runs.Root, "eval.json");
        var r = Run("eval", "--checkpoint", Path.Combine(runs.FcaDir, "fold1", "best.safetensors"), "--data", runs.CorpusDir, "--json", json);
        Assert.True(r.Code == 0, r.Err);
        var lines = Lines(r.Out);
        Assert.StartsWith($"data: label folders (folders) at {runs.CorpusDir}: ", lines[0]);
        Assert.Contains("16 utterances, 2 classes (happy 8, neutral 8), 4 speakers", lines[0]);
        Assert.Contains(lines, l => l.StartsWith("true \\ predicted", StringComparison.Ordinal));
        Assert.Matches(ResultLine, lines[^1]);
        using var doc = JsonDocument.Parse(File.ReadAllText(json));
        Assert.Equal(16, doc.RootElement.GetProperty("utterances").GetInt32());
        Assert.Equal(lines[^1], $"result: WA={doc.RootElement.GetProperty("wa").GetDouble():0.000} UA={doc.RootElement.GetProperty("ua").GetDouble():0.000}");
    }

    [Fact]
    public void PredictPrintsLabelAndProbabilitiesPerFileOrJson()
    {
        var ckpt = Path.Combine(runs.FcaDir, "fold2", "best.safetensors");
        var a = Path.Combine(runs.CorpusDir, "happy", "spk1", "001.wav");
        var b = Path.Combine(runs.CorpusDir, "neutral", "spk3", "002.wav");
        var text = Run("predict", "--checkpoint", ckpt, a, b);
        Assert.True(text.Code == 0, text.Err);
        Assert.Equal("", text.Err);
        var lines = Lines(text.Out);
        Assert.Equal(2, lines.Length);
        Assert.Matches(new Regex($@"^{Regex.Escape(a)}: (neutral|happy) \((neutral|happy) \d\.\d{{3}}, (neutral|happy) \d\.\d{{3}}\)$"), lines[0]);

        var json = Run("predict", "--checkpoint", ckpt, "--json", a, b);
        Assert.Equal(0, json.Code);
        using var doc = JsonDocument.Parse(json.Out);
        Assert.Equal(2, doc.RootElement.GetArrayLength());
        var first = doc.RootElement[0];
        Assert.Equal(a, first.GetProperty("file").GetString());
        var p = first.GetProperty("probabilities");
        Assert.Equal(1.0, p.GetProperty("neutral").GetDouble() + p.GetProperty("happy").GetDouble(), 5);
        string label = first.GetProperty("label").GetString()!;
        Assert.StartsWith($"{a}: {label} ", lines[0]);
    }

    [Fact]
    public void BadDataFoldersAreOneLineErrors()
    {
        var empty = Directory.CreateDirectory(Path.Combine(runs.Root, "empty")).FullName;
        AssertError(1, $"no WAV files in {empty}", Run("train", "--data", empty, "--out", Path.Combine(runs.Root, "x")));

        var one = Path.Combine(runs.Root, "oneclass");
        DatasetReaderTests.Wav(Path.Combine(one, "sad", "s1", "a.wav"));
        DatasetReaderTests.Wav(Path.Combine(one, "sad", "s2", "b.wav"));
        AssertError(1, "has only one class (sad, 2 utterances); training needs at least two", Run("train", "--data", one, "--out", Path.Combine(runs.Root, "x")));

        var unknown = Path.Combine(runs.Root, "unknownlabels");
        DatasetReaderTests.Wav(Path.Combine(unknown, "angry", "a.wav"), 1.0);
        DatasetReaderTests.Wav(Path.Combine(unknown, "happy", "b.wav"), 1.0);
        AssertError(1, "label 'angry' of " + unknown + " is not among the checkpoint's labels (neutral, happy)",
            Run("eval", "--checkpoint", Path.Combine(runs.FcaDir, "fold1", "best.safetensors"), "--data", unknown));

        AssertError(1, "speaker split into 5 folds needs at least 5 speakers", Run("train", "--data", runs.CorpusDir, "--out", Path.Combine(runs.Root, "x")));
    }

    [Fact]
    public void BadCheckpointsAndShortAudioAreOneLineErrors()
    {
        Assert.True(runs.Fcn.Code == 0, runs.Fcn.Err);
        Assert.Matches(ResultLine, Lines(runs.Fcn.Out)[^1]);
        Assert.DoesNotContain(Lines(runs.Fcn.Out), l => l.StartsWith("fold 1/2", StringComparison.Ordinal)); // --fold 2 only

        // resuming an fca output folder as fcn
        AssertError(1, "is for fca, not fcn", Run(["train", .. TrainedRuns.Corpus, "--folds", "2", "--epochs", "1", "--widths", "8,8,8,8,8", "--out", runs.FcaDir, "--resume"]));

        // a checkpoint with a tensor missing
        var best = Path.Combine(runs.FcnDir, "fold2", "best.safetensors");
        var file = SafeTensors.Read(best);
        var cut = Path.Combine(runs.Root, "cut.safetensors");
        SafeTensors.Write(cut, file.Tensors.Where(kv => kv.Key != "attention.proj.weight"), file.Metadata);
        AssertError(1, "missing attention.proj.weight", Run("predict", "--checkpoint", cut, Path.Combine(runs.CorpusDir, "happy", "spk1", "001.wav")));
        var plain = Path.Combine(runs.Root, "plain.safetensors");
        SafeTensors.Write(plain, file.Tensors.Take(2));
        AssertError(1, "is not a SerEngine model checkpoint", Run("eval", "--checkpoint", plain));

        // a WAV shorter than AttentionFcn's encoder needs (0.66 s)
        var shortWav = Path.Combine(runs.Root, "short.wav");
        DatasetReaderTests.Wav(shortWav, 0.4);
        var r = Run("predict", "--checkpoint", best, shortWav);
        Assert.Equal(1, r.Code);
        Assert.Equal([$"ser: warning: {shortWav}: shorter than the 0.67 s this fcn model needs; skipped ('ser predict --pad-short' zero-pads it)",
            "ser: nothing predicted: every file is shorter than the 0.67 s this fcn model needs (--pad-short zero-pads them)"], Lines(r.Err));
    }

    [Fact]
    public void ADivergingLossIsAOneLineError()
    {
        var outDir = Path.Combine(runs.Root, "nan");
        var r = Run(["train", .. TrainedRuns.Corpus, "--folds", "2", "--fold", "1", "--epochs", "3", "--widths", "8,8,8,8,8", "--lr", "1e30", "--out", outDir]);
        AssertError(1, "training stopped", r);
        Assert.Contains("became NaN", r.Err.Replace("infinite", "NaN", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("unknown model 'cnn'", "train", "--model", "cnn")]
    [InlineData("option '--widths' needs five widths", "train", "--widths", "1,2")]
    [InlineData("option '--fold' needs a whole number in 1..3", "train", "--fold", "4")]
    [InlineData("option '--epochs' needs a whole number ≥ 1", "train", "--epochs", "0")]
    [InlineData("--heads applies to fca only", "train", "--heads", "2")]
    [InlineData("--widths applies to fcn only", "train", "--model", "fca", "--widths", "1,2,3,4,5")]
    [InlineData("option '--bins' needs a whole number in 1..401", "train", "--bins", "402")]
    [InlineData("--bins applies to --features logspec, not logmel", "train", "--features", "logmel", "--bins", "64")]
    [InlineData("--bins applies to fcn only", "train", "--model", "fca", "--bins", "100")]
    [InlineData("unknown split 'gender'", "train", "--split", "gender")]
    [InlineData("--resume: output folder", "train", "--resume", "--out", "/nonexistent/ser-run")]
    [InlineData("eval needs --checkpoint F", "eval")]
    [InlineData("predict needs at least one WAV file", "predict", "--checkpoint", "x.safetensors")]
    [InlineData("unknown backend 'tpu'", "predict", "--checkpoint", "x.safetensors", "a.wav", "--backend", "tpu")]
    public void UsageMistakesExitTwo(string fragment, params string[] args) => AssertError(2, fragment, Run(args));
}
