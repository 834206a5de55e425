using SerEngine.Backends;
using SerEngine.IO;
using SerEngine.Models.Corpus;
using SerEngine.Models.Data;
using SerEngine.Models.Training;

namespace SerEngine.Tests.Models;

/// <summary>End to end on the built-in corpus, on the cpu backend: learning, exact resume, divergence, checkpoints.</summary>
public sealed class TrainingTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("ser-train").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Out(string name) => Path.Combine(_dir, name);

    /// <summary>A tiny corpus: 4 speakers, 2 classes, 2 utterances each.</summary>
    private static Dataset Tiny() => BuiltinCorpus.Create(new BuiltinCorpusConfig(Speakers: 4, UtterancesPerClass: 2, Classes: 2));

    private static TrainOptions TinyFcn => new()
    {
        Model = "fcn", Folds = 2, Fold = 1, Epochs = 2, Widths = [8, 8, 8, 8, 8], ValidationFraction = 0.25, Patience = 0, Seed = 7,
    };

    private static TrainOptions TinyFca => new()
    {
        Model = "fca", Folds = 2, Fold = 1, Epochs = 2, Heads = 2, HeadDim = 8, BatchSize = 4, ValidationFraction = 0.25, Balanced = true, Seed = 7,
    };

    [Fact]
    public void AttentionFcnBeatsChanceOnUnseenSpeakers()
    {
        // 6 speakers × 4 classes × 8 utterances; fold 1 of 3 tests on spk1 and spk2, never seen in training
        var data = BuiltinCorpus.Create(new BuiltinCorpusConfig(Speakers: 6, UtterancesPerClass: 8));
        var options = new TrainOptions
        {
            Model = "fcn", Folds = 3, Fold = 1, Epochs = 30, BatchSize = 16, LearningRate = 2e-3f, Widths = [16, 32, 48, 48, 32],
            ValidationFraction = 0, Patience = 0, Seed = 1,
        };
        var result = Experiment.Run(data, options, Out("fcn"), resume: false, NullTrainingLog.Instance);
        var test = result.Folds.Single().Test;
        Assert.Equal(64, test.Count);
        Assert.True(test.UnweightedAccuracy >= 0.45, $"UA {test.UnweightedAccuracy:0.000} (chance 0.25)");
        Assert.Equal(result.MeanUa, test.UnweightedAccuracy);
    }

    [Fact]
    public void FocusCalibrationNetBeatsChanceOnUnseenSpeakers()
    {
        var data = BuiltinCorpus.Create(new BuiltinCorpusConfig(Speakers: 6, UtterancesPerClass: 8));
        var options = new TrainOptions
        {
            Model = "fca", Folds = 3, Fold = 1, Epochs = 6, Heads = 2, HeadDim = 32, ValidationFraction = 0, Patience = 0, Seed = 1,
        };
        var result = Experiment.Run(data, options, Out("fca"), resume: false, NullTrainingLog.Instance);
        var test = result.Folds.Single().Test;
        Assert.True(test.UnweightedAccuracy >= 0.5, $"UA {test.UnweightedAccuracy:0.000} (chance 0.25)");
    }

    [Theory]
    [InlineData("fcn", 3)]
    [InlineData("fca", 3)]
    [InlineData("fca", 1)]
    public void TheFoldsModelHoldsTheKeptWeightsForTheTestAndTheReport(string model, int epochs)
    {
        // whether or not the kept epoch is the last one (no reload then), the fold's model predicts exactly as one built
        // from best.safetensors, the test metrics are that model's, and the report explains the same figures with it
        var data = Tiny();
        var options = (model == "fcn" ? TinyFcn : TinyFca) with { Epochs = epochs };
        var result = Experiment.Run(data, options, Out("kept"), resume: false, NullTrainingLog.Instance);
        var fold = result.Folds[^1];
        Assert.NotNull(fold.Model);
        var loaded = Checkpoint.Load(Path.Combine(Out("kept"), "fold1", FoldTrainer.BestFile)).CreateModel(BackendRegistry.Get(options.Backend));
        var features = FeatureCache.Shared.GetAll(data.Utterances, options.FeatureSpecFor());
        var kept = fold.Model!.PredictLogits([.. fold.Plan.Test.Select(i => features[i])]);
        var fromFile = loaded.PredictLogits([.. fold.Plan.Test.Select(i => features[i])]);
        for (int u = 0; u < kept.Length; u++) Assert.Equal(fromFile[u], kept[u]);
        Assert.Equal(FoldTrainer.Evaluate(loaded, data, features, fold.Plan.Test).Confusion, fold.Test.Confusion);

        string withModel = File.ReadAllText(SerEngine.Models.Reports.TrainingReport.Write(Out("kept"), data, features, options, fold.Model!, result, fold.Model!.Backend));
        var withoutModel = result with { Folds = [.. result.Folds.Select(f => f with { Model = null })] };
        string fromCheckpoint = File.ReadAllText(SerEngine.Models.Reports.TrainingReport.Write(Out("kept"), data, features, options, fold.Model!, withoutModel, fold.Model!.Backend));
        Assert.Equal(fromCheckpoint, withModel);
    }

    [Theory]
    [InlineData("fcn")]
    [InlineData("fca")]
    public void AResumedRunEndsBitExactlyWhereAnUninterruptedOneEnds(string model)
    {
        var data = Tiny();
        var options = model == "fcn" ? TinyFcn : TinyFca;
        var full = Experiment.Run(data, options, Out("full"), resume: false, NullTrainingLog.Instance);
        Experiment.Run(data, options with { Epochs = 1 }, Out("split"), resume: false, NullTrainingLog.Instance);
        Assert.Equal(1, Checkpoint.Load(Path.Combine(Out("split"), "fold1", FoldTrainer.LastFile)).Training!.Epoch);
        var resumed = Experiment.Run(data, options, Out("split"), resume: true, NullTrainingLog.Instance);

        foreach (var file in new[] { FoldTrainer.LastFile, FoldTrainer.BestFile })
        {
            var a = SafeTensors.Read(Path.Combine(Out("full"), "fold1", file));
            var b = SafeTensors.Read(Path.Combine(Out("split"), "fold1", file));
            Assert.Equal(a.Tensors.Keys.Order(), b.Tensors.Keys.Order());
            Assert.Contains(a.Tensors.Keys, k => k.StartsWith("optimizer.state.", StringComparison.Ordinal) || file == FoldTrainer.BestFile);
            foreach (var (name, t) in a.Tensors)
                Assert.True(t.Floats!.AsSpan().SequenceEqual(b.Tensors[name].Floats), $"{file}: {name} differs after resume");
        }
        var sa = Checkpoint.Load(Path.Combine(Out("full"), "fold1", FoldTrainer.LastFile)).Training!;
        var sb = Checkpoint.Load(Path.Combine(Out("split"), "fold1", FoldTrainer.LastFile)).Training!;
        Assert.Equal(sa.ModelRng, sb.ModelRng);
        Assert.Equal(sa.ShuffleRng, sb.ShuffleRng);
        Assert.Equal(sa.History.Select(h => (h.Loss, h.ValidationUa, h.Best)), sb.History.Select(h => (h.Loss, h.ValidationUa, h.Best)));
        Assert.Equal(full.MeanWa, resumed.MeanWa);
        Assert.Equal(full.Folds[0].Test.Confusion, resumed.Folds[0].Test.Confusion);
    }

    [Fact]
    public void ADivergingLossStopsTrainingAndKeepsTheLastGoodCheckpoint()
    {
        var data = Tiny();
        Experiment.Run(data, TinyFcn with { Epochs = 1 }, Out("nan"), resume: false, NullTrainingLog.Instance);
        var last = Path.Combine(Out("nan"), "fold1", FoldTrainer.LastFile);
        var before = File.ReadAllBytes(last);
        var e = Assert.Throws<TrainingDivergedException>(() =>
            Experiment.Run(data, TinyFcn with { Epochs = 3, LearningRate = 1e30f }, Out("nan"), resume: true, NullTrainingLog.Instance));
        Assert.StartsWith("fold 1/2: the ", e.Message);
        Assert.Contains("in epoch 2", e.Message);
        Assert.Contains($"training stopped, the last good checkpoint is {last} (epoch 1)", e.Message);
        Assert.Equal(before, File.ReadAllBytes(last));
        Assert.All(Checkpoint.Load(last).Weights.Values, t => Assert.All(t.Floats!, v => Assert.True(float.IsFinite(v))));
    }

    [Fact]
    public void ACheckpointRebuildsTheModelAndRefusesMismatches()
    {
        var data = Tiny();
        Experiment.Run(data, TinyFca with { Epochs = 1 }, Out("ck"), resume: false, NullTrainingLog.Instance);
        var best = Path.Combine(Out("ck"), "fold1", FoldTrainer.BestFile);
        var ckpt = Checkpoint.Load(best);
        Assert.Equal("fca", ckpt.Kind);
        Assert.Equal(data.Labels, ckpt.Labels);
        Assert.Null(ckpt.Training);
        Assert.Empty(ckpt.OptimizerState);
        var cpu = BackendRegistry.Get("cpu");
        var a = ckpt.CreateModel(cpu);
        var b = Checkpoint.Load(best).CreateModel(cpu, new Generator(99));
        var features = FeatureCache.Shared.GetAll(data.Utterances.Take(3).ToList(), a.Features);
        Assert.Equal(a.PredictLogits(features)[2], b.PredictLogits(features)[2]);

        // a checkpoint for another model
        var fcn = TinyFcn.CreateModel(data.Labels, new Generator(1), cpu);
        Assert.Equal($"checkpoint {best} is for fca, not fcn", Assert.Throws<CheckpointException>(() => ckpt.LoadWeightsInto(fcn)).Message);
        // resuming an fcn run in an fca folder
        var e = Assert.Throws<CheckpointException>(() => Experiment.Run(data, TinyFcn, Out("ck"), resume: true, NullTrainingLog.Instance));
        Assert.Contains("is for fca, not fcn", e.Message);

        // missing tensors
        var file = SafeTensors.Read(best);
        var cut = Path.Combine(_dir, "cut.safetensors");
        SafeTensors.Write(cut, file.Tensors.Where(kv => kv.Key != "conv2.weight"), file.Metadata);
        var missing = Assert.Throws<CheckpointException>(() => Checkpoint.Load(cut).CreateModel(cpu));
        Assert.Contains("missing conv2.weight", missing.Message);
        // not a checkpoint at all
        var plain = Path.Combine(_dir, "plain.safetensors");
        SafeTensors.Write(plain, file.Tensors.Take(1));
        Assert.Contains("is not a SerEngine model checkpoint", Assert.Throws<CheckpointException>(() => Checkpoint.Load(plain)).Message);
    }
}
