using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using SerEngine.Audio;
using SerEngine.Backends;
using SerEngine.Models.Data;
using SerEngine.Optim;

namespace SerEngine.Models.Training;

/// <summary>The loss became NaN or infinite: training stopped; the message names the last good checkpoint.</summary>
public sealed class TrainingDivergedException(string message) : Exception(message);

/// <summary>What one fold produced.</summary>
/// <param name="Plan">The split.</param>
/// <param name="Test">Test metrics of the kept model.</param>
/// <param name="State">The final training state (history, best epoch, early stop).</param>
/// <param name="Seconds">Wall time of this run of the fold.</param>
public sealed record FoldResult(FoldPlan Plan, ClassificationMetrics Test, TrainingState State, double Seconds)
{
    /// <summary>
    /// The fold's model holding the kept weights, as tested (null where the result was built elsewhere or let go):
    /// the report explains its examples with it instead of building the model again from <c>best.safetensors</c>.
    /// </summary>
    public SerModel? Model { get; init; }

    /// <summary>The fold's metrics.json content.</summary>
    public void WriteJson(Utf8JsonWriter w)
    {
        w.WriteStartObject();
        w.WriteNumber("fold", Plan.Fold);
        w.WriteNumber("folds", Plan.Folds);
        w.WriteString("split", Plan.Description);
        w.WriteNumber("train_utterances", Plan.Train.Length);
        w.WriteNumber("validation_utterances", Plan.Validation.Length);
        w.WriteNumber("test_utterances", Plan.Test.Length);
        w.WriteNumber("epochs_run", State.Epoch);
        w.WriteNumber("best_epoch", State.BestEpoch);
        JsonUtil.WriteNumberOrNull(w, "best_validation_ua", State.BestUa < 0 ? double.NaN : State.BestUa);
        w.WriteBoolean("stopped_early", State.StoppedEarly);
        w.WritePropertyName("test");
        Test.WriteJson(w);
        w.WriteStartArray("history");
        foreach (var e in State.History) TrainingState.WriteEpoch(w, e);
        w.WriteEndArray();
        w.WriteEndObject();
    }
}

/// <summary>
/// Trains and tests one fold: Adam/AdamW with the model's schedule, a seeded batch order (optionally
/// class-balanced), validation UA after every epoch with the best model kept, early stopping, a
/// checkpoint written atomically every epoch (<c>last.safetensors</c>: weights, optimizer,
/// generators, progress; <c>best.safetensors</c>: the kept weights) and exact resumption from it.
/// </summary>
public static class FoldTrainer
{
    /// <summary>File of the per-epoch training checkpoint inside a fold folder.</summary>
    public const string LastFile = "last.safetensors";

    /// <summary>File of the kept (best-validation) weights inside a fold folder.</summary>
    public const string BestFile = "best.safetensors";

