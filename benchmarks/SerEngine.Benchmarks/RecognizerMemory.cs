using System.Diagnostics;
using System.Globalization;
using SerEngine.Models;

namespace SerEngine.Benchmarks;

/// <summary>
/// <c>dotnet SerEngine.Benchmarks.dll memory CHECKPOINT WAV [CALLS]</c>: what an application embedding one
/// <see cref="EmotionRecognizer"/> holds in memory — the process's working set and peak before
/// <c>Load</c>, after it, after CALLS (default 20) <c>Predict</c> calls on WAV, and the managed heap after
/// a full collection (README, Embedding). Run it alone: the figures are the whole process's.
/// </summary>
public static class RecognizerMemory
{
    /// <summary>Runs the measurement; returns the exit code (2 for a usage mistake).</summary>
    public static int Run(string[] args, TextWriter output)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(output);
        int calls = 20;
        if (args.Length is < 2 or > 3 || (args.Length == 3 && (!int.TryParse(args[2], NumberStyles.None, CultureInfo.InvariantCulture, out calls) || calls < 1)))
        {
            output.WriteLine("usage: memory CHECKPOINT WAV [CALLS ≥ 1]");
            return 2;
        }
        using var process = Process.GetCurrentProcess();
        void Show(string what)
        {
            process.Refresh();
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{what,-30} working set {process.WorkingSet64 / 1048576.0,7:0.0} MB  peak {process.PeakWorkingSet64 / 1048576.0,7:0.0} MB  managed heap {GC.GetTotalMemory(false) / 1048576.0,7:0.0} MB"));
        }
        Show("the runtime alone");
        using var recognizer = EmotionRecognizer.Load(args[0]);
        Show("after Load");
        for (int i = 0; i < calls; i++) recognizer.Predict(args[1]);
        Show($"after {calls} Predict calls");
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        Show("after a full collection");
        return 0;
    }
}
