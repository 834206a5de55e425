using SerEngine.Autograd;
using SerEngine.Models;
using SerEngine.Models.Training;

namespace SerEngine.Onnx;

/// <summary>
/// Sample inputs and the engine's logits for them, for checking an exported model in another
/// runtime (tests/onnx/validate_onnx.py). A JSON object
/// <c>{"model", "input_name", "output_name", "cases": [{"shape", "input", "logits_shape", "logits"}]}</c>:
/// per case a seeded standard-normal input of shape [2, C, F, T] (flattened, row-major) and the
/// network's eval-mode logits [2, classes] for it. The cases use two or three time lengths, so the
/// symbolic time dimension is exercised.
/// </summary>
public static class OnnxSample
{
    /// <summary>Time lengths of the cases: the shortest accepted input, a typical one and an odd one.</summary>
    public static int[] TimeLengths(SerModel model) => model switch
    {
        FcnModel => [AttentionFcn.MinimumLength, AttentionFcn.MinimumLength + 37],
        FcaModel fca => [8, fca.Segments.Frames, fca.Segments.Frames + 14],
        _ => throw new NotSupportedException($"no ONNX sample for model '{model.Kind}'"),
    };

    /// <summary>The sample as JSON text.</summary>
    public static string Build(SerModel model, int seed = 1234)
    {
        var rng = new Generator((ulong)seed);
        var cases = new List<(int[] Shape, float[] Input, int[] LogitsShape, float[] Logits)>();
        bool training = model.Network.Training;
        model.Network.Eval();
        try
        {
            using var noGrad = Graph.NoGrad();
            foreach (int t in TimeLengths(model))
            {
                using var scope = TensorScope.Begin();
                int[] shape = model switch
                {
                    FcnModel fcn => [2, fcn.Net.Config.InChannels, model.Features.Settings.Bins, t],
                    FcaModel fca => [2, 1, fca.Net.Config.FreqBins, t],
                    _ => throw new NotSupportedException(model.Kind),
                };
                var x = Tensor.RandomNormal(new Shape(shape), rng, 0f, 1f, model.Backend);     // [2, C, F, T]
                var logits = model switch
                {
                    FcnModel fcn => fcn.Net.Forward(x).Logits,
                    FcaModel fca => fca.Net.Forward(x).Logits,
                    _ => throw new NotSupportedException(model.Kind),
                };                                                                           // [2, classes]
                cases.Add((shape, x.ToArray(), [logits.Shape[0], logits.Shape[1]], logits.ToArray()));
            }
        }
        finally
        {
            model.Network.Train(training);
        }
        return JsonUtil.Build(w =>
        {
            w.WriteStartObject();
            w.WriteString("model", model.Kind);
            w.WriteString("input_name", AttentionFcnOnnx.InputName);
            w.WriteString("output_name", AttentionFcnOnnx.OutputName);
            w.WriteStartArray("cases");
            foreach (var (shape, input, logitsShape, logits) in cases)
            {
                w.WriteStartObject();
                WriteInts(w, "shape", shape);
                WriteFloats(w, "input", input);
                WriteInts(w, "logits_shape", logitsShape);
                WriteFloats(w, "logits", logits);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        });
    }

    private static void WriteInts(System.Text.Json.Utf8JsonWriter w, string name, int[] values)
    {
        w.WriteStartArray(name);
        foreach (var v in values) w.WriteNumberValue(v);
        w.WriteEndArray();
    }

    private static void WriteFloats(System.Text.Json.Utf8JsonWriter w, string name, float[] values)
    {
        w.WriteStartArray(name);
        foreach (var v in values) w.WriteNumberValue(v);
        w.WriteEndArray();
    }
}
