namespace SerEngine.Audio;

/// <summary>
/// An audio file the reader refuses: truncated, inconsistent or in an unsupported encoding. The
/// message is one line naming the file, the byte offset, and what was expected versus found.
/// </summary>
public sealed class AudioFormatException : FormatException
{
    /// <summary>Creates the exception; the message is built from its parts.</summary>
    /// <param name="source">The file name (or another name for the bytes).</param>
    /// <param name="offset">Byte offset in the file where the problem was found.</param>
    /// <param name="problem">What is wrong, with expected versus found values.</param>
    public AudioFormatException(string source, long offset, string problem)
        : base($"{source}: at byte {offset}: {problem}")
    {
        Source = source;
        Offset = offset;
        Problem = problem;
    }

    /// <summary>The file name the message names.</summary>
    public new string Source { get; }

    /// <summary>Byte offset of the problem.</summary>
    public long Offset { get; }

    /// <summary>The problem without the file and offset prefix.</summary>
    public string Problem { get; }
}
