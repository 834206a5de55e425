using SerEngine.Backends;
using SerEngine.IO;
using SerEngine.Models.Training;
using SerEngine.Optim;
using SerEngine.Tests.Cli;

namespace SerEngine.Tests.Models;

/// <summary>
/// The pieces of the fcn training recipes: learning-rate warm-up, gradient clipping, SpecAugment
/// masking, the recipe defaults, and a training step written by <c>--dump-step</c> then read back by <c>--init</c>.
/// </summary>
public class TrainingRecipeTests
{
    [Fact]
    public void WarmupRisesLinearlyPerStepThenFollowsTheSchedule()
    {
        var o = new TrainOptions { Model = "fcn", LearningRate = 1e-3f, WarmupEpochs = 2 };
        const int steps = 4;
        float[] expected = [1.25e-4f, 2.5e-4f, 3.75e-4f, 5e-4f, 6.25e-4f, 7.5e-4f, 8.75e-4f, 1e-3f, 1e-3f];
        for (int g = 0; g < expected.Length; g++)
            Assert.Equal(expected[g], o.LearningRateAt(g / steps + 1, g % steps, steps), 1e-9f);
        var stepped = new TrainOptions { Model = "fca", WarmupEpochs = 1, LrStepEpochs = 2 };
        Assert.Equal(5e-4f, stepped.LearningRateAt(1, 0, 2), 1e-9f);
        Assert.Equal(1e-4f, stepped.LearningRateAt(3, 0, 2), 1e-9f);   // past warm-up: ÷10 after 2 epochs
    }

    [Fact]
    public void ClipScalesAllGradientsToTheGlobalNorm()
    {
        var be = BackendRegistry.Get("cpu");
        var a = Tensor.FromArray([3f, 0f], new Shape(2), be);
        var b = Tensor.FromArray([4f], new Shape(1), be);
        a.RequiresGrad = b.RequiresGrad = true;
        Ops.Add(Ops.Sum(Ops.Mul(a, Tensor.FromArray([3f, 0f], new Shape(2), be))), Ops.Sum(Ops.Mul(b, Tensor.FromArray([4f], new Shape(1), be)))).Backward();
        double norm = GradClip.ClipGlobalNorm([a, b], 1f);                    // gradients (3, 0) and (4): norm 5
        Assert.Equal(5.0, norm, 1e-6);
        Assert.Equal([0.6f, 0f], a.Grad!.ToArray().Select(v => MathF.Round(v, 5)));
        Assert.Equal([0.8f], b.Grad!.ToArray().Select(v => MathF.Round(v, 5)));
        Assert.Equal(1.0, GradClip.ClipGlobalNorm([a, b], 2f), 1e-5);       // already small: unchanged
        Assert.Equal(0.8f, b.Grad!.ToArray()[0], 1e-5f);
    }

    [Fact]
    public void SpecAugmentMasksBoundedBandsAndSpansOfTheValidFrames()
    {
        const int bins = 40, frames = 100, stride = 130;                       // padded to 130 columns
        var aug = new SpecAugment();
        for (ulong seed = 0; seed < 20; seed++)
        {
            var x = new float[bins * stride];
            for (int b = 0; b < bins; b++) x.AsSpan(b * stride, frames).Fill(1f);
            aug.Apply(x, bins, frames, stride, new Generator(seed));
            for (int b = 0; b < bins; b++) Assert.All(x.AsSpan(b * stride + frames, stride - frames).ToArray(), v => Assert.Equal(0f, v));
            int maskedRows = Enumerable.Range(0, bins).Count(b => x.AsSpan(b * stride, frames).IndexOfAnyExcept(0f) < 0);
            int maskedCols = Enumerable.Range(0, frames).Count(t => Enumerable.Range(0, bins).All(b => x[b * stride + t] == 0f));
            Assert.InRange(maskedRows, 0, 2 * aug.MaxFreqWidth);
            Assert.InRange(maskedCols, 0, 2 * Math.Min(aug.MaxTimeWidth, frames / 10));
            var again = new float[bins * stride];
            for (int b = 0; b < bins; b++) again.AsSpan(b * stride, frames).Fill(1f);
            aug.Apply(again, bins, frames, stride, new Generator(seed));
            Assert.Equal(x, again);                                            // the generator alone decides
        }
    }

