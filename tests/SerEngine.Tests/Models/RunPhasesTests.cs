using SerEngine.Models.Training;

namespace SerEngine.Tests.Models;

/// <summary>The time line <c>ser train</c> ends with: every phase named, the rest as "other", peak memory in MB.</summary>
public sealed class RunPhasesTests
{
    [Fact]
    public void SummaryNamesEveryPhaseAndTheRest()
    {
        var phases = new RunPhases();
        using (phases.Time(RunPhase.Steps)) Thread.Sleep(30);
        using (phases.Time(RunPhase.Steps)) Thread.Sleep(30);
        Assert.InRange(phases.Seconds(RunPhase.Steps), 0.055, 5);   // both intervals add up
        Assert.Equal(0, phases.Seconds(RunPhase.Test));
        string line = phases.Summary(startupSeconds: 0.25, totalSeconds: 10, peakBytes: 300L << 20);
        Assert.StartsWith("time: start-up 0.3 s, features 0.0 s, steps 0.1 s, validation 0.0 s, checkpoints 0.0 s, test 0.0 s, report 0.0 s, other ", line);
        Assert.EndsWith("(10.0 s in all); peak memory 300 MB", line);
        double other = double.Parse(line.Split("other ")[1].Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(other, 9.6, 9.7);                            // 10 − 0.25 − 0.06…
    }
}
