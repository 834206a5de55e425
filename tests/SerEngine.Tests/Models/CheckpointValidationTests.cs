using System.Text.Json.Nodes;
using SerEngine.Audio;
using SerEngine.Backends;
using SerEngine.Cli;
using SerEngine.IO;
using SerEngine.Models;
using SerEngine.Models.Corpus;
using SerEngine.Models.Data;
using SerEngine.Models.Training;
using SerEngine.Nn;

namespace SerEngine.Tests.Models;

/// <summary>
/// Hostile checkpoints (issue 15): a tiny real checkpoint is written, one field or tensor of it is
/// changed, and loading (or predicting, evaluating, resuming) must refuse with a message naming the
/// file and the field, tensor or label, what was expected and what was found.
/// </summary>
public sealed class CheckpointValidationTests : IDisposable
{
    private static readonly string[] Labels = ["angry", "happy", "neutral", "sad"];

    private readonly string _dir = Directory.CreateTempSubdirectory("ser-ckpt").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static Backend Cpu => BackendRegistry.Get("cpu");

    /// <summary>A small network of <paramref name="kind"/> with random weights, saved as a weights-only checkpoint.</summary>
    private string Save(string kind)
    {
        var rng = new Generator(5);
        SerModel model = kind == "fcn"
            ? new FcnModel(new AttentionFcnConfig(Labels.Length, Widths: [8, 8, 8, 8, 8]), Labels, new FeatureSpec(FeatureSettings.PaperA), rng, Cpu)
            : new FcaModel(new FocusCalibrationNetConfig(Labels.Length, 26, 2, 8), new SegmentSettings(),
                Labels, new FeatureSpec(FeatureSettings.PaperB, FcaModel.SegmentSamples(FeatureSettings.PaperB, new SegmentSettings())), rng, Cpu);
        string path = Path.Combine(_dir, kind + ".safetensors");
        Checkpoint.Save(path, model);
        return path;
    }

    /// <summary>A copy of <paramref name="source"/> named <paramref name="name"/> with its metadata and tensors edited.</summary>
    private string Edit(string source, string name, Action<Dictionary<string, string>>? metadata = null, Action<Dictionary<string, HostTensor>>? tensors = null)
    {
        var file = SafeTensors.Read(source);
        var md = new Dictionary<string, string>(file.Metadata);
        var ts = new Dictionary<string, HostTensor>(file.Tensors);
        metadata?.Invoke(md);
        tensors?.Invoke(ts);
        string path = Path.Combine(_dir, name + ".safetensors");
        SafeTensors.Write(path, ts, md);
        return path;
    }

    /// <summary>Sets <paramref name="field"/> of the JSON object in metadata <paramref name="key"/> to <paramref name="json"/> (raw JSON text).</summary>
    private string EditJson(string source, string name, string key, string field, string json) => Edit(source, name, md =>
    {
        var obj = JsonNode.Parse(md[key])!.AsObject();
        obj[field] = JsonNode.Parse(json);
        md[key] = obj.ToJsonString();
    });

    private static string Refusal(string path, bool build = true) =>
        Assert.Throws<CheckpointException>(() =>
        {
            var c = Checkpoint.Load(path);
            if (build) c.CreateModel(Cpu);
        }).Message;

    private static HostTensor With(HostTensor t, int index, float value)
    {
        var v = (float[])t.Floats!.Clone();
        v[index] = value;
        return new HostTensor(t.Shape, v);
    }

    // ---- point 2: non-finite weights ---------------------------------------------------------------

    [Theory]
    [InlineData("fcn", "fc.bias", float.NaN, "NaN")]
    [InlineData("fcn", "features.3.weight", float.PositiveInfinity, "+infinity")]
    [InlineData("fca", "attn.u_p", float.NegativeInfinity, "-infinity")]
    public void NonFiniteWeightsAreRefusedAtLoadNamingTheTensor(string kind, string tensor, float value, string what)
    {
        string bad = Edit(Save(kind), "nan", tensors: ts => ts[tensor] = With(ts[tensor], 2, value));
        string message = Assert.Throws<CheckpointException>(() => Checkpoint.Load(bad)).Message;
        Assert.StartsWith($"{bad}: tensor '{tensor}' ", message);
        Assert.Contains($"holds {what} at element 2; a checkpoint's tensors must be finite", message);
        Assert.Contains(bad, Assert.Throws<CheckpointException>(() => EmotionRecognizer.Load(bad)).Message);
    }

