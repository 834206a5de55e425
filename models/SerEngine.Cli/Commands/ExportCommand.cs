using System.Globalization;
using SerEngine.Models.Data;
using SerEngine.Models.Training;
using SerEngine.Onnx;

namespace SerEngine.Cli.Commands;

/// <summary>
/// <c>ser export --checkpoint F --onnx OUT.onnx [--sample S.json]</c>: the checkpoint's network as an
/// ONNX model (opset 17, eval mode, input <c>features</c>, output <c>logits</c>, labels and front end
/// in the metadata), written atomically. <c>--sample</c> also writes seeded inputs and the engine's
/// logits for them, which tests/onnx/validate_onnx.py compares with another runtime's.
/// </summary>
public sealed class ExportCommand : ICommand
{
    /// <inheritdoc/>
    public string Name => "export";

    /// <inheritdoc/>
    public string Summary => "export a checkpoint's network as an ONNX model";

    /// <inheritdoc/>
    public string Usage => "export --checkpoint F --onnx OUT.onnx [--sample S.json]";

    /// <inheritdoc/>
    public IReadOnlyList<OptionSpec> Options { get; } =
    [
        new("--checkpoint", "F", "a checkpoint written by 'ser train' (foldI/best.safetensors)"),
        new("--onnx", "OUT", "the ONNX file to write (replaced atomically)"),
        new("--sample", "FILE", "also write sample inputs and this engine's logits for them as JSON"),
    ];

    /// <inheritdoc/>
    public int Run(ParsedArgs args, TextWriter stdout, TextWriter stderr)
    {
        if (args.Positionals.Count > 0) throw new UsageException($"export takes no positional arguments, got '{args.Positionals[0]}' (usage: ser {Usage})");
        var checkpointPath = args.Value("--checkpoint") ?? throw new UsageException($"export needs --checkpoint F (usage: ser {Usage})");
        var onnxPath = args.Value("--onnx") ?? throw new UsageException($"export needs --onnx OUT.onnx (usage: ser {Usage})");
        var samplePath = args.Value("--sample");
        foreach (var p in samplePath is null ? [onnxPath] : new[] { onnxPath, samplePath })
        {
            var dir = Path.GetDirectoryName(Path.GetFullPath(p));
            if (dir is not null && !Directory.Exists(dir)) throw new DatasetException($"cannot write {p}: folder {dir} does not exist");
            if (Directory.Exists(p)) throw new DatasetException($"cannot write {p}: it is a folder");
        }
        var model = ModelCommandOptions.LoadCheckpoint(checkpointPath).CreateModel(Backends.BackendRegistry.Get("cpu"));
        var proto = OnnxExporter.Export(model);
        OnnxExporter.Save(proto, onnxPath);
        long bytes = new FileInfo(onnxPath).Length;
        stdout.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{onnxPath}: {model.Kind} as ONNX opset {OnnxExporter.Opset}, {proto.Graph.Node.Count} nodes, {proto.Graph.Initializer.Count} initializers, {bytes:N0} bytes"));
        if (samplePath is not null)
        {
            JsonUtil.WriteFileAtomic(samplePath, OnnxSample.Build(model));
            stdout.WriteLine($"{samplePath}: sample inputs and engine logits ({OnnxSample.TimeLengths(model).Length} cases)");
        }
        return 0;
    }
}
