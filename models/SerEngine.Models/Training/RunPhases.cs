using System.Diagnostics;
using System.Globalization;

namespace SerEngine.Models.Training;

/// <summary>The parts of a <c>ser train</c> run whose wall time <see cref="RunPhases"/> adds up.</summary>
public enum RunPhase
{
    /// <summary>Reading the audio and computing the features (or reading them from the cache).</summary>
    Features,
    /// <summary>Training steps: batching, forward, loss, backward, optimizer step.</summary>
    Steps,
    /// <summary>The after-epoch finite checks and the validation predictions.</summary>
    Validation,
    /// <summary>Writing best.safetensors and last.safetensors.</summary>
    Checkpoints,
    /// <summary>Loading the kept model and predicting the test utterances.</summary>
    Test,
    /// <summary>metrics.json and report.html.</summary>
    Report,
}

/// <summary>
/// Where the wall time of a training run goes, phase by phase, with the process's peak memory: the
/// line <c>ser train</c> prints last, so a slow or heavy run says which part to look at.
/// </summary>
public sealed class RunPhases
{
    private readonly double[] _seconds = new double[Enum.GetValues<RunPhase>().Length];

    /// <summary>Seconds spent in <paramref name="phase"/> so far.</summary>
    public double Seconds(RunPhase phase) => _seconds[(int)phase];

    /// <summary>Times <paramref name="phase"/> until the returned value is disposed (<c>using (phases.Time(RunPhase.Test)) …</c>).</summary>
    public Timer Time(RunPhase phase) => new(this, phase);

    /// <summary>Adds the time from its creation to its disposal to one phase.</summary>
    public readonly struct Timer : IDisposable
    {
        private readonly RunPhases _owner;
        private readonly RunPhase _phase;
        private readonly long _start;

        internal Timer(RunPhases owner, RunPhase phase) => (_owner, _phase, _start) = (owner, phase, Stopwatch.GetTimestamp());

        /// <summary>Stops the timer.</summary>
        public void Dispose() => _owner._seconds[(int)_phase] += Stopwatch.GetElapsedTime(_start).TotalSeconds;
    }

    /// <summary>
    /// <c>time: start-up 0.2 s, features 1.0 s, steps 35.1 s, …, other 0.3 s; peak memory 612 MB</c>: start-up
    /// is the runtime's time before the first phase; other is what no phase covers (planning, logging).
    /// </summary>
    public string Summary(double startupSeconds, double totalSeconds, long peakBytes)
    {
        var parts = new List<string> { Part("start-up", startupSeconds) };
        foreach (var phase in Enum.GetValues<RunPhase>()) parts.Add(Part(phase.ToString().ToLowerInvariant(), Seconds(phase)));
        parts.Add(Part("other", Math.Max(0, totalSeconds - startupSeconds - _seconds.Sum())));
        return string.Create(CultureInfo.InvariantCulture, $"time: {string.Join(", ", parts)} ({totalSeconds:0.0} s in all); peak memory {peakBytes / 1048576.0:0} MB");
    }

    private static string Part(string name, double seconds) => string.Create(CultureInfo.InvariantCulture, $"{name} {seconds:0.0} s");
}
