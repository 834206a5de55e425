namespace SerEngine.Cli.Commands;

/// <summary><c>ser help [COMMAND]</c>: the command list, or one command's usage and options.</summary>
public sealed class HelpCommand : ICommand
{
    /// <inheritdoc/>
    public string Name => "help";

    /// <inheritdoc/>
    public string Summary => "show this help, or a command's options";

    /// <inheritdoc/>
    public string Usage => "help [COMMAND]";

    /// <inheritdoc/>
    public IReadOnlyList<OptionSpec> Options { get; } = [];

    /// <inheritdoc/>
    public int Run(ParsedArgs args, TextWriter stdout, TextWriter stderr)
    {
        if (args.Positionals.Count == 0)
        {
            WriteOverview(stdout);
            return 0;
        }
        if (args.Positionals.Count > 1) throw new UsageException("help takes at most one command name");
        WriteCommand(CliApp.FindCommand(args.Positionals[0]), stdout);
        return 0;
    }

    /// <summary>Writes the list of commands.</summary>
    public static void WriteOverview(TextWriter w)
    {
        w.WriteLine("ser - SerEngine, a from-scratch deep-learning engine for speech-emotion recognition");
        w.WriteLine();
        w.WriteLine("usage: ser COMMAND [ARGS] [OPTIONS]");
        w.WriteLine();
        w.WriteLine("commands:");
        int width = CliApp.Commands.Max(c => c.Name.Length);
        foreach (var c in CliApp.Commands) w.WriteLine($"  {c.Name.PadRight(width)}  {c.Summary}");
        w.WriteLine();
        w.WriteLine("'ser help COMMAND' or 'ser COMMAND --help' shows a command's options; 'ser --version' the version and how this ser was built.");
    }

    /// <summary>Writes one command's usage and options.</summary>
    public static void WriteCommand(ICommand c, TextWriter w)
    {
        w.WriteLine($"usage: ser {c.Usage}");
        w.WriteLine();
        w.WriteLine(c.Summary);
        if (c.Options.Count == 0) return;
        w.WriteLine();
        w.WriteLine("options:");
        var labels = c.Options.Select(o => o.TakesValue ? $"{o.Name} {o.ValueName}" : o.Name).ToList();
        int width = labels.Max(l => l.Length);
        for (int i = 0; i < labels.Count; i++) w.WriteLine($"  {labels[i].PadRight(width)}  {c.Options[i].Help}");
    }
}
