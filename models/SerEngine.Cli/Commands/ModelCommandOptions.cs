using System.Globalization;
using SerEngine.Backends;
using SerEngine.Models.Data;
using SerEngine.Models.Training;

namespace SerEngine.Cli.Commands;

/// <summary>Option parsing shared by <c>train</c>, <c>eval</c> and <c>predict</c>: numbers, the backend, the data set, the log.</summary>
internal static class ModelCommandOptions
{
    /// <summary>The <c>--backend</c> option.</summary>
    public static OptionSpec Backend { get; } = new("--backend", "NAME", "backend to run on (default: cpu; see 'ser devices')");

    /// <summary>The backend named by <c>--backend</c> (cpu by default); unknown names are usage errors.</summary>
    public static Backend GetBackend(ParsedArgs args) => GetBackend(args.Value("--backend", "cpu")!);

    /// <summary>The registered backend <paramref name="name"/>; an unknown name is a usage error listing the known ones.</summary>
    public static Backend GetBackend(string name)
    {
        if (!BackendRegistry.Names.Contains(name, StringComparer.OrdinalIgnoreCase))
            throw new UsageException($"unknown backend '{name}' (known: {string.Join(", ", BackendRegistry.Names)})");
        return BackendRegistry.Get(name);
    }

    /// <summary>An integer option within [min, max].</summary>
    public static int? Int(ParsedArgs args, string name, int min = int.MinValue, int max = int.MaxValue)
    {
        var v = args.Value(name);
        if (v is null) return null;
        bool parsed = int.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out int x);
        if (!parsed || x < min || x > max)
        {
            // digits that overflow int are "too large", not "not a number"
            string why = !parsed && System.Numerics.BigInteger.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out _) ? " (too large)" : "";
            throw new UsageException(max == int.MaxValue
                ? $"option '{name}' needs a whole number ≥ {min}, got '{v}'{why}"
                : $"option '{name}' needs a whole number in {min}..{max}, got '{v}'{why}");
        }
        return x;
    }

    /// <summary>A non-negative number option.</summary>
    public static double? Number(ParsedArgs args, string name, double min = 0, double maxExclusive = double.PositiveInfinity)
    {
        var v = args.Value(name);
        if (v is null) return null;
        if (!double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out double x) || !double.IsFinite(x) || x < min || x >= maxExclusive)
            throw new UsageException(double.IsPositiveInfinity(maxExclusive)
                ? $"option '{name}' needs a number ≥ {min.ToString(CultureInfo.InvariantCulture)}, got '{v}'"
                : $"option '{name}' needs a number in [{min.ToString(CultureInfo.InvariantCulture)}, {maxExclusive.ToString(CultureInfo.InvariantCulture)}), got '{v}'");
        return x;
    }

    /// <summary>Loads the checkpoint <paramref name="path"/>; a folder is refused with a hint at the file inside it.</summary>
    public static Checkpoint LoadCheckpoint(string path)
    {
        if (Directory.Exists(path))
            throw new CheckpointException($"--checkpoint '{path}' is a folder; expected a checkpoint file such as {Path.Combine(path, "fold1", FoldTrainer.BestFile)}");
        return Checkpoint.Load(path);
    }

    /// <summary>Refuses an input file that is missing or a folder; <paramref name="expected"/> says what the command takes.</summary>
    public static void InputFile(string path, string expected)
    {
        if (Directory.Exists(path)) throw new DatasetException($"{path} is a folder; {expected}");
        if (!File.Exists(path)) throw new DatasetException($"{path} does not exist");
    }

    /// <summary>Refuses an output file <paramref name="path"/> of <paramref name="option"/> that is a folder or whose folder does not exist.</summary>
    public static void OutputFile(string option, string path)
    {
        if (Directory.Exists(path)) throw new UsageException($"{option} '{path}' is a folder; expected a file to write");
        var dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (dir is not null && !Directory.Exists(dir)) throw new DatasetException($"{option} '{path}': folder '{dir}' does not exist");
    }

    /// <summary>Refuses an output folder <paramref name="path"/> of <paramref name="option"/> that is a file or lies under one (it is created when missing).</summary>
    public static void OutputFolder(string option, string path)
    {
        for (var p = Path.GetFullPath(path); p is not null && !Directory.Exists(p); p = Path.GetDirectoryName(p))
            if (File.Exists(p))
                throw new UsageException(p == Path.GetFullPath(path)
                    ? $"{option} '{path}' is a file; expected an output folder"
                    : $"{option} '{path}': '{p}' is a file, not a folder");
    }

    /// <summary>Loads <c>--data</c> with <c>--format</c>.</summary>
    public static Dataset LoadData(ParsedArgs args, string dataPath)
    {
        DatasetFormat format;
        try { format = Dataset.ParseFormat(args.Value("--format", "auto")!); }
        catch (ArgumentException ex) { throw new UsageException(ex.Message); }
        return DatasetReader.Load(dataPath, format);
    }

    /// <summary>The training log on stdout: a rewritten status line on a terminal, plain lines otherwise.</summary>
    public static TextTrainingLog Log(TextWriter stdout)
    {
        bool interactive = ReferenceEquals(stdout, Console.Out) && !Console.IsOutputRedirected;
        return new TextTrainingLog(stdout, interactive);
    }
}