    [Fact]
    public void FrequencyWarpMovesEnergyToBinTimesAlphaAndZeroesWhatComesFromAboveTheTop()
    {
        const int bins = 40, frames = 3, stride = 5;
        float[] Ramp()
        {
            var x = new float[bins * stride];
            for (int b = 0; b < bins; b++) x.AsSpan(b * stride, frames).Fill(b);   // value = bin index
            return x;
        }
        var same = Ramp();
        SpecAugment.Warp(same, bins, frames, stride, 1f);
        Assert.Equal(Ramp(), same);                                             // α = 1: unchanged
        foreach (float alpha in new[] { 1.25f, 0.8f })
        {
            var x = Ramp();
            SpecAugment.Warp(x, bins, frames, stride, alpha);
            for (int b = 0; b < bins; b++)
            {
                float expected = b / alpha <= bins - 1 ? b / alpha : 0f;       // the ramp interpolates exactly
                for (int t = 0; t < frames; t++) Assert.Equal(expected, x[b * stride + t], 1e-4f);
                for (int t = frames; t < stride; t++) Assert.Equal(0f, x[b * stride + t]); // padding untouched
            }
        }
        var peak = new float[bins * stride];
        peak.AsSpan(10 * stride, frames).Fill(1f);
        SpecAugment.Warp(peak, bins, frames, stride, 1.5f);                     // bin 10 → bin 15
        Assert.Equal(1f, peak[15 * stride], 1e-6f);
        Assert.Equal(1f / 3, peak[14 * stride], 1e-6f);                          // 14 / 1.5 = 9.33: a third of the way
        Assert.Equal(1f / 3, peak[16 * stride], 1e-6f);
        Assert.Equal(5f / 3, Enumerable.Range(0, bins).Sum(b => peak[b * stride]), 1e-5f);

        var draws = new SpecAugment(MaxWarpSemitones: 2f);
        for (ulong seed = 0; seed < 10; seed++)
        {
            var x = Ramp();
            SpecAugment.WarpOnly(2f).Apply(x, bins, frames, stride, new Generator(seed));
            float alpha = 20f / x[20 * stride];                                    // the drawn factor
            Assert.InRange(12 * MathF.Log2(alpha), -2.0001f, 2.0001f);
            var masked = Ramp();
            draws.Apply(masked, bins, frames, stride, new Generator(seed));     // same warp, then masks
            Assert.All(Enumerable.Range(0, bins * stride).Where(i => masked[i] != 0f), i => Assert.Equal(x[i], masked[i]));
        }
    }

