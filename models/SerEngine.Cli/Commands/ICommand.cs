namespace SerEngine.Cli.Commands;

/// <summary>
/// One <c>ser</c> command. Adding a command = one file implementing this interface plus one line in
/// <see cref="CliApp.Commands"/>.
/// </summary>
public interface ICommand
{
    /// <summary>The word that selects it (<c>conformance</c>).</summary>
    string Name { get; }

    /// <summary>One line for the command list.</summary>
    string Summary { get; }

    /// <summary>The usage line after <c>ser </c>, e.g. <c>conformance DIR [options]</c>.</summary>
    string Usage { get; }

    /// <summary>The options it accepts (<c>--help</c> is handled for every command).</summary>
    IReadOnlyList<OptionSpec> Options { get; }

    /// <summary>Runs with the parsed arguments; returns the exit code. Usage mistakes throw <see cref="UsageException"/>.</summary>
    int Run(ParsedArgs args, TextWriter stdout, TextWriter stderr);
}
