using SerEngine.Models.Data;
using SerEngine.Models.Training;

namespace SerEngine.Tests.Models;

public class SplitAndMetricTests
{
    /// <summary>A data set of files that are never read: speakers × labels × count.</summary>
    private static Dataset Fake(int speakers, string[] labels, int perClass, Func<int, string>? group = null)
    {
        var items = new List<Utterance>();
        for (int s = 0; s < speakers; s++)
            foreach (var l in labels)
                for (int i = 0; i < perClass; i++)
                {
                    string spk = $"s{s + 1:00}";
                    items.Add(new Utterance($"{spk}/{l}/{i}", l, spk, group?.Invoke(s) ?? spk, $"/nonexistent/{spk}_{l}_{i}.wav"));
                }
        return new Dataset("fake", DatasetFormat.Folders, "/fake", items, labels);
    }

    [Fact]
    public void SpeakerFoldsAreDisjointContiguousAndCoverEveryUtterance()
    {
        var data = Fake(7, ["a", "b", "c"], 4);
        var options = new TrainOptions { Folds = 3, ValidationFraction = 0.25, Seed = 5 };
        var seen = new HashSet<int>();
        for (int f = 1; f <= 3; f++)
        {
            var plan = Splits.Plan(data, options, f);
            var testSpeakers = plan.Test.Select(i => data.Utterances[i].Speaker).ToHashSet();
            var trainSpeakers = plan.Train.Concat(plan.Validation).Select(i => data.Utterances[i].Speaker).ToHashSet();
            Assert.Empty(testSpeakers.Intersect(trainSpeakers));
            Assert.Empty(plan.Train.Intersect(plan.Validation));
            Assert.Equal(data.Utterances.Count, plan.Train.Length + plan.Validation.Length + plan.Test.Length);
            foreach (var i in plan.Test) Assert.True(seen.Add(i));
            // validation: a quarter of each class of the training speakers, rounded
            int trainPerClass = trainSpeakers.Count * 4;
            foreach (var l in data.Labels)
                Assert.Equal((int)Math.Round(0.25 * trainPerClass, MidpointRounding.AwayFromZero), plan.Validation.Count(i => data.Utterances[i].Label == l));
        }
        Assert.Equal(data.Utterances.Count, seen.Count);
        // 7 groups into 3 folds: ⌊7f/3⌋ boundaries → 2, 2, 3 speakers
        Assert.Equal("test speakers s01, s02", Splits.Plan(data, options, 1).Description);
        Assert.Equal("test speakers s05, s06, s07", Splits.Plan(data, options, 3).Description);
        // same seed, same split
        Assert.Equal(Splits.Plan(data, options, 2).Validation, Splits.Plan(data, options, 2).Validation);
    }

    [Fact]
    public void SessionGroupsMakeLeaveOneSessionOutFolds()
    {
        var data = Fake(10, ["neutral", "sad"], 2, s => $"Session{s / 2 + 1}");
        var plan = Splits.Plan(data, new TrainOptions { Folds = 5 }, 3);
        Assert.All(plan.Test, i => Assert.Equal("Session3", data.Utterances[i].Group));
        Assert.Equal(8, plan.Test.Length);
        Assert.Equal(["s05", "s06"], plan.Test.Select(i => data.Utterances[i].Speaker).Distinct().Order());
    }

    [Fact]
    public void RandomFoldsPartitionTheUtterances()
    {
        var data = Fake(2, ["a", "b"], 10);
        var options = new TrainOptions { Split = SplitKind.Random, Folds = 4, ValidationFraction = 0 };
        var all = Enumerable.Range(1, 4).SelectMany(f => Splits.Plan(data, options, f).Test).ToList();
        Assert.Equal(Enumerable.Range(0, 40), all.Order());
        Assert.Empty(Splits.Plan(data, options, 1).Validation);
        var other = Splits.Plan(data, options with { Seed = 99 }, 1).Test;
        Assert.NotEqual(Splits.Plan(data, options, 1).Test, other);
    }

