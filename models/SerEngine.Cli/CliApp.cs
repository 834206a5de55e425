namespace SerEngine.Cli;

// TODO(stub): command dispatch.
/// <summary>The <c>ser</c> commands, callable in-process (tests use this).</summary>
public static class CliApp
{
    /// <summary>Runs <paramref name="args"/>, writing to the given streams; returns the exit code.</summary>
    public static int Run(string[] args, TextWriter stdout, TextWriter stderr)
    {
        stderr.WriteLine("ser: no commands yet");
        return 2;
    }
}