    /// <summary>
    /// Runs the fold; with <paramref name="resume"/>, continues from <paramref name="foldDir"/>'s last checkpoint when there is
    /// one. <paramref name="pretrainedWeights"/> is <c>--pretrained</c> already read (else it is read here);
    /// <paramref name="phases"/>, when given, collects the time of steps, validation, checkpoints and test.
    /// </summary>
    public static FoldResult Run(Dataset data, IReadOnlyList<FeatureMatrix> features, FoldPlan plan, TrainOptions options,
        string foldDir, bool resume, ITrainingLog log, PretrainedFile? pretrainedWeights = null, RunPhases? phases = null)
    {
        phases ??= new RunPhases();
        var clock = Stopwatch.StartNew();
        var backend = BackendRegistry.Get(options.Backend);
        ulong fold = (ulong)plan.Fold;
        var modelRng = Seeds.Generator(options.Seed, fold, 1);   // initialisation, then dropout seeds
        var shuffleRng = Seeds.Generator(options.Seed, fold, 2); // batch order
        var model = options.CreateModel(data.Labels, modelRng, backend);
        string? pretrained = options.Pretrained is null ? null
            : PretrainedWeights.Load(model, pretrainedWeights ?? PretrainedWeights.Read(options.Pretrained));
        if (options.InitWeights is not null) InitialWeights.Load(model, options.InitWeights);
        var parameters = model.Network.Parameters().ToList();
        Adam optimizer = options.AdamW
            ? new AdamW(parameters, options.EffectiveLearningRate, weightDecay: options.EffectiveWeightDecay)
            : new Adam(parameters, options.EffectiveLearningRate, weightDecay: options.EffectiveWeightDecay);
        string lastPath = Path.Combine(foldDir, LastFile), bestPath = Path.Combine(foldDir, BestFile);
        string tag = string.Create(CultureInfo.InvariantCulture, $"fold {plan.Fold}/{plan.Folds}");

        if (pretrained is not null) log.Line($"{tag}: pretrained encoder from {pretrained}");
        var state = new TrainingState { Seed = options.Seed, Fold = plan.Fold };
        string? heldOut = HeldOutSet.Of(data, plan, options)?.ToJson();
        Directory.CreateDirectory(foldDir);
        if (resume && File.Exists(lastPath))
        {
            var ckpt = Checkpoint.Load(lastPath);
            if (ckpt.Kind != model.Kind) throw new CheckpointException($"checkpoint {lastPath} is for {ckpt.Kind}, not {model.Kind}; use another --out or drop --resume");
            if (!ckpt.Labels.SequenceEqual(model.Labels))
                throw new CheckpointException($"checkpoint {lastPath} has labels ({string.Join(", ", ckpt.Labels)}), the data has ({string.Join(", ", model.Labels)})");
            if (ckpt.ConfigJson != model.ConfigJson())
                throw new CheckpointException($"checkpoint {lastPath} was trained with another {model.Kind} configuration ({PrintableText.Printable(ckpt.ConfigJson)})");
            var saved = ckpt.Training ?? throw new CheckpointException($"{lastPath} has no training state to resume from");
            if (saved.Seed != options.Seed) throw new CheckpointException($"checkpoint {lastPath} was trained with --seed {saved.Seed}, not {options.Seed}");
            saved.CheckResumable(lastPath, options.EffectiveEpochs, plan.Fold);
            ckpt.LoadWeightsInto(model);
            ckpt.LoadOptimizerInto(optimizer);
            modelRng.SetState(saved.ModelRng);
            shuffleRng.SetState(saved.ShuffleRng);
            state = saved;
            log.Line(string.Create(CultureInfo.InvariantCulture, $"{tag}: resuming after epoch {state.Epoch} from {lastPath}"));
        }
        else
        {
            foreach (var stale in new[] { lastPath, bestPath, Path.Combine(foldDir, "metrics.json") })
                if (File.Exists(stale)) File.Delete(stale);
        }

        foreach (int i in plan.Train.Concat(plan.Validation).Concat(plan.Test))
            model.CheckInput(features[i], data.Utterances[i].DisplayName);
        var examples = plan.Train.SelectMany(u => model.TrainingExamples(u, features[u])).ToArray();
        var exampleLabels = examples.Select(e => data.LabelIndex(data.Utterances[e.Utterance].Label)).ToArray();
        int batchSize = options.BatchSize ?? model.DefaultBatchSize;
        if (batchSize < 1) throw new ArgumentException($"batch size must be positive, got {batchSize}");
        int steps = (examples.Length + batchSize - 1) / batchSize;
        float clip = options.EffectiveClipNorm;

        // the fold's steps from here to its last epoch (early stopping ends it sooner: the ETA is an upper bound)
        var meter = new ProgressMeter((long)options.EffectiveEpochs * steps, "steps", startDone: (long)state.Epoch * steps);
        var checkpoints = new CheckpointWriter(); // the epoch's files are written while the next epoch trains
        try
        {
            for (int epoch = state.Epoch + 1; epoch <= options.EffectiveEpochs && !state.StoppedEarly; epoch++)
            {
                var epochClock = Stopwatch.StartNew();
                var order = EpochOrder(exampleLabels, data.Labels.Count, options.Balanced, shuffleRng);
                model.Network.Train();
                double lossSum = 0;
                var stepsTimer = phases.Time(RunPhase.Steps);
                for (int s = 0; s < steps; s++)
                {
                    int from = s * batchSize, count = Math.Min(batchSize, order.Length - from);
                    var batch = new Example[count];
                    var y = new int[count];
                    for (int j = 0; j < count; j++)
                    {
                        batch[j] = examples[order[from + j]];
                        y[j] = exampleLabels[order[from + j]];
                    }
                    using var scope = TensorScope.Begin();
                    optimizer.Lr = options.LearningRateAt(epoch, s, steps);
                    // a generator per step (not one running state) so a resumed run masks exactly as an uninterrupted one
                    model.AugmentationRng = Seeds.Generator(options.Seed, fold, 5, (ulong)epoch, (ulong)s);
                    bool dumpThis = options.DumpStep is not null && epoch == 1 && s == 0 && plan.Fold == (options.Fold ?? 1); // the run's first fold only
                    var dump = dumpThis ? StepDump.Before(model, data, batch, options, optimizer.Lr, optimizer) : null;
                    var (x, valid) = model.BatchInput(batch, features);
                    var logits = model.Forward(x, valid);
                    var target = Tensor.FromArray(y, new Shape(count), backend);
                    var loss = Ops.CrossEntropy(logits, target);
                    float value = loss.Item();
                    if (!float.IsFinite(value))
                        throw Diverged(tag, string.Create(CultureInfo.InvariantCulture, $"the loss became {(float.IsNaN(value) ? "NaN" : "infinite")} in epoch {epoch} at step {s + 1}"), state, lastPath, checkpoints);
                    optimizer.ZeroGrad();
                    loss.Backward();
                    dump?.Forward(x, valid, y, logits, loss);
                    dump?.Gradients(model);
                    if (clip > 0) GradClip.ClipGlobalNorm(parameters, clip);
                    optimizer.Step();
                    if (dump is not null)
                    {
                        dump.After(model, options.DumpStep!);
                        log.Line($"{tag}: first training step written to {options.DumpStep}");
                    }
                    lossSum += (double)value * count;
                    log.Progress(string.Create(CultureInfo.InvariantCulture,
                        $"{tag} epoch {epoch}/{options.EffectiveEpochs} step {s + 1}/{steps} loss {lossSum / (from + count):0.000}  {meter.Render((long)(epoch - 1) * steps + s + 1)}"));
                }
                stepsTimer.Dispose();
                var validationTimer = phases.Time(RunPhase.Validation);
                // weights, and outputs on held-out (or a few training) utterances, must still be finite
                var probe = plan.Validation.Length > 0 ? plan.Validation : plan.Train[..Math.Min(8, plan.Train.Length)];
                var probeLogits = model.PredictLogits([.. probe.Select(i => features[i])]);
                if (!checkpoints.Buffers.AllFinite(parameters) || probeLogits.Any(r => r.Any(v => !float.IsFinite(v))))
                    throw Diverged(tag, string.Create(CultureInfo.InvariantCulture, $"the weights became NaN or infinite in epoch {epoch}"), state, lastPath, checkpoints);

                double valWa = double.NaN, valUa = double.NaN;
                bool best;
                if (plan.Validation.Length > 0)
                {
                    var m = Metrics(model, data, plan.Validation, probeLogits);
                    (valWa, valUa) = (m.WeightedAccuracy, m.UnweightedAccuracy);
                    best = valUa > state.BestUa;
                }
                else best = true; // no validation set: keep the latest
                validationTimer.Dispose();
                if (best)
                {
                    state.BestEpoch = epoch;
                    state.BestUa = double.IsNaN(valUa) ? 0 : valUa;
                    state.EpochsSinceBest = 0;
                    using (phases.Time(RunPhase.Checkpoints)) checkpoints.Save(bestPath, model, heldOutJson: heldOut);
                }
                else state.EpochsSinceBest++;
                state.Epoch = epoch;
                state.StoppedEarly = options.EffectivePatience > 0 && state.EpochsSinceBest >= options.EffectivePatience && epoch < options.EffectiveEpochs;
                var record = new EpochRecord(epoch, lossSum / examples.Length, optimizer.Lr, valWa, valUa, best, epochClock.Elapsed.TotalSeconds);
                state.History.Add(record);
                state.ModelRng = modelRng.GetState();
                state.ShuffleRng = shuffleRng.GetState();
                using (phases.Time(RunPhase.Checkpoints)) checkpoints.Save(lastPath, model, optimizer, state, heldOut);
                string val = plan.Validation.Length > 0 ? string.Create(CultureInfo.InvariantCulture, $"val WA={valWa:0.000} UA={valUa:0.000}") : "no validation";
                log.Line(string.Create(CultureInfo.InvariantCulture,
                    $"{tag} epoch {epoch,3}/{options.EffectiveEpochs}  loss {record.Loss:0.0000}  lr {record.LearningRate:0.#e+0}  {val}{(best ? " *" : "  ")}  ({record.Seconds:0.0} s)"));
                if (state.StoppedEarly)
                    log.Line(string.Create(CultureInfo.InvariantCulture, $"{tag}: no better validation UA for {options.EffectivePatience} epochs; stopping early"));
            }
        }
        catch
        {
            checkpoints.WaitQuietly(); // the last good checkpoint the error names is on disk before the error surfaces
            throw;
        }
        // when the kept epoch is the last one run, the model holds exactly what best.safetensors holds: the test needs no
        // reload, and the last writes finish while it runs; otherwise the kept weights are read back once they are on disk
        bool reload = state.BestEpoch != state.Epoch;
        if (reload)
            using (phases.Time(RunPhase.Checkpoints)) checkpoints.Flush();

        var testTimer = phases.Time(RunPhase.Test);
        ClassificationMetrics test;
        try
        {
            if (reload && File.Exists(bestPath)) Checkpoint.Load(bestPath).LoadWeightsInto(model);
            test = Evaluate(model, data, features, plan.Test);
        }
        catch
        {
            checkpoints.WaitQuietly(); // no write is left half done behind the error
            throw;
        }
        testTimer.Dispose();
        if (!reload)
            using (phases.Time(RunPhase.Checkpoints)) checkpoints.Flush();
        var result = new FoldResult(plan, test, state, clock.Elapsed.TotalSeconds) { Model = File.Exists(bestPath) ? model : null };
        JsonUtil.WriteFileAtomic(Path.Combine(foldDir, "metrics.json"), JsonUtil.Build(result.WriteJson, indented: true));
        log.Line(string.Create(CultureInfo.InvariantCulture,
            $"{tag}: kept epoch {state.BestEpoch}{(plan.Validation.Length > 0 ? $" (val UA {state.BestUa:0.000})" : "")}; test {test.Summary} on {test.Count} utterances"));
        return result;
    }

