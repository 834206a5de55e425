using SerEngine.Bench;

namespace SerEngine.Tests.Bench;

/// <summary>The one timing rule of <c>ser bench</c>, its profiles and the kernel lab.</summary>
public class TimingHarnessTests
{
    [Fact]
    public void WarmsUpThenTimesAtLeastTheRunsAsked()
    {
        int calls = 0, syncs = 0, warmedUpAt = -1;
        var t = TimingHarness.Measure(() => calls++, new TimingOptions { WarmupRuns = 2, MinRuns = 7 }, () => syncs++, () => warmedUpAt = calls);
        Assert.Equal(2, warmedUpAt);
        Assert.Equal(7, t.Runs);
        Assert.Equal(1, t.CallsPerRun);
        Assert.Equal(9, calls);
        Assert.Equal(9, syncs); // every run, warm-ups too, ends with the synchronisation
        Assert.True(t.MinMs <= t.MedianMs && t.MinMs * t.Runs <= t.TotalMs);
    }

    [Fact]
    public void KeepsTimingShortCallsUntilMinSecondsUpToMaxRuns()
    {
        var t = TimingHarness.Measure(() => { }, new TimingOptions { WarmupRuns = 0, MinRuns = 3, MinSeconds = 10, MaxRuns = 25 });
        Assert.Equal(25, t.Runs);
    }

    [Fact]
    public void BatchesShortCallsIntoRunsOfAboutMinRunMilliseconds()
    {
        var t = TimingHarness.Measure(() => Thread.SpinWait(10), new TimingOptions { WarmupRuns = 0, MinRuns = 7, MaxRuns = 7, MinRunMilliseconds = 5 });
        Assert.Equal(7, t.Runs);                  // exactly MinRuns when MaxRuns says so (the lab's rule)
        Assert.True(t.CallsPerRun > 1, $"{t.CallsPerRun} calls per run"); // sized by one warm-up even when none was asked
        Assert.InRange(t.CallsPerRun, 1, TimingHarness.MaxCallsPerRun);
    }

    [Fact]
    public void RefusesZeroRuns() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => TimingHarness.Measure(() => { }, new TimingOptions { MinRuns = 0 }));
}
