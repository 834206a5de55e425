using System.Diagnostics;
using System.Globalization;

namespace SerEngine.Models.Training;

/// <summary>
/// The rate and time to go of a long loop of <see cref="Total"/> units (feature files, training steps,
/// prediction batches), rendered as one status line with a bar:
/// <c>[########------------]  40%  120/300  12.3 files/s  ETA 0:14</c>. The rate is the units done
/// since the meter started over the time since then; the ETA is the units left at that rate.
/// </summary>
public sealed class ProgressMeter
{
    private const int BarWidth = 20;
    private readonly Func<TimeSpan> _elapsed;
    private readonly long _startDone;

    /// <summary>A meter of <paramref name="total"/> units counting from <paramref name="startDone"/> (units already done, e.g. on resume).</summary>
    public ProgressMeter(long total, string unit, long startDone = 0)
        : this(total, unit, startDone, StartClock())
    {
    }

    /// <summary>A meter reading time from <paramref name="elapsed"/> (tests give a fake clock).</summary>
    public ProgressMeter(long total, string unit, long startDone, Func<TimeSpan> elapsed)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(total);
        ArgumentNullException.ThrowIfNull(elapsed);
        Total = total;
        Unit = unit;
        _startDone = startDone;
        _elapsed = elapsed;
    }

    /// <summary>Units in all.</summary>
    public long Total { get; }

    /// <summary>What a unit is, plural (<c>files</c>, <c>steps</c>).</summary>
    public string Unit { get; }

    /// <summary>The status line for <paramref name="done"/> units done.</summary>
    public string Render(long done)
    {
        done = Math.Clamp(done, 0, Total);
        double fraction = Total == 0 ? 1 : done / (double)Total;
        int filled = (int)Math.Round(fraction * BarWidth);
        var inv = CultureInfo.InvariantCulture;
        string bar = "[" + new string('#', filled) + new string('-', BarWidth - filled) + "]";
        double seconds = _elapsed().TotalSeconds;
        long counted = done - _startDone;
        // a rate needs some work and some time behind it; before that the line says so
        if (counted <= 0 || seconds < 0.2)
            return string.Create(inv, $"{bar} {fraction * 100,3:0}%  {done}/{Total}  -- {Unit}/s  ETA --:--");
        double rate = counted / seconds;
        string eta = FormatDuration(TimeSpan.FromSeconds((Total - done) / rate));
        string rateText = rate >= 10 ? rate.ToString("0", inv) : rate.ToString("0.0", inv);
        return string.Create(inv, $"{bar} {fraction * 100,3:0}%  {done}/{Total}  {rateText} {Unit}/s  ETA {eta}");
    }

    /// <summary>
    /// A (done, total) callback (<see cref="Data.FeatureCache.GetAll"/>'s, prediction's) that shows
    /// <c>WHAT [bar] ...</c> on <paramref name="log"/>'s status line; calls with a total of at least
    /// <paramref name="milestoneFrom"/> are milestones, so piped output keeps a line for them.
    /// </summary>
    public static Action<int, int> Reporter(ITrainingLog log, string what, string unit, int milestoneFrom = int.MaxValue)
    {
        ArgumentNullException.ThrowIfNull(log);
        ProgressMeter? meter = null;
        return (done, total) =>
        {
            if (meter is null || meter.Total != total) meter = new ProgressMeter(total, unit);
            log.Progress($"{what} {meter.Render(done)}", milestone: total >= milestoneFrom);
        };
    }

    private static Func<TimeSpan> StartClock()
    {
        var clock = Stopwatch.StartNew();
        return () => clock.Elapsed;
    }

    /// <summary>m:ss, or h:mm:ss from an hour on.</summary>
    public static string FormatDuration(TimeSpan t)
    {
        long s = (long)Math.Ceiling(t.TotalSeconds);
        return s >= 3600
            ? string.Create(CultureInfo.InvariantCulture, $"{s / 3600}:{s / 60 % 60:00}:{s % 60:00}")
            : string.Create(CultureInfo.InvariantCulture, $"{s / 60}:{s % 60:00}");
    }
}
