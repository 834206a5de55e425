using System.Globalization;
using Google.Protobuf;
using SerEngine.Models.Data;
using SerEngine.Models.Training;
using SerEngine.Onnx.Proto;

namespace SerEngine.Onnx;

/// <summary>
/// Exports a trained <see cref="SerModel"/> (<c>fcn</c>: AttentionFcn, <c>fca</c>: FocusCalibrationNet)
/// as an ONNX model: opset <see cref="Opset"/>, IR version <see cref="IrVersion"/>, eval-mode graph
/// (BatchNormalization with the running statistics, dropout left out), the network's state dict as
/// float32 initializers under their PyTorch names, input <c>features [batch, C, F, time]</c>
/// (symbolic batch and time), output <c>logits [batch, classes]</c>, producer <c>SerEngine</c> and
/// the labels and front-end settings in <c>metadata_props</c>.
/// </summary>
public static class OnnxExporter
{
    /// <summary>The ai.onnx opset the graphs use (17: supported by onnx ≥ 1.12 and onnxruntime ≥ 1.12).</summary>
    public const int Opset = 17;

    /// <summary>The IR version written (8: the IR of the onnx 1.12 release, which brought opset 17).</summary>
    public const long IrVersion = 8;

    /// <summary>The producer name written.</summary>
    public const string ProducerName = "SerEngine";

    /// <summary>The ONNX model of <paramref name="model"/>.</summary>
    public static ModelProto Export(SerModel model)
    {
        OnnxGraphBuilder graph;
        var metadata = new List<KeyValuePair<string, string>>
        {
            new("model", model.Kind),
            new("description", model.Description),
            new("config", model.ConfigJson()),
            new("labels", JsonUtil.Build(w =>
            {
                w.WriteStartArray();
                foreach (var l in model.Labels) w.WriteStringValue(l);
                w.WriteEndArray();
            })),
            new("features", FeatureSettingsJson.Serialize(model.Features.Settings)),
            new("pad_to_samples", model.Features.PadToSamples.ToString(CultureInfo.InvariantCulture)),
        };
        switch (model)
        {
            case FcnModel fcn:
                graph = AttentionFcnOnnx.Build(fcn.Net, model.Features.Settings.Bins);
                metadata.Add(new("input_layout", "features [batch, 1, F, time]: the per-utterance normalised spectrogram, one whole utterance per item; " +
                    "items of one batch must have the same length (no padding mask)"));
                metadata.Add(new("utterance_logits", "the logits of the whole utterance"));
                break;
            case FcaModel fca:
                graph = FocusCalibrationNetOnnx.Build(fca.Net);
                metadata.Add(new("input_layout", string.Create(CultureInfo.InvariantCulture,
                    $"features [batch, 1, {fca.Net.Config.FreqBins}, time]: MFCC segments of {fca.Segments.Frames} frames (time >= 8 accepted)")));
                metadata.Add(new("segment_frames", fca.Segments.Frames.ToString(CultureInfo.InvariantCulture)));
                metadata.Add(new("eval_hop_frames", fca.Segments.EvalHop.ToString(CultureInfo.InvariantCulture)));
                metadata.Add(new("utterance_logits", "the mean of the logits of the utterance's segments (eval hop), zero-padded to one segment when shorter"));
                break;
            default:
                throw new NotSupportedException($"ONNX export knows fcn and fca models, not '{model.Kind}'");
        }
        return Wrap(graph, metadata, model.Description);
    }

    /// <summary>A <see cref="ModelProto"/> around a built graph, with the opset, producer and <paramref name="metadata"/>.</summary>
    public static ModelProto Wrap(OnnxGraphBuilder graph, IEnumerable<KeyValuePair<string, string>> metadata, string docString)
    {
        var m = new ModelProto
        {
            IrVersion = IrVersion,
            ProducerName = ProducerName,
            ProducerVersion = typeof(OnnxExporter).Assembly.GetName().Version?.ToString() ?? "0",
            Domain = "org.serengine",
            ModelVersion = 1,
            DocString = docString,
            Graph = graph.Graph,
        };
        m.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = Opset });
        foreach (var (k, v) in metadata) m.MetadataProps.Add(new StringStringEntryProto { Key = k, Value = v });
        return m;
    }

    /// <summary>Writes <paramref name="model"/> to <paramref name="path"/> atomically (temp file in the same folder, then rename).</summary>
    public static void Save(ModelProto model, string path)
    {
        var full = Path.GetFullPath(path);
        var dir = Path.GetDirectoryName(full);
        if (dir is not null && !Directory.Exists(dir)) throw new DirectoryNotFoundException($"cannot write {path}: folder {dir} does not exist");
        string tmp = full + ".tmp" + Environment.ProcessId.ToString(CultureInfo.InvariantCulture);
        try
        {
            using (var stream = File.Create(tmp))
            using (var output = new CodedOutputStream(stream))
            {
                model.WriteTo(output);
                output.Flush();
            }
            File.Move(tmp, full, overwrite: true);
        }
        catch
        {
            File.Delete(tmp);
            throw;
        }
    }
}