    [Fact]
    public void RecipesFillOnlyTheOptionsLeftUnset()
    {
        var paper = new TrainOptions { Model = "fcn", Recipe = FcnRecipe.Paper };
        Assert.Equal(1e-3f, paper.EffectiveLearningRate);
        Assert.Equal(0, paper.EffectiveWarmup);
        Assert.Equal(0f, paper.EffectiveClipNorm);
        Assert.Equal(1e-4f, (paper with { Pretrained = "alexnet.pth" }).EffectiveLearningRate);
        var scratch = new TrainOptions { Model = "fcn", Recipe = FcnRecipe.Scratch };
        Assert.Equal(FcnRecipe.Scratch.LearningRate, scratch.EffectiveLearningRate);
        Assert.Equal(FcnRecipe.Scratch.WarmupEpochs, scratch.EffectiveWarmup);
        Assert.Equal(5e-5f, (scratch with { LearningRate = 5e-5f }).EffectiveLearningRate);
        Assert.Equal(0, (new TrainOptions { Model = "fca", Recipe = FcnRecipe.Scratch }).EffectiveWarmup);
        Assert.Equal((30, 15, 0, 0.2, 7f), (scratch.EffectiveEpochs, scratch.EffectiveLrStep, scratch.EffectivePatience,
            scratch.EffectiveValidationFraction, scratch.EffectiveFrequencyWarp));
        Assert.Equal((50, 0, 10, 0.1, 0f), (paper.EffectiveEpochs, paper.EffectiveLrStep, paper.EffectivePatience,
            paper.EffectiveValidationFraction, paper.EffectiveFrequencyWarp));
        var fca = new TrainOptions { Model = "fca", Recipe = FcnRecipe.Scratch };   // the fcn recipe does not reach fca
        Assert.Equal((50, 10, 10, 0.1, 0f), (fca.EffectiveEpochs, fca.EffectiveLrStep, fca.EffectivePatience,
            fca.EffectiveValidationFraction, fca.EffectiveFrequencyWarp));
        Assert.Null(fca.Augmentation);
        var set = scratch with { Epochs = 7, LrStepEpochs = 0, Patience = 3, ValidationFraction = 0.1, FrequencyWarp = 0f, SpecAugment = false };
        Assert.Equal((7, 0, 3, 0.1, 0f), (set.EffectiveEpochs, set.EffectiveLrStep, set.EffectivePatience,
            set.EffectiveValidationFraction, set.EffectiveFrequencyWarp));
        Assert.Null(set.Augmentation);                                                // nothing left to augment with
        Assert.Equal(new SpecAugment(MaxWarpSemitones: 7f), scratch.Augmentation);
        Assert.Equal(SpecAugment.WarpOnly(2f), (scratch with { SpecAugment = false, FrequencyWarp = 2f }).Augmentation);
        Assert.Equal(300, scratch.FeatureSpecFor().Settings.Bins);                     // scratch: 0–6 kHz
        Assert.Equal(200, paper.FeatureSpecFor().Settings.Bins);                       // Paper A: 0–4 kHz
        Assert.Equal(401, (paper with { FcnBins = 401 }).FeatureSpecFor().Settings.Bins);
        Assert.Throws<ArgumentException>(() => (paper with { FcnBins = 300, FcnFeatures = "logmel" }).FeatureSpecFor());
        Assert.Same(FcnRecipe.Paper, FcnRecipe.Find("paper"));
        Assert.Null(FcnRecipe.Find("imagenet"));
    }

