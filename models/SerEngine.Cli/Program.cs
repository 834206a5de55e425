namespace SerEngine.Cli;

/// <summary>Entry point of the <c>ser</c> command.</summary>
public static class Program
{
    /// <summary>Runs a command; returns the process exit code.</summary>
    public static int Main(string[] args)
    {
        JitProfile.Start(args);
        return CliApp.Run(args, Console.Out, Console.Error);
    }
}