    /// <summary>Utterance-level metrics of <paramref name="model"/> on the utterances <paramref name="indices"/>.</summary>
    public static ClassificationMetrics Evaluate(SerModel model, Dataset data, IReadOnlyList<FeatureMatrix> features, IReadOnlyList<int> indices) =>
        Metrics(model, data, indices, model.PredictLogits([.. indices.Select(i => features[i])], [.. indices.Select(i => data.Utterances[i].DisplayName)]));

    private static ClassificationMetrics Metrics(SerModel model, Dataset data, IReadOnlyList<int> indices, float[][] logits)
    {
        var truth = indices.Select(i => data.LabelIndex(data.Utterances[i].Label)).ToArray();
        var predicted = logits.Select(SerModel.ArgMax).ToArray();
        return ClassificationMetrics.From(truth, predicted, model.Labels);
    }

    /// <summary>
    /// The order examples are visited in one epoch: a seeded shuffle, or with
    /// <paramref name="balanced"/> as many draws (with replacement) of a uniformly chosen class and
    /// then a uniformly chosen example of it.
    /// </summary>
    public static int[] EpochOrder(int[] labels, int classes, bool balanced, Generator rng)
    {
        if (!balanced)
        {
            var order = Enumerable.Range(0, labels.Length).ToArray();
            rng.Shuffle(order);
            return order;
        }
        var byClass = Enumerable.Range(0, classes).Select(c => new List<int>()).ToArray();
        for (int i = 0; i < labels.Length; i++) byClass[labels[i]].Add(i);
        var present = byClass.Where(l => l.Count > 0).ToArray();
        var drawn = new int[labels.Length];
        for (int i = 0; i < drawn.Length; i++)
        {
            var members = present[rng.NextInt(present.Length)];
            drawn[i] = members[rng.NextInt(members.Count)];
        }
        return drawn;
    }

    private static TrainingDivergedException Diverged(string tag, string what, TrainingState state, string lastPath, CheckpointWriter checkpoints)
    {
        checkpoints.WaitQuietly(); // the last epoch's checkpoint may still be on its way to disk
        string kept = state.Epoch > 0 && File.Exists(lastPath)
            ? string.Create(CultureInfo.InvariantCulture, $"the last good checkpoint is {lastPath} (epoch {state.Epoch})")
            : "no checkpoint was written";
        return new TrainingDivergedException($"{tag}: {what}; training stopped, {kept} (try a lower --lr)");
    }
}
