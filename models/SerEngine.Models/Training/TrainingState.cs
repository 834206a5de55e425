using System.Globalization;
using System.Text.Json;

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

    /// <summary>Reads what <see cref="ToJson"/> wrote.</summary>
    public static TrainingState FromJson(string json)
    {
        using var doc = JsonDocument.Parse(json);
        var r = doc.RootElement;
        var s = new TrainingState
        {
            Epoch = r.GetProperty("epoch").GetInt32(),
            BestEpoch = r.GetProperty("best_epoch").GetInt32(),
            BestUa = r.GetProperty("best_ua").GetDouble(),
            EpochsSinceBest = r.GetProperty("epochs_since_best").GetInt32(),
            StoppedEarly = r.GetProperty("stopped_early").GetBoolean(),
            Seed = ulong.Parse(r.GetProperty("seed").GetString()!, CultureInfo.InvariantCulture),
            Fold = r.GetProperty("fold").GetInt32(),
            ModelRng = ReadRng(r.GetProperty("model_rng")),
            ShuffleRng = ReadRng(r.GetProperty("shuffle_rng")),
        };
        foreach (var e in r.GetProperty("history").EnumerateArray())
            s.History.Add(new EpochRecord(e.GetProperty("epoch").GetInt32(), Num(e, "loss"), Num(e, "lr"), Num(e, "val_wa"), Num(e, "val_ua"),
                e.GetProperty("best").GetBoolean(), Num(e, "seconds")));
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

    private static double Num(JsonElement e, string name) =>
        e.GetProperty(name).ValueKind == JsonValueKind.Null ? double.NaN : e.GetProperty(name).GetDouble();

    private static void WriteRng(Utf8JsonWriter w, string name, ulong[] state)
    {
        w.WriteStartArray(name);
        foreach (var x in state) w.WriteStringValue(x.ToString("x16", CultureInfo.InvariantCulture));
        w.WriteEndArray();
    }

    private static ulong[] ReadRng(JsonElement e) =>
        [.. e.EnumerateArray().Select(x => ulong.Parse(x.GetString()!, NumberStyles.HexNumber, CultureInfo.InvariantCulture))];
}
