using SerEngine.Models.Training;

namespace SerEngine.Tests.Models;

/// <summary>
/// The status line of long loops (features, training steps, predictions): bar, percentage, count, rate
/// and ETA from a fake clock; nothing to go on before work and time are behind it; and the log shows it
/// only on a terminal (piped output keeps its plain lines).
/// </summary>
public class ProgressMeterTests
{
    [Fact]
    public void RendersBarCountRateAndEta()
    {
        var now = TimeSpan.Zero;
        var meter = new ProgressMeter(300, "files", 0, () => now);
        Assert.Equal("[--------------------]   0%  0/300  -- files/s  ETA --:--", meter.Render(0));
        now = TimeSpan.FromSeconds(10);
        // 120 done in 10 s: 12 files/s, 180 to go: 15 s
        Assert.Equal("[########------------]  40%  120/300  12 files/s  ETA 0:15", meter.Render(120));
        now = TimeSpan.FromSeconds(40);
        Assert.Equal("[##########----------]  50%  150/300  3.8 files/s  ETA 0:40", meter.Render(150));
        Assert.Equal("[####################] 100%  300/300  7.5 files/s  ETA 0:00", meter.Render(300));
    }

    [Fact]
    public void AResumedMeterCountsOnlyTheWorkItDid()
    {
        var now = TimeSpan.FromSeconds(60);
        var meter = new ProgressMeter(7200, "steps", startDone: 3600, () => now);
        // 36 steps in 60 s since the resume: 0.6 steps/s, 3564 to go: 99 min
        Assert.Equal("[##########----------]  51%  3636/7200  0.6 steps/s  ETA 1:39:00", meter.Render(3636));
    }

    [Fact]
    public void TheLogShowsTheLineOnATerminalOnlyAndMilestonesWhenPiped()
    {
        var terminal = new StringWriter();
        var report = ProgressMeter.Reporter(new TextTrainingLog(terminal, interactive: true), "features:", "files");
        report(5, 10);
        Assert.StartsWith("\rfeatures: [##########----------]  50%  5/10  ", terminal.ToString(), StringComparison.Ordinal);

        var piped = new StringWriter();
        var pipedLog = new TextTrainingLog(piped, interactive: false);
        ProgressMeter.Reporter(pipedLog, "features:", "files")(5, 10);
        Assert.Equal("", piped.ToString());
        ProgressMeter.Reporter(pipedLog, "features:", "files", milestoneFrom: 2000)(1000, 4000);
        Assert.StartsWith("features: [#####---------------]  25%  1000/4000", piped.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain('\r', piped.ToString());
    }

    [Theory]
    [InlineData(0, "0:00")]
    [InlineData(0.2, "0:01")]
    [InlineData(59, "0:59")]
    [InlineData(61, "1:01")]
    [InlineData(3600, "1:00:00")]
    [InlineData(36000 + 61, "10:01:01")]
    public void DurationsAreMinutesOrHours(double seconds, string expected) =>
        Assert.Equal(expected, ProgressMeter.FormatDuration(TimeSpan.FromSeconds(seconds)));
}
