namespace SerEngine.Cli;

/// <summary>A command-line mistake: <see cref="CliApp"/> prints it as one line and exits with 2.</summary>
public sealed class UsageException(string message) : Exception(message);

/// <summary>One option a command accepts.</summary>
/// <param name="Name">The long name with its dashes (<c>--backend</c>).</param>
/// <param name="ValueName">The value's name in help (<c>NAME</c>), or null for a flag.</param>
/// <param name="Help">One line of help.</param>
/// <param name="Repeatable">Whether it may be given more than once.</param>
/// <param name="Choices">The words its value may be, where it is one of a few (shell completion offers them).</param>
public sealed record OptionSpec(string Name, string? ValueName, string Help, bool Repeatable = false, IReadOnlyList<string>? Choices = null)
{
    /// <summary>True when the option takes a value.</summary>
    public bool TakesValue => ValueName is not null;
}

/// <summary>
/// The parsed arguments of one command: positionals in order and option values by name. Accepts
/// <c>--name value</c>, <c>--name=value</c> and flags; <c>--</c> ends the options.
/// </summary>
public sealed class ParsedArgs
{
    private readonly Dictionary<string, List<string>> _values = new(StringComparer.Ordinal);
    private readonly HashSet<string> _flags = new(StringComparer.Ordinal);

    /// <summary>Positional arguments, in order.</summary>
    public List<string> Positionals { get; } = [];

    /// <summary>
    /// Parses <paramref name="args"/> for the command <paramref name="command"/> against
    /// <paramref name="options"/>; throws <see cref="UsageException"/> for an unknown option, a missing
    /// value, a value given to a flag or a non-repeatable option given twice.
    /// </summary>
    public static ParsedArgs Parse(string command, IReadOnlyList<string> args, IReadOnlyList<OptionSpec> options)
    {
        var parsed = new ParsedArgs();
        bool onlyPositionals = false;
        for (int i = 0; i < args.Count; i++)
        {
            var a = args[i];
            if (onlyPositionals || !a.StartsWith('-') || a == "-")
            {
                parsed.Positionals.Add(a);
                continue;
            }
            if (a == "--")
            {
                onlyPositionals = true;
                continue;
            }
            int eq = a.IndexOf('=', StringComparison.Ordinal);
            string name = eq >= 0 ? a[..eq] : a;
            var spec = options.FirstOrDefault(o => o.Name == name)
                ?? throw new UsageException($"unknown option '{name}' for '{command}' (see 'ser help {command}')");
            if (!spec.TakesValue)
            {
                if (eq >= 0) throw new UsageException($"option '{name}' takes no value");
                parsed._flags.Add(name);
                continue;
            }
            string value;
            if (eq >= 0) value = a[(eq + 1)..];
            // "--epochs --seed 3": the next option is not this one's value (negative numbers still are)
            else if (i + 1 < args.Count && !args[i + 1].StartsWith("--", StringComparison.Ordinal)) value = args[++i];
            else if (i + 1 < args.Count) throw new UsageException($"{name} needs a value ({spec.ValueName}), got option '{args[i + 1]}' after it");
            else throw new UsageException($"{name} needs a value ({spec.ValueName})");
            if (!parsed._values.TryGetValue(name, out var list)) parsed._values[name] = list = [];
            else if (!spec.Repeatable) throw new UsageException($"option '{name}' given more than once");
            list.Add(value);
        }
        return parsed;
    }

    /// <summary>The value of a single-valued option, or <paramref name="fallback"/>.</summary>
    public string? Value(string name, string? fallback = null) =>
        _values.TryGetValue(name, out var v) ? v[^1] : fallback;

    /// <summary>Every value of a repeatable option (empty when absent).</summary>
    public IReadOnlyList<string> Values(string name) =>
        _values.TryGetValue(name, out var v) ? v : [];

    /// <summary>True when the flag was given.</summary>
    public bool Flag(string name) => _flags.Contains(name);
}
