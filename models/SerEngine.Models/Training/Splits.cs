using SerEngine.Models.Data;

namespace SerEngine.Models.Training;

/// <summary>One fold: utterance indices for training, validation and test, and how it was made.</summary>
/// <param name="Fold">1-based fold number.</param>
/// <param name="Folds">K.</param>
/// <param name="Train">Training utterances.</param>
/// <param name="Validation">Held-out training utterances for early stopping (may be empty).</param>
/// <param name="Test">Test utterances.</param>
/// <param name="Description">What the test set is (e.g. "test speakers spk1, spk2").</param>
public sealed record FoldPlan(int Fold, int Folds, int[] Train, int[] Validation, int[] Test, string Description);

/// <summary>
/// Splits a data set: speaker-independent folds (contiguous runs of the sorted fold groups, so
/// IEMOCAP with K = 5 is leave-one-session-out), random folds, or a given test list; then a
/// class-stratified random share of the rest for validation. All draws come from generators derived
/// from the seed.
/// </summary>
public static class Splits
{
    /// <summary>The plan of fold <paramref name="fold"/> (1-based) under <paramref name="options"/>.</summary>
    public static FoldPlan Plan(Dataset data, TrainOptions options, int fold)
    {
        int k = options.Split == SplitKind.List ? 1 : options.Folds;
        if (fold < 1 || fold > k) throw new ArgumentException($"fold {fold} is outside 1..{k}");
        var (test, description) = options.Split switch
        {
            SplitKind.Speaker => SpeakerFold(data, k, fold),
            SplitKind.Random => RandomFold(data, k, fold, options.Seed),
            _ => ListFold(data, options.TestList ?? throw new ArgumentException("a list split needs a test list file")),
        };
        var testSet = test.ToHashSet();
        var rest = Enumerable.Range(0, data.Utterances.Count).Where(i => !testSet.Contains(i)).ToList();
        if (rest.Count == 0) throw new DatasetException($"fold {fold}: every utterance is in the test set; nothing is left to train on");
        var validation = StratifiedSample(data, rest, options.EffectiveValidationFraction, Seeds.Generator(options.Seed, (ulong)fold, 3));
        var valSet = validation.ToHashSet();
        var train = rest.Where(i => !valSet.Contains(i)).ToArray();
        var trainLabels = train.Select(i => data.Utterances[i].Label).Distinct().Count();
        if (trainLabels < 2) throw new DatasetException($"fold {fold}: the training set has only one class; training needs at least two");
        return new FoldPlan(fold, k, train, [.. validation.Order()], [.. test.Order()], description);
    }

    /// <summary>Test set of speaker-independent fold <paramref name="fold"/> of <paramref name="k"/>.</summary>
    public static (int[] Test, string Description) SpeakerFold(Dataset data, int k, int fold)
    {
        var groups = data.Groups;
        if (groups.Count < k)
        {
            string what = data.Format == DatasetFormat.Iemocap ? "sessions" : "speakers";
            throw new DatasetException(groups.Count == 1 && groups[0] == "unknown"
                ? $"{data.Root} has no speaker information; a speaker split is impossible (use --split random)"
                : $"a speaker split into {k} folds needs at least {k} {what}; {data.Root} has {groups.Count} (use --folds {Math.Max(2, groups.Count)} or --split random)");
        }
        int first = (fold - 1) * groups.Count / k, end = fold * groups.Count / k;
        var chosen = groups.Skip(first).Take(end - first).ToHashSet(StringComparer.Ordinal);
        var test = Enumerable.Range(0, data.Utterances.Count).Where(i => chosen.Contains(data.Utterances[i].Group)).ToArray();
        string kind = data.Format == DatasetFormat.Iemocap ? "sessions" : "speakers";
        return (test, $"test {kind} {string.Join(", ", chosen.Order(StringComparer.Ordinal))}");
    }

    /// <summary>Test set of random fold <paramref name="fold"/>: utterances shuffled once by the seed, cut into K runs.</summary>
    public static (int[] Test, string Description) RandomFold(Dataset data, int k, int fold, ulong seed)
    {
        int n = data.Utterances.Count;
        if (n < k) throw new DatasetException($"{n} utterances cannot make {k} folds");
        var order = Enumerable.Range(0, n).ToArray();
        Seeds.Generator(seed, 0, 4).Shuffle(order);
        int first = (fold - 1) * n / k, end = fold * n / k;
        return (order[first..end], $"test = random fold {fold} of {k} ({end - first} utterances)");
    }

    /// <summary>
    /// Test set from a list file: one entry per line (blank lines and # comments skipped), matching
    /// an utterance's id (its path relative to the data folder), its file name, or its full path.
    /// </summary>
    public static (int[] Test, string Description) ListFold(Dataset data, string listFile)
    {
        if (!File.Exists(listFile)) throw new DatasetException($"test list '{listFile}' does not exist");
        var byKey = new Dictionary<string, List<int>>(StringComparer.Ordinal);
        for (int i = 0; i < data.Utterances.Count; i++)
        {
            var u = data.Utterances[i];
            var keys = new List<string> { u.Id, Path.GetFileName(u.Id) };
            if (u.Path is not null) keys.AddRange([Path.GetFileName(u.Path), Path.GetFullPath(u.Path)]);
            foreach (var key in keys.Distinct())
            {
                if (!byKey.TryGetValue(key, out var list)) byKey[key] = list = [];
                list.Add(i);
            }
        }
        var test = new SortedSet<int>();
        int lineNo = 0;
        foreach (var raw in File.ReadLines(listFile))
        {
            lineNo++;
            var line = raw.Trim();
            if (line.Length == 0 || line.StartsWith('#')) continue;
            var entry = line.Replace('\\', '/');
            if (!byKey.TryGetValue(entry, out var hits) && !byKey.TryGetValue(Path.GetFullPath(line), out hits))
                throw new DatasetException($"test list {listFile} line {lineNo}: '{line}' is not an utterance of {data.Root}");
            if (hits.Count > 1) throw new DatasetException($"test list {listFile} line {lineNo}: '{line}' matches {hits.Count} utterances; use the path relative to the data folder");
            test.Add(hits[0]);
        }
        if (test.Count == 0) throw new DatasetException($"test list {listFile} names no utterances");
        return ([.. test], $"test = the {test.Count} utterances of {Path.GetFileName(listFile)}");
    }

    /// <summary>A class-stratified random share of <paramref name="pool"/>: round(fraction·n) of each class (none when fraction is 0).</summary>
    public static List<int> StratifiedSample(Dataset data, IReadOnlyList<int> pool, double fraction, Generator rng)
    {
        if (!(fraction >= 0 && fraction < 1)) throw new ArgumentException($"validation fraction must be in [0, 1), got {fraction}");
        var picked = new List<int>();
        if (fraction == 0) return picked;
        foreach (var label in data.Labels)
        {
            var members = pool.Where(i => data.Utterances[i].Label == label).ToArray();
            int take = (int)Math.Round(fraction * members.Length, MidpointRounding.AwayFromZero);
            if (take == 0 && members.Length >= 2) take = 1;
            if (take >= members.Length) take = members.Length - 1;
            if (take <= 0) continue;
            rng.Shuffle(members);
            picked.AddRange(members.Take(take));
        }
        return picked;
    }
}