    [Fact]
    public void NonFiniteOptimizerStateIsRefusedAtLoad()
    {
        string bad = Edit(Save("fcn"), "opt", tensors: ts => ts["optimizer.state.0.exp_avg"] = new HostTensor(new Shape(3), [0f, float.NaN, 1f]));
        Assert.Equal($"{bad}: tensor 'optimizer.state.0.exp_avg' [3] holds NaN at element 1; a checkpoint's tensors must be finite", Refusal(bad, build: false));
    }

    [Theory]
    [InlineData("fcn")]
    [InlineData("fca")]
    public void AnOverflowingOutputIsAnErrorNamingTheAudioNotAPrediction(string kind)
    {
        // finite weights whose output overflows: every classifier weight and bias at float.MaxValue
        string bad = Edit(Save(kind), "huge", tensors: ts =>
        {
            ts["fc.weight"] = new HostTensor(ts["fc.weight"].Shape, Enumerable.Repeat(float.MaxValue, ts["fc.weight"].Shape.Size).ToArray());
            ts["fc.bias"] = new HostTensor(ts["fc.bias"].Shape, Enumerable.Repeat(float.MaxValue, ts["fc.bias"].Shape.Size).ToArray());
        });
        string wav = Path.Combine(_dir, "tone.wav");
        var x = new float[32000];
        for (int i = 0; i < x.Length; i++) x[i] = 0.3f * MathF.Sin(2 * MathF.PI * 220 * i / 16000) + 0.05f * MathF.Sin(i * 0.37f);
        WavWriter.Write(wav, x, 16000);

        using var recognizer = EmotionRecognizer.Load(bad);
        var e = Assert.Throws<NonFiniteOutputException>(() => recognizer.Predict(wav));
        Assert.StartsWith($"{wav}: the {kind} model's output for class 'angry' is ", e.Message);
        Assert.EndsWith("(its weights overflow on this input); no prediction", e.Message);
        Assert.StartsWith("samples: ", Assert.Throws<NonFiniteOutputException>(() => recognizer.Predict(x, 16000)).Message);

        var (code, stdout, stderr) = Run("predict", "--checkpoint", bad, wav);
        Assert.Equal(1, code);
        Assert.Equal("", stdout);
        Assert.StartsWith($"ser: {wav}: the {kind} model's output for class 'angry' is ", stderr);
    }

    [Fact]
    public void EvalRefusesNonFiniteOutputsNamingTheUtterance()
    {
        var data = BuiltinCorpus.Create(new BuiltinCorpusConfig(Speakers: 2, UtterancesPerClass: 1, Classes: 2));
        var rng = new Generator(3);
        var model = new FcnModel(new AttentionFcnConfig(2, Widths: [8, 8, 8, 8, 8]), data.Labels, new FeatureSpec(FeatureSettings.PaperA), rng, Cpu);
        model.Net.Fc.Bias!.CopyFrom(Enumerable.Repeat(float.MaxValue, 2).ToArray());
        model.Net.Fc.Weight.CopyFrom(Enumerable.Repeat(float.MaxValue, model.Net.Fc.Weight.Size).ToArray());
        var features = FeatureCache.Shared.GetAll(data.Utterances, model.Features);
        var indices = Enumerable.Range(0, data.Utterances.Count).ToArray();
        var e = Assert.Throws<NonFiniteOutputException>(() => FoldTrainer.Evaluate(model, data, features, indices));
        Assert.StartsWith($"{data.Utterances[0].DisplayName}: the fcn model's output", e.Message);
    }

    // ---- point 5: the config is checked against the stored shapes before anything is built --------

