using System.Text.Json;
using SerEngine.Models.Corpus;
using SerEngine.Models.Data;

namespace SerEngine.Models.Training;

/// <summary>
/// The test speakers of a speaker-independent fold, stored in its checkpoints (<c>held_out</c>
/// metadata) so <c>ser eval</c> without <c>--data</c> scores only speakers the model never heard.
/// </summary>
/// <param name="Fold">The fold (1-based).</param>
/// <param name="Folds">Folds of the split.</param>
/// <param name="Corpus">The built-in corpus the fold was cut from, or null for a data folder.</param>
/// <param name="TestSpeakers">The fold's test speakers, sorted.</param>
public sealed record HeldOutSet(int Fold, int Folds, BuiltinCorpusConfig? Corpus, IReadOnlyList<string> TestSpeakers)
{
    /// <summary>The held-out set of <paramref name="plan"/> (null unless the split is by speaker).</summary>
    public static HeldOutSet? Of(Dataset data, FoldPlan plan, TrainOptions options) =>
        options.Split != SplitKind.Speaker ? null
            : new HeldOutSet(plan.Fold, plan.Folds, data.Format == DatasetFormat.Builtin ? options.BuiltinCorpus : null,
                [.. plan.Test.Select(i => data.Utterances[i].Speaker).Distinct().Order(StringComparer.Ordinal)]);

    /// <summary>The metadata JSON.</summary>
    public string ToJson() => JsonUtil.Build(w =>
    {
        w.WriteStartObject();
        w.WriteNumber("fold", Fold);
        w.WriteNumber("folds", Folds);
        if (Corpus is not null)
        {
            w.WriteStartObject("builtin_corpus");
            w.WriteNumber("speakers", Corpus.Speakers);
            w.WriteNumber("utterances_per_class", Corpus.UtterancesPerClass);
            w.WriteNumber("classes", Corpus.Classes);
            w.WriteEndObject();
        }
        w.WriteStartArray("test_speakers");
        foreach (var s in TestSpeakers) w.WriteStringValue(s);
        w.WriteEndArray();
        w.WriteEndObject();
    });

    /// <summary>Reads <see cref="ToJson"/>'s output; null for null or unreadable text (the record is optional).</summary>
    public static HeldOutSet? FromJson(string? json)
    {
        if (json is null) return null;
        try
        {
            using var doc = JsonDocument.Parse(json);
            var r = doc.RootElement;
            BuiltinCorpusConfig? corpus = null;
            if (r.TryGetProperty("builtin_corpus", out var c))
                corpus = new BuiltinCorpusConfig(c.GetProperty("speakers").GetInt32(), c.GetProperty("utterances_per_class").GetInt32(), c.GetProperty("classes").GetInt32());
            return new HeldOutSet(r.GetProperty("fold").GetInt32(), r.GetProperty("folds").GetInt32(), corpus,
                [.. r.GetProperty("test_speakers").EnumerateArray().Select(e => e.GetString() ?? "")]);
        }
        catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            return null;
        }
    }
}
