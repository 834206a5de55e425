using System.Globalization;
using System.Text.Json;
using SerEngine.Models.Data;

namespace SerEngine.Models.Training;

/// <summary>One finished epoch.</summary>
/// <param name="Epoch">1-based.</param>
/// <param name="Loss">Mean training loss over its examples.</param>
/// <param name="LearningRate">Learning rate used.</param>
/// <param name="ValidationWa">Validation WA (NaN without a validation set).</param>
/// <param name="ValidationUa">Validation UA (NaN without a validation set).</param>
/// <param name="Best">Whether it became the kept model.</param>
/// <param name="Seconds">Wall time.</param>
public sealed record EpochRecord(int Epoch, double Loss, double LearningRate, double ValidationWa, double ValidationUa, bool Best, double Seconds);

/// <summary>
/// What a fold's training needs to continue exactly where it stopped: epochs done, the best
/// validation UA so far and its epoch, the patience counter, both generators' states, the history.
/// Stored as JSON in the checkpoint's <c>training</c> metadata.
/// </summary>
public sealed class TrainingState
{
    /// <summary>Epochs finished.</summary>
    public int Epoch { get; set; }

    /// <summary>Epoch of the kept model (0: none yet).</summary>
    public int BestEpoch { get; set; }

    /// <summary>Validation UA of the kept model (−1: none yet).</summary>
    public double BestUa { get; set; } = -1;

    /// <summary>Epochs since the kept model.</summary>
    public int EpochsSinceBest { get; set; }

    /// <summary>True when early stopping ended the fold.</summary>
    public bool StoppedEarly { get; set; }

    /// <summary>State of the network's generator (dropout seeds) after the last finished epoch.</summary>
    public ulong[] ModelRng { get; set; } = [];

    /// <summary>State of the batch-order generator after the last finished epoch.</summary>
    public ulong[] ShuffleRng { get; set; } = [];

    /// <summary>The seed the run derives from.</summary>
    public ulong Seed { get; set; }

    /// <summary>The fold (1-based).</summary>
    public int Fold { get; set; }

    /// <summary>Finished epochs.</summary>
    public List<EpochRecord> History { get; } = [];

    /// <summary>The state as JSON.</summary>
    public string ToJson() => JsonUtil.Build(w =>
    {
        w.WriteStartObject();
        w.WriteNumber("epoch", Epoch);
        w.WriteNumber("best_epoch", BestEpoch);
        w.WriteNumber("best_ua", BestUa);
        w.WriteNumber("epochs_since_best", EpochsSinceBest);
        w.WriteBoolean("stopped_early", StoppedEarly);
        w.WriteString("seed", Seed.ToString(CultureInfo.InvariantCulture));
        w.WriteNumber("fold", Fold);
        WriteRng(w, "model_rng", ModelRng);
        WriteRng(w, "shuffle_rng", ShuffleRng);
        w.WriteStartArray("history");
        foreach (var e in History) WriteEpoch(w, e);
        w.WriteEndArray();
        w.WriteEndObject();
    });

    /// <summary>Most epochs a stored state may claim (far beyond any real run; keeps every count well inside int).</summary>
    public const int MaxEpochs = 1_000_000;

    /// <summary>
    /// Reads what <see cref="ToJson"/> wrote and checks that it is a state training can have written:
    /// epoch 0..<see cref="MaxEpochs"/>, best_epoch ≤ epoch, epochs_since_best = epoch − best_epoch,
    /// best_ua in [−1, 1], generator states of four 64-bit hex words (not all zero), one sane history
    /// record per epoch. Errors are <see cref="FormatException"/>s naming <paramref name="source"/> and the field.
    /// </summary>
    public static TrainingState FromJson(string json, string source = "checkpoint") =>
        JsonFields.Parse(json, $"{source}: metadata 'training'", Read);