    [Theory]
    [InlineData("fcn", "widths", "[4096, 4096, 4096, 4096, 4096]",
        "tensor 'features.0.weight' is [8, 1, 11, 11] in the file, but config 'widths' [4096, 4096, 4096, 4096, 4096] make it [4096, 1, 11, 11]")]
    [InlineData("fcn", "widths", "[8, 8, 8, 8, 9]", "tensor 'features.10.weight' is [8, 8, 3, 3] in the file, but config 'widths' [8, 8, 8, 8, 9] make it [9, 8, 3, 3]")]
    [InlineData("fcn", "widths", "[1.5, 8, 8, 8, 8]", "metadata 'config': field 'widths[0]' must be an integer in 1..4096, found 1.5")]
    [InlineData("fcn", "widths", "[8, 8, 8, 8]", "metadata 'config': field 'widths' must have 5 elements, found 4")]
    [InlineData("fcn", "widths", "\"wide\"", "metadata 'config': field 'widths' must be an array, found \"wide\"")]
    [InlineData("fcn", "widths", "[8, 8, 8, 8, 5000]", "field 'widths[4]' must be an integer in 1..4096, found 5000")]
    [InlineData("fcn", "num_classes", "1e30", "metadata 'config': field 'num_classes' must be an integer in 2..1024, found 1e30")]
    [InlineData("fcn", "num_classes", "3", "metadata 'config' field 'num_classes' is 3, but metadata 'labels' has 4 labels")]
    [InlineData("fcn", "lambda", "\"x\"", "field 'lambda' must be a number in [-1000000, 1000000], found \"x\"")]
    [InlineData("fcn", "dropout", "1e39", "field 'dropout' must be a number in [0, 0.99], found 1e39")]
    [InlineData("fcn", "in_channels", "2", "field 'in_channels' must be the integer 1, found 2")]
    [InlineData("fca", "heads", "1000",
        "tensor 'attn.query.weight' is [16, 480] in the file, but config 'heads' 1000 × 'head_dim' 8 and 'freq_bins' 26 make it [8000, 480]")]
    [InlineData("fca", "heads", "2147483647", "field 'heads' must be an integer in 1..1024, found 2147483647")]
    [InlineData("fca", "head_dim", "4096", "tensor 'attn.query.weight' is [16, 480] in the file, but config 'heads' 2 × 'head_dim' 4096 and 'freq_bins' 26 make it [8192, 480]")]
    [InlineData("fca", "focus", "1", "field 'focus' must be true or false, found 1")]
    [InlineData("fca", "freq_bins", "2", "field 'freq_bins' must be an integer in 5..512, found 2")]
    [InlineData("fca", "segment_frames", "0", "field 'segment_frames' must be an integer in 8..65536, found 0")]
    [InlineData("fca", "eval_hop_frames", "64", "field 'eval_hop_frames' must be an integer in 1..63, found 64")]
    public void BadConfigValuesAreRefusedBeforeTheModelIsBuilt(string kind, string field, string json, string expected)
    {
        string bad = EditJson(Save(kind), "config", "config", field, json);
        string message = Refusal(bad);
        Assert.StartsWith(bad + ": ", message);
        Assert.Contains(expected, message);
        Assert.DoesNotContain("invalid format", message);
        Assert.DoesNotContain("overflow", message);
    }

    [Fact]
    public void HeadsTimesHeadDimIsBoundedWithoutWrapping()
    {
        // 1024 × 4096 fits an int, but 2^22 attention widths would be 17 GB per projection; int wrap was seen as shape [-32, 480]
        string bad = Edit(Save("fca"), "wide", md =>
        {
            var obj = JsonNode.Parse(md["config"])!.AsObject();
            obj["heads"] = 1024;
            obj["head_dim"] = 4096;
            md["config"] = obj.ToJsonString();
        });
        Assert.Equal($"{bad}: metadata 'config': field 'heads' × 'head_dim' must be at most 65536, found 1024 × 4096 = 4194304", Refusal(bad));
    }

