using SerEngine.Backends;
using SerEngine.Conformance;

namespace SerEngine.Cli.Commands;

/// <summary>
/// <c>ser conformance DIR [--backend NAME] [--kind op,module,audio] [--match GLOB]...</c>: runs the
/// fixture files in DIR, prints one PASS/FAIL line per file and a summary; exit 1 when any fails.
/// </summary>
public sealed class ConformanceCommand : ICommand
{
    private static readonly string[] KnownKinds = ["op", "module", "audio"];

    /// <inheritdoc/>
    public string Name => "conformance";

    /// <inheritdoc/>
    public string Summary => "run the PyTorch conformance fixtures in a directory";

    /// <inheritdoc/>
    public string Usage => "conformance DIR [--backend NAME] [--kind op,module,audio] [--match GLOB]...";

    /// <inheritdoc/>
    public IReadOnlyList<OptionSpec> Options { get; } =
    [
        new("--backend", "NAME", "backend to run on (default: cpu; see 'ser devices')"),
        new("--kind", "LIST", "comma-separated kinds to run: op, module, audio (default: all)", Repeatable: true, Choices: ["op", "module", "audio"]),
        new("--match", "GLOB", "run only fixtures whose name matches (* and ?); may repeat", Repeatable: true),
    ];

    /// <inheritdoc/>
    public int Run(ParsedArgs args, TextWriter stdout, TextWriter stderr)
    {
        if (args.Positionals.Count != 1)
            throw new UsageException($"conformance needs exactly one fixture directory, got {args.Positionals.Count} arguments (usage: ser {Usage})");
        var dir = args.Positionals[0];
        var kinds = args.Values("--kind").SelectMany(k => k.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)).ToHashSet(StringComparer.Ordinal);
        foreach (var k in kinds)
            if (!KnownKinds.Contains(k)) throw new UsageException($"unknown fixture kind '{k}' (known: {string.Join(", ", KnownKinds)})");
        var backendName = args.Value("--backend", "cpu")!;
        if (!BackendRegistry.Names.Contains(backendName, StringComparer.OrdinalIgnoreCase))
            throw new UsageException($"unknown backend '{backendName}' (known: {string.Join(", ", BackendRegistry.Names)})");
        var backend = BackendRegistry.Get(backendName);

        CliApp.RegisterHandlers();
        var filter = new ConformanceFilter { Kinds = kinds, Match = args.Values("--match") };
        var result = ConformanceRunner.Run(dir, backend, filter, stdout);
        if (result.Files.Count == 0)
        {
            stderr.WriteLine($"ser: no fixture in '{dir}' matches the filters");
            return 1;
        }
        return result.Failed == 0 ? 0 : 1;
    }
}
