using SerEngine.Backends;

namespace SerEngine.Cli.Commands;

/// <summary><c>ser devices</c>: every registered backend with its device, or why it is unavailable.</summary>
public sealed class DevicesCommand : ICommand
{
    /// <inheritdoc/>
    public string Name => "devices";

    /// <inheritdoc/>
    public string Summary => "list the backends and their devices";

    /// <inheritdoc/>
    public string Usage => "devices";

    /// <inheritdoc/>
    public IReadOnlyList<OptionSpec> Options { get; } = [];

    /// <inheritdoc/>
    public int Run(ParsedArgs args, TextWriter stdout, TextWriter stderr)
    {
        if (args.Positionals.Count != 0) throw new UsageException($"devices takes no arguments, got '{args.Positionals[0]}'");
        var names = BackendRegistry.Names;
        int width = names.Max(n => n.Length);
        foreach (var name in names)
        {
            string line;
            try
            {
                var backend = BackendRegistry.Get(name);
                line = backend.DeviceName;
                if (backend is SerEngine.Backends.Gpu.GpuBackend gpu) line += "; " + SoftmaxChoice(gpu);
            }
#pragma warning disable CA1031 // a backend that cannot start is listed with its reason
            catch (Exception ex)
#pragma warning restore CA1031
            {
                line = $"unavailable: {CliApp.OneLine(ex.Message)}";
            }
            stdout.WriteLine($"{name.PadRight(width)}  {line}");
        }
        stdout.WriteLine();
        stdout.Write(GpuBackends.ListDevices());
        stdout.Write(IlgpuRegistration.ListDevices());
        return 0;
    }

    /// <summary>The softmax variant a GPU backend runs and what its device says about subgroups, or why the variant asked for is refused.</summary>
    private static string SoftmaxChoice(SerEngine.Backends.Gpu.GpuBackend gpu)
    {
        try
        {
            return $"softmax {gpu.SoftmaxVariant} (subgroups: {gpu.SubgroupDescription})";
        }
        catch (Exception ex) when (ex is NotSupportedException or ArgumentException)
        {
            return $"softmax: {CliApp.OneLine(ex.Message)}";
        }
    }
}