    [Fact]
    public void AMissingConfigFieldIsNamed()
    {
        string bad = Edit(Save("fca"), "nohead", md =>
        {
            var obj = JsonNode.Parse(md["config"])!.AsObject();
            obj.Remove("head_dim");
            md["config"] = obj.ToJsonString();
        });
        Assert.Equal($"{bad}: metadata 'config': field 'head_dim' is missing", Refusal(bad));
    }

    [Fact]
    public void BuildingForALoadDrawsNoRandomNumbers()
    {
        var rng = new Generator(1);
        var before = rng.GetState();
        Linear layer;
        using (Init.SkipRandom()) layer = new Linear(3, 2, rng);
        Assert.Equal(before, rng.GetState());
        Assert.All(layer.Weight.ToArray(), v => Assert.Equal(0f, v));
        Assert.NotEqual(0f, new Linear(3, 2, rng).Weight.ToArray()[0]); // the scope ended
        // and a loaded model still predicts exactly as the saved one
        string path = Save("fca");
        var a = Checkpoint.Load(path).CreateModel(Cpu);
        Assert.Equal(SafeTensors.Read(path).Tensors["attn.u_p"].Floats, a.Network.StateDict()["attn.u_p"].ToArray());
    }

    // ---- point 7: the stored front end ------------------------------------------------------------

    [Theory]
    [InlineData("n_fft", "0", "field 'n_fft' must be an integer in 2..65536, found 0")]
    [InlineData("n_fft", "1e30", "field 'n_fft' must be an integer in 2..65536, found 1e30")]
    [InlineData("sample_rate", "1", "field 'sample_rate' must be an integer in 1000..768000, found 1")]
    [InlineData("hop_length", "0", "field 'hop_length' must be an integer in 1..800, found 0")]
    [InlineData("win_length", "801", "field 'win_length' must be an integer in 1..800, found 801")]
    [InlineData("f_max", "9000", "field 'f_max' must be a number in [0, 8000], found 9000")]
    [InlineData("f_min", "8000", "field 'f_min' must be below the Nyquist frequency (8000 Hz), found 8000")]
    [InlineData("n_mfcc", "200", "field 'n_mfcc' must be an integer in 1..128, found 200")]
    [InlineData("keep_bins", "-1", "field 'keep_bins' must be an integer in 0..401, found -1")]
    [InlineData("power", "0", "field 'power' must be a number in [0.01, 16], found 0")]
    [InlineData("kind", "\"Wavelet\"", "field 'kind' must be one of LogSpectrogram, LogMel, Mfcc, found \"Wavelet\"")]
    [InlineData("window", "3", "field 'window' must be one of ")]
    [InlineData("top_db", "-5", "field 'top_db' must be a number in [0, 1000], found -5")]
    public void BadFeatureSettingsAreRefusedAtLoad(string field, string json, string expected)
    {
        string bad = EditJson(Save("fcn"), "features", "features", field, json);
        Assert.StartsWith($"{bad}: metadata 'features': {expected}", Refusal(bad, build: false));
    }

    [Fact]
    public void TheFcaFrontEndRefusesARateOfOneHertz()
    {
        string bad = EditJson(Save("fca"), "rate", "features", "sample_rate", "1");
        Assert.Equal($"{bad}: metadata 'features': field 'sample_rate' must be an integer in 1000..768000, found 1", Refusal(bad));
        Assert.Contains("sample_rate", Assert.Throws<CheckpointException>(() => EmotionRecognizer.Load(bad)).Message);
    }

    [Theory]
    [InlineData("-5")]
    [InlineData("abc")]
    [InlineData("99999999999")]
    public void BadPadToSamplesIsRefused(string value)
    {
        string bad = Edit(Save("fca"), "pad", md => md["pad_to_samples"] = value);
        Assert.Equal($"{bad}: metadata 'pad_to_samples' must be an integer in 0..9600000 (ten minutes at 16000 Hz), found \"{value}\"", Refusal(bad, build: false));
    }

    // ---- point 9: labels --------------------------------------------------------------------------