    [Fact]
    public void TestListMatchesIdsFileNamesAndRejectsUnknownEntries()
    {
        var data = Fake(2, ["a", "b"], 2);
        var list = Path.GetTempFileName();
        try
        {
            File.WriteAllLines(list, ["# test set", "s01/a/0", "", "s02_b_1.wav"]);
            var plan = Splits.Plan(data, new TrainOptions { Split = SplitKind.List, TestList = list, ValidationFraction = 0 }, 1);
            Assert.Equal(["s01/a/0", "s02/b/1"], plan.Test.Select(i => data.Utterances[i].Id));
            Assert.Equal(6, plan.Train.Length);
            Assert.Equal(1, plan.Folds);
            File.WriteAllLines(list, ["nobody.wav"]);
            Assert.Contains("line 1: 'nobody.wav' is not an utterance", Assert.Throws<DatasetException>(() => Splits.Plan(data, new TrainOptions { Split = SplitKind.List, TestList = list }, 1)).Message);
        }
        finally { File.Delete(list); }
    }

    [Fact]
    public void TooFewSpeakersOrNoSpeakerInformationIsAClearError()
    {
        var data = Fake(2, ["a", "b"], 3);
        var e = Assert.Throws<DatasetException>(() => Splits.Plan(data, new TrainOptions { Folds = 5 }, 1));
        Assert.Contains("needs at least 5 speakers; /fake has 2 (use --folds 2 or --split random)", e.Message);
        var unknown = new Dataset("f", DatasetFormat.Folders, "/u", [.. data.Utterances.Select(u => u with { Speaker = "unknown", Group = "unknown" })]);
        Assert.Contains("no speaker information", Assert.Throws<DatasetException>(() => Splits.Plan(unknown, new TrainOptions { Folds = 2 }, 1)).Message);
    }

    [Fact]
    public void MetricsGiveWaUaRecallAndConfusion()
    {
        // truth: 4 a, 2 b, 2 c (c never predicted right); predictions below
        int[] truth = [0, 0, 0, 0, 1, 1, 2, 2];
        int[] pred = [0, 0, 0, 1, 1, 0, 0, 1];
        var m = ClassificationMetrics.From(truth, pred, ["a", "b", "c", "d"]);
        Assert.Equal(4.0 / 8, m.WeightedAccuracy, 12);
        Assert.Equal((0.75 + 0.5 + 0.0) / 3, m.UnweightedAccuracy, 12); // d has no utterances: left out of UA
        Assert.True(double.IsNaN(m.Recall[3]));
        Assert.Equal(3, m.Confusion[0, 0]);
        Assert.Equal(1, m.Confusion[0, 1]);
        Assert.Equal(1, m.Confusion[2, 0]);
        Assert.Equal(1, m.Confusion[2, 1]);
        Assert.Equal([4, 2, 2, 0], m.Support);
        Assert.Equal("WA=0.500 UA=0.417", m.Summary);
        var json = SerEngine.Models.Training.JsonUtil.Build(m.WriteJson);
        Assert.Contains("\"confusion\":[[3,1,0,0],[1,1,0,0],[1,1,0,0],[0,0,0,0]]", json);
        Assert.Contains("\"d\":null", json);
    }

    [Fact]
    public void EpochOrderIsSeededAndBalancedSamplingEvensOutTheClasses()
    {
        int[] labels = [.. Enumerable.Repeat(0, 90), .. Enumerable.Repeat(1, 10)];
        var a = FoldTrainer.EpochOrder(labels, 2, false, new Generator(3));
        var b = FoldTrainer.EpochOrder(labels, 2, false, new Generator(3));
        Assert.Equal(a, b);
        Assert.Equal(Enumerable.Range(0, 100), a.Order());
        var rng = new Generator(4);
        int minority = 0;
        for (int r = 0; r < 20; r++) minority += FoldTrainer.EpochOrder(labels, 2, true, rng).Count(i => labels[i] == 1);
        Assert.InRange(minority / 2000.0, 0.45, 0.55); // half the draws, not a tenth
    }

    [Fact]
    public void SegmentStartsCoverTheUtterance()
    {
        var s = new SegmentSettings(Frames: 63, TrainHop: 31, EvalHop: 13);
        Assert.Equal([0], s.Starts(40, 31));
        Assert.Equal([0], s.Starts(63, 31));
        Assert.Equal([0, 31, 62, 93, 97], s.Starts(160, 31)); // last segment ends on the last frame
        Assert.Equal([0, 13, 26, 28], s.Starts(91, 13));
    }

    [Fact]
    public void SeedsAreDistinctPerPathAndStable()
    {
        Assert.Equal(Seeds.Derive(1, 2, 3), Seeds.Derive(1, 2, 3));
        Assert.NotEqual(Seeds.Derive(1, 2, 3), Seeds.Derive(1, 3, 2));
        Assert.NotEqual(Seeds.Derive(1, 2), Seeds.Derive(2, 2));
    }
}
