namespace SerEngine.Models.Training;

/// <summary>Where training reports what it does.</summary>
public interface ITrainingLog
{
    /// <summary>A line to keep (an epoch's result, a fold's summary).</summary>
    void Line(string text);

    /// <summary>
    /// Transient progress inside long work: a status line on a terminal. Without one it is dropped,
    /// unless <paramref name="milestone"/> (a coarse step such as every tenth of the features), then it is a plain line.
    /// </summary>
    void Progress(string text, bool milestone = false);
}

/// <summary>
/// A log on a text writer. Interactive (a terminal): progress rewrites one status line with
/// carriage returns. Otherwise only milestones are printed, as plain lines, so redirected output
/// stays readable.
/// </summary>
public sealed class TextTrainingLog(TextWriter writer, bool interactive) : ITrainingLog
{
    private int _statusLength;

    /// <inheritdoc/>
    public void Line(string text)
    {
        ClearStatus();
        writer.WriteLine(text);
        writer.Flush();
    }

    /// <inheritdoc/>
    public void Progress(string text, bool milestone = false)
    {
        if (interactive)
        {
            var padded = text.Length < _statusLength ? text.PadRight(_statusLength) : text;
            writer.Write("\r" + padded);
            writer.Flush();
            _statusLength = text.Length;
            return;
        }
        if (milestone)
        {
            writer.WriteLine(text);
            writer.Flush();
        }
    }

    /// <summary>Erases the status line, if one is shown.</summary>
    public void ClearStatus()
    {
        if (_statusLength == 0) return;
        writer.Write("\r" + new string(' ', _statusLength) + "\r");
        _statusLength = 0;
    }
}

/// <summary>A log that keeps nothing.</summary>
public sealed class NullTrainingLog : ITrainingLog
{
    /// <summary>The instance.</summary>
    public static NullTrainingLog Instance { get; } = new();

    /// <inheritdoc/>
    public void Line(string text) { }

    /// <inheritdoc/>
    public void Progress(string text, bool milestone = false) { }
}