    [Theory]
    [InlineData("[\"angry\",\"\\u001b]0;pwned\\u0007\\u001b[2J\",\"neutral\",\"sad\"]", "label 1 contains control character U+001B; labels must be printable text")]
    [InlineData("[\"angry\",\"happy\",\"neu\\u202Etral\",\"sad\"]", "label 2 contains bidirectional control character U+202E")]
    [InlineData("[\"angry\",\"happy\",\"neutral\",\"\\u2067sad\"]", "label 3 contains bidirectional control character U+2067")]
    [InlineData("[\"angry\",\"ha\\nppy\",\"neutral\",\"sad\"]", "label 1 contains control character U+000A")]
    [InlineData("[\"angry\",\"happy\",\"neu\\u2028tral\",\"sad\"]", "label 2 contains line separator U+2028")]
    [InlineData("[\"angry\",\"happy\",\"\\u009b31m\",\"sad\"]", "label 2 contains control character U+009B")]
    [InlineData("[\"angry\",\"\",\"neutral\",\"sad\"]", "label 1 is empty")]
    [InlineData("[\"angry\",\"happy\",\"neutral\",\"sssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssss\"]", "label 3 has 101 characters; at most 100 are allowed")]
    [InlineData("[\"angry\",\"happy\",\"angry\",\"sad\"]", "label 2 ('angry') repeats label 0")]
    [InlineData("[\"angry\",3,\"neutral\",\"sad\"]", "label 1 must be a string, found Number")]
    [InlineData("[\"angry\",\"happy\",\"neutral\"]", "metadata 'labels' has 3 labels, but the classifier tensor 'fc.weight' is [4, 8] (4 classes)")]
    [InlineData("[\"angry\"]", "metadata 'labels' must hold 2..1024 labels, found 1")]
    [InlineData("{\"a\":1}", "metadata 'labels' must be a JSON array of strings, found Object")]
    public void UnsafeLabelsAreRefusedNamingTheIndex(string labels, string expected)
    {
        string bad = Edit(Save("fcn"), "labels", md => md["labels"] = labels);
        string message = Refusal(bad, build: false);
        Assert.StartsWith(bad + ": ", message);
        Assert.Contains(expected, message);
        Assert.DoesNotContain('\u001b', message);
        Assert.DoesNotContain('\u202E', message);
    }

    [Fact]
    public void RawMetadataTextIsNeverEchoedUnescaped()
    {
        string kind = Edit(Save("fcn"), "kind", md => md["model"] = "\u001b]0;x\u0007");
        string message = Refusal(kind, build: false);
        Assert.Equal($"{kind} is a checkpoint for an unknown model \"\\u001B]0;x\\u0007\" (known: fcn, fca)", message);
        // a bad config is refused by Load itself, before anything asks for the model
        string config = EditJson(Save("fcn"), "cfg", "config", "widths", "[0, 8, 8, 8, 8]");
        Assert.Equal($"{config}: metadata 'config': field 'widths[0]' must be an integer in 1..4096, found 0", Refusal(config, build: false));
    }

    [Theory]
    [InlineData("l'été…", "\"l'été…\"")]                                 // readable text is printed as it is
    [InlineData("a\"b\\c", "\"a\\\"b\\\\c\"")]                         // quotes and backslashes escaped
    [InlineData("x\u001b[2J\u202Ey\u2028", "\"x\\u001B[2J\\u202Ey\\u2028\"")] // what a terminal would act on, as \uXXXX
    public void QuotedTextIsSafeAndReadable(string text, string expected) => Assert.Equal(expected, PrintableText.Quote(text));

    // ---- point 6: stored training state ------------------------------------------------------------

    private static TrainOptions Tiny => new()
    {
        Model = "fcn", Folds = 2, Fold = 1, Epochs = 1, Widths = [8, 8, 8, 8, 8], ValidationFraction = 0.25, Patience = 0, Seed = 7,
    };

    private static Dataset TinyData() => BuiltinCorpus.Create(new BuiltinCorpusConfig(Speakers: 4, UtterancesPerClass: 2, Classes: 2));

    /// <summary>A one-epoch training run; returns its last.safetensors.</summary>
    private string Trained(string name)
    {
        Experiment.Run(TinyData(), Tiny, Path.Combine(_dir, name), resume: false, NullTrainingLog.Instance);
        return Path.Combine(_dir, name, "fold1", FoldTrainer.LastFile);
    }

