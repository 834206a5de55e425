using SerEngine.Backends;
using SerEngine.Models.Corpus;
using SerEngine.Models.Data;
using SerEngine.Models.Training;

namespace SerEngine.Tests.Ilgpu;

/// <summary>
/// Both models trained end to end on <c>ilgpu-cpu</c> for one short epoch of a tiny built-in corpus: every
/// primitive of a training step (features → convolutions, batch norm, pooling, attention, loss, Adam)
/// runs as an ILGPU kernel, and the run ends with a finite loss and a checkpoint that loads. The first
/// epoch's training loss agrees with the same run on <c>cpu-reference</c>.
/// </summary>
public sealed class IlgpuTrainingTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), $"ser-ilgpu-train-{Guid.NewGuid():N}");

    public void Dispose()
    {
        if (Directory.Exists(_dir)) Directory.Delete(_dir, recursive: true);
    }

    [Theory]
    [InlineData("fcn")]
    [InlineData("fca")]
    public void OneEpochOnIlgpuCpuMatchesTheReference(string model)
    {
        var data = BuiltinCorpus.Create(new BuiltinCorpusConfig(Speakers: 4, UtterancesPerClass: 2, Classes: 2));
        var options = new TrainOptions
        {
            Model = model, Folds = 2, Fold = 1, Epochs = 1, Widths = [4, 4, 4, 4, 4], Heads = 1, HeadDim = 4, BatchSize = 4,
            ValidationFraction = 0.25, Patience = 0, Seed = 7,
        };
        var ilgpu = Experiment.Run(data, options with { Backend = "ilgpu-cpu" }, Path.Combine(_dir, "ilgpu"), resume: false, NullTrainingLog.Instance);
        var reference = Experiment.Run(data, options with { Backend = "cpu-reference" }, Path.Combine(_dir, "ref"), resume: false, NullTrainingLog.Instance);
        double lossIlgpu = ilgpu.Folds.Single().State.History[^1].Loss, lossRef = reference.Folds.Single().State.History[^1].Loss;
        Assert.True(double.IsFinite(lossIlgpu), $"loss {lossIlgpu}");
        Assert.Equal(lossRef, lossIlgpu, 2e-3);
        var best = Checkpoint.Load(Path.Combine(_dir, "ilgpu", "fold1", FoldTrainer.BestFile));
        Assert.Equal(model, best.Kind);
        Assert.NotNull(best.CreateModel(BackendRegistry.Get("cpu")));
    }
}