    /// <summary>Refuses to resume from this state under other options: more epochs done than <paramref name="epochs"/>, or another fold.</summary>
    public void CheckResumable(string path, int epochs, int fold)
    {
        if (Fold != fold)
            throw new CheckpointException(string.Create(CultureInfo.InvariantCulture, $"{path}: metadata 'training' field 'fold' is {Fold}, but this is fold {fold}; use the fold's own folder or drop --resume"));
        if (Epoch > epochs)
            throw new CheckpointException(string.Create(CultureInfo.InvariantCulture,
                $"{path}: metadata 'training' field 'epoch' is {Epoch}, more than the {epochs} epochs asked for (--epochs); raise --epochs or drop --resume"));
    }

    private static TrainingState Read(JsonFields r)
    {
        int epoch = r.Int("epoch", 0, MaxEpochs);
        int bestEpoch = r.Int("best_epoch", 0, epoch);
        int sinceBest = r.Int("epochs_since_best", epoch - bestEpoch, epoch - bestEpoch);
        string seed = r.String("seed");
        var s = new TrainingState
        {
            Epoch = epoch,
            BestEpoch = bestEpoch,
            BestUa = r.Number("best_ua", -1, 1),
            EpochsSinceBest = sinceBest,
            StoppedEarly = r.Bool("stopped_early"),
            Seed = ulong.TryParse(seed, NumberStyles.None, CultureInfo.InvariantCulture, out ulong v) ? v
                : throw r.Bad("seed", "a decimal 64-bit unsigned integer in a string", r.Get("seed")),
            Fold = r.Int("fold", 1, 1000),
            ModelRng = ReadRng(r, "model_rng"),
            ShuffleRng = ReadRng(r, "shuffle_rng"),
        };
        var history = r.Array("history", epoch, epoch);
        for (int i = 0; i < history.Length; i++)
        {
            var e = r.Object(history[i], string.Create(CultureInfo.InvariantCulture, $"history[{i}]"));
            s.History.Add(new EpochRecord(e.Int("epoch", i + 1, i + 1), e.NumberOrNaN("loss", 0, double.MaxValue), e.Number("lr", 0, float.MaxValue),
                e.NumberOrNaN("val_wa", 0, 1), e.NumberOrNaN("val_ua", 0, 1), e.Bool("best"), e.Number("seconds", 0, double.MaxValue)));
        }
        return s;
    }

    /// <summary>Writes one epoch record as a JSON object.</summary>
    public static void WriteEpoch(Utf8JsonWriter w, EpochRecord e)
    {
        w.WriteStartObject();
        w.WriteNumber("epoch", e.Epoch);
        JsonUtil.WriteNumberOrNull(w, "loss", e.Loss);
        w.WriteNumber("lr", e.LearningRate);
        JsonUtil.WriteNumberOrNull(w, "val_wa", e.ValidationWa);
        JsonUtil.WriteNumberOrNull(w, "val_ua", e.ValidationUa);
        w.WriteBoolean("best", e.Best);
        w.WriteNumber("seconds", Math.Round(e.Seconds, 3));
        w.WriteEndObject();
    }

    private static void WriteRng(Utf8JsonWriter w, string name, ulong[] state)
    {
        w.WriteStartArray(name);
        foreach (var x in state) w.WriteStringValue(x.ToString("x16", CultureInfo.InvariantCulture));
        w.WriteEndArray();
    }

    /// <summary>A generator state as <see cref="Generator.SetState"/> takes it: <see cref="Generator.StateWords"/> 16-digit hex words (<see cref="Generator.IsValidState"/>).</summary>
    private static ulong[] ReadRng(JsonFields r, string name)
    {
        var words = r.Array(name, Generator.StateWords, Generator.StateWords);
        var state = new ulong[Generator.StateWords];
        for (int i = 0; i < state.Length; i++)
        {
            string? text = words[i].ValueKind == JsonValueKind.String ? words[i].GetString() : null;
            if (text is not { Length: 16 } || !ulong.TryParse(text, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out state[i]))
                throw r.Bad(string.Create(CultureInfo.InvariantCulture, $"{name}[{i}]"), "a string of 16 hex digits", words[i]);
        }
        if (!Generator.IsValidState(state)) throw r.Bad(name, "is all zero, a state the generator never reaches (it would only ever draw zeros)");
        return state;
    }
}