    [Fact]
    public void BadTrainingStateIsRefusedNamingTheField()
    {
        string last = Trained("run");
        (string Field, string Json, string Expected)[] cases =
        [
            ("epoch", "2147483647", "field 'epoch' must be an integer in 0..1000000, found 2147483647"),
            ("epoch", "-1", "field 'epoch' must be an integer in 0..1000000, found -1"),
            ("epoch", "2", "field 'epochs_since_best' must be the integer 1, found 0"),
            ("best_epoch", "5", "field 'best_epoch' must be an integer in 0..1, found 5"),
            ("best_ua", "7", "field 'best_ua' must be a number in [-1, 1], found 7"),
            ("epochs_since_best", "3", "field 'epochs_since_best' must be the integer 0, found 3"),
            ("fold", "0", "field 'fold' must be an integer in 1..1000, found 0"),
            ("seed", "12", "field 'seed' must be a string, found 12"),
            ("seed", "\"-3\"", "field 'seed' must be a decimal 64-bit unsigned integer in a string, found \"-3\""),
            ("model_rng", "[\"00000000000000ff\"]", "field 'model_rng' must have 4 elements, found 1"),
            ("shuffle_rng", "[\"xyz\",\"0\",\"0\",\"0\"]", "field 'shuffle_rng[0]' must be a string of 16 hex digits, found \"xyz\""),
            ("shuffle_rng", "[\"0000000000000000\",\"0000000000000000\",\"0000000000000000\",\"0000000000000000\"]", "field 'shuffle_rng' is all zero"),
            ("history", "[]", "field 'history' must have 1 elements, found 0"),
            ("history", "[{\"epoch\":3,\"loss\":1,\"lr\":0.001,\"val_wa\":0.5,\"val_ua\":0.5,\"best\":true,\"seconds\":1}]",
                "metadata 'training': history[0]: field 'epoch' must be the integer 1, found 3"),
            ("history", "[{\"epoch\":1,\"loss\":1,\"lr\":0.001,\"val_wa\":0.5,\"val_ua\":2,\"best\":true,\"seconds\":1}]",
                "history[0]: field 'val_ua' must be a number in [0, 1], found 2"),
        ];
        foreach (var (field, json, expected) in cases)
        {
            string bad = EditJson(last, "state", "training", field, json);
            string message = Refusal(bad, build: false);
            Assert.StartsWith($"{bad}: metadata 'training'", message);
            Assert.True(message.Contains(expected, StringComparison.Ordinal), $"{field} = {json}: {message}");
        }
    }

    [Fact]
    public void ResumeRefusesAStateFromAnotherFoldOrWithMoreEpochsThanAsked()
    {
        var data = TinyData();
        string dir = Path.Combine(_dir, "resume");
        Experiment.Run(data, Tiny with { Epochs = 2 }, dir, resume: false, NullTrainingLog.Instance);
        string last = Path.Combine(dir, "fold1", FoldTrainer.LastFile);
        var e = Assert.Throws<CheckpointException>(() => Experiment.Run(data, Tiny, dir, resume: true, NullTrainingLog.Instance));
        Assert.Equal($"{last}: metadata 'training' field 'epoch' is 2, more than the 1 epochs asked for (--epochs); raise --epochs or drop --resume", e.Message);

        var state = TrainingState.FromJson(Checkpoint.Load(last).Training!.ToJson());
        state.Fold = 2;
        File.Move(Edit(last, "fold2", md => md["training"] = state.ToJson()), last, overwrite: true);
        e = Assert.Throws<CheckpointException>(() => Experiment.Run(data, Tiny with { Epochs = 3 }, dir, resume: true, NullTrainingLog.Instance));
        Assert.StartsWith($"{last}: metadata 'training' field 'fold' is 2, but this is fold 1", e.Message);
    }

    private static (int Code, string Out, string Err) Run(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int code = CliApp.Run(args, stdout, stderr);
        return (code, stdout.ToString(), stderr.ToString());
    }
}
