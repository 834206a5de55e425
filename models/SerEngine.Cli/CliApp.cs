using SerEngine.Cli.Commands;
using SerEngine.Conformance;

namespace SerEngine.Cli;

/// <summary>
/// The <c>ser</c> commands, callable in-process (tests use this). <c>ser COMMAND ...</c> picks a
/// command from <see cref="Commands"/> and hands it the rest of the arguments, parsed against its
/// options. Every error is one line <c>ser: MESSAGE</c> on stderr: usage mistakes exit with 2,
/// failures with 1; no stack trace reaches the user.
/// </summary>
public static class CliApp
{
    // the ILGPU backends live in their own package: registered here, once, before any command runs
    static CliApp() => IlgpuRegistration.Register();

    /// <summary>Every command, in the order help lists them. A new command is one file in Commands/ and one line here.</summary>
    public static IReadOnlyList<ICommand> Commands { get; } =
    [
        new TrainCommand(),
        new EvalCommand(),
        new PredictCommand(),
        new ExplainCommand(),
        new ExportCommand(),
        new CorpusCommand(),
        new ConformanceCommand(),
        new InfoCommand(),
        new FeaturesCommand(),
        new DevicesCommand(),
        new BenchCommand(),
        new CompletionCommand(),
        new HelpCommand(),
    ];

    /// <summary>Runs <paramref name="args"/>, writing to the given streams; returns the exit code.</summary>
    public static int Run(string[] args, TextWriter stdout, TextWriter stderr)
    {
        try
        {
            return Dispatch(args, stdout, stderr);
        }
        catch (AggregateException ex) when (ex.InnerExceptions.Count > 0)
        {
            // parallel work (corpus, features) fails with many copies of one cause: report the first
            var first = ex.Flatten().InnerExceptions[0];
            stderr.WriteLine($"ser: {OneLine(first.Message)}");
            return first is UsageException ? 2 : 1;
        }
        catch (UsageException ex)
        {
            stderr.WriteLine($"ser: {OneLine(ex.Message)}");
            return 2;
        }
        catch (OutOfMemoryException)
        {
            // inputs are bounded before allocating, so this is a model or batch too large for the machine
            double gb = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / 1e9;
            stderr.WriteLine(string.Create(System.Globalization.CultureInfo.InvariantCulture,
                $"ser: out of memory running 'ser {OneLine(string.Join(' ', args.Take(8)))}{(args.Length > 8 ? " ..." : "")}' ({gb:0.#} GB available to this process); a smaller model (--widths, --heads), --batch or input may fit"));
            return 1;
        }
#pragma warning disable CA1031 // the top of the program: every failure becomes one line and exit 1
        catch (Exception ex)
#pragma warning restore CA1031
        {
            stderr.WriteLine($"ser: {OneLine(ex.Message)}");
            return 1;
        }
    }

    /// <summary>
    /// Registers the conformance fixture handlers of every assembly the CLI knows: the single place
    /// where the models' and the audio front end's handlers are added. Safe to call repeatedly.
    /// </summary>
    public static void RegisterHandlers()
    {
        FixtureHandlers.Register(FixtureHandlers.Engine);
        FixtureHandlers.Register(Models.Conformance.ModelFixtureHandlers.All);
        FixtureHandlers.Register(Audio.Conformance.AudioFixtureHandlers.All);
    }

    /// <summary>The command called <paramref name="name"/>, or a usage error listing the known ones.</summary>
    public static ICommand FindCommand(string name) =>
        Commands.FirstOrDefault(c => c.Name == name)
        ?? throw new UsageException($"unknown command '{name}' (commands: {string.Join(", ", Commands.Select(c => c.Name))}; see 'ser help')");

    /// <summary>
    /// How this <c>ser</c> was built and what its cpu backend runs: NativeAOT code is compiled for one instruction set
    /// when published, managed code for this CPU when run (the two train to the same bits; their speed differs).
    /// </summary>
    public static string BuildLine =>
        $"build: {(System.Runtime.CompilerServices.RuntimeFeature.IsDynamicCodeSupported ? $"managed (.NET {Environment.Version}, JIT-compiled for this CPU)" : "native (NativeAOT, compiled ahead for one instruction set)")}, " +
        $"cpu SIMD {SerEngine.Backends.Cpu.CpuBackend.SimdBits}-bit";

    /// <summary>The program's version (the package version, without the source revision).</summary>
    public static string Version =>
        (System.Reflection.CustomAttributeExtensions.GetCustomAttribute<System.Reflection.AssemblyInformationalVersionAttribute>(typeof(CliApp).Assembly)
            ?.InformationalVersion ?? "0.0.0").Split('+')[0];

    /// <summary>A message on one line.</summary>
    public static string OneLine(string message) => message.ReplaceLineEndings(" ").Trim();

    private static int Dispatch(string[] args, TextWriter stdout, TextWriter stderr)
    {
        if (args.Length == 0) throw new UsageException("no command given (see 'ser help')");
        var first = args[0];
        if (first is "--help" or "-h")
        {
            HelpCommand.WriteOverview(stdout);
            return 0;
        }
        if (first == "--version")
        {
            stdout.WriteLine($"ser {Version}");
            stdout.WriteLine(BuildLine);
            return 0;
        }
        if (first.StartsWith('-')) throw new UsageException($"unknown option '{first}' (commands come first; see 'ser help')");
        var command = FindCommand(first);
        var rest = args[1..];
        if (rest.Any(a => a is "--help" or "-h"))
        {
            HelpCommand.WriteCommand(command, stdout);
            return 0;
        }
        return command.Run(ParsedArgs.Parse(command.Name, rest, command.Options), stdout, stderr);
    }
}