    /// <summary>
    /// <c>--data</c> trains fcn with the scratch recipe (batch norm, narrow widths, global normalisation,
    /// SpecAugment), whose checkpoint predicts; <c>--recipe paper</c> is Paper A; a wrong name or a
    /// recipe for fca is refused.
    /// </summary>
    [Fact]
    public void DataRunsUseTheScratchRecipeAndPaperIsOneOptionAway()
    {
        var dir = Directory.CreateTempSubdirectory("ser-recipe").FullName;
        try
        {
            string corpus = Path.Combine(dir, "corpus");
            Assert.Equal(0, TrainCommandTests.Run(["corpus", .. TinyTrainingRuns.Corpus, "--out", corpus]).Code);
            string[] train = ["train", "--data", corpus, "--folds", "2", "--fold", "1", "--epochs", "1"];
            var scratch = TrainCommandTests.Run([.. train, "--out", Path.Combine(dir, "scratch")]);
            Assert.True(scratch.Code == 0, scratch.Err);
            Assert.Contains("AttentionFcn widths 32,64,128,128,128, batch norm, λ 0.3, dropout 0.5", scratch.Out);
            Assert.Contains("recipe: scratch; normalisation global, SpecAugment", scratch.Out);
            var best = Path.Combine(dir, "scratch", "fold1", "best.safetensors");
            Assert.Contains("norm.10.running_var", SafeTensors.Read(best).Tensors.Keys);
            var wav = Directory.EnumerateFiles(corpus, "*.wav", SearchOption.AllDirectories).First();
            var predicted = TrainCommandTests.Run(["predict", "--checkpoint", best, wav]);
            Assert.True(predicted.Code == 0, predicted.Err);

            var paper = TrainCommandTests.Run([.. train, "--recipe", "paper", "--out", Path.Combine(dir, "paper")]);
            Assert.True(paper.Code == 0, paper.Err);
            Assert.Contains("AttentionFcn widths 64,192,384,256,256, λ 0.3, dropout 0.5", paper.Out);
            Assert.Contains("recipe: paper (Paper A); normalisation per bin\n", paper.Out.ReplaceLineEndings("\n"));

            var unknown = TrainCommandTests.Run([.. train, "--recipe", "imagenet", "--out", Path.Combine(dir, "x")]);
            Assert.Equal(2, unknown.Code);
            Assert.Contains("unknown recipe 'imagenet' (known: scratch, paper)", unknown.Err);
            var fca = TrainCommandTests.Run([.. train, "--model", "fca", "--recipe", "paper", "--out", Path.Combine(dir, "y")]);
            Assert.Equal(2, fca.Code);
            Assert.Contains("--recipe applies to fcn only", fca.Err);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>
    /// The first step a run writes is self-consistent (one Adam step: w1 = w0 − lr·g/(|g| + eps)), and
    /// <c>--init</c> from that file starts another seed's run at exactly those weights.
    /// </summary>
    [Fact]
    public void DumpStepIsOneAdamStepAndInitStartsFromIt()
    {
        var dir = Directory.CreateTempSubdirectory("ser-dump").FullName;
        try
        {
            string dump = Path.Combine(dir, "step.safetensors"), again = Path.Combine(dir, "again.safetensors");
            string[] common = ["train", .. TinyTrainingRuns.Corpus, "--folds", "2", "--fold", "1", "--epochs", "1", "--batchnorm", "--dropout", "0"];
            string[] widths = ["--widths", "8,8,8,8,8"];
            var first = TrainCommandTests.Run([.. common, .. widths, "--out", Path.Combine(dir, "a"), "--dump-step", dump]);
            Assert.True(first.Code == 0, first.Err);
            var file = SafeTensors.Read(dump);
            float lr = float.Parse(file.Metadata["lr"], System.Globalization.CultureInfo.InvariantCulture);
            Assert.Equal("fcn", file.Metadata["model"]);
            Assert.Contains("norm.0.running_var", file.Tensors.Keys.Select(k => k[3..]));
            foreach (var name in file.Tensors.Keys.Where(k => k.StartsWith("grad.", StringComparison.Ordinal)).Select(k => k[5..]))
            {
                var w0 = file.Tensors["w0." + name].Floats!;
                var g = file.Tensors["grad." + name].Floats!;
                var w1 = file.Tensors["w1." + name].Floats!;
                for (int i = 0; i < w0.Length; i++)
                {
                    double expected = w0[i] - lr * g[i] / (Math.Abs(g[i]) + 1e-8);
                    Assert.True(Math.Abs(w1[i] - expected) <= 1e-6 + 1e-5 * Math.Abs(w0[i]), $"{name}[{i}]: w1 {w1[i]}, one Adam step gives {expected}");
                }
            }
            var second = TrainCommandTests.Run([.. common, .. widths, "--seed", "9", "--out", Path.Combine(dir, "b"), "--init", dump, "--dump-step", again]);
            Assert.True(second.Code == 0, second.Err);
            var file2 = SafeTensors.Read(again);
            foreach (var (name, t) in file.Tensors.Where(kv => kv.Key.StartsWith("w0.", StringComparison.Ordinal)))
                Assert.Equal(t.Floats!, file2.Tensors[name].Floats!);
            var missing = TrainCommandTests.Run([.. common, "--widths", "8,8,8,8,16", "--out", Path.Combine(dir, "c"), "--init", dump]);
            Assert.Equal(1, missing.Code);
            Assert.Contains("--init", missing.Err);
            Assert.Contains("features.10.weight", missing.Err);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
