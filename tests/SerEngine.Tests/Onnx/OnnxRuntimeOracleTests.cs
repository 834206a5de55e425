using Microsoft.ML.OnnxRuntime;
using SerEngine.Audio;
using SerEngine.Autograd;
using SerEngine.Backends;
using SerEngine.Models;
using SerEngine.Models.Data;
using SerEngine.Models.Training;
using SerEngine.Onnx;

namespace SerEngine.Tests.Onnx;

/// <summary>
/// ONNX Runtime (Microsoft.ML.OnnxRuntime, CPU) as the oracle of the exporter: both models, small and
/// full-size, with and without batch norm or Focus/Calibration, exported to a file and run by ONNX
/// Runtime at batch sizes 1 and 3 and several time lengths (the graphs' symbolic dimensions), against
/// the engine's own eval-mode logits for the same inputs: max |ort − engine| ≤ 1e-5 · max |engine|.
/// This is the primary numeric check of an export; tests/onnx/validate_onnx.py repeats it in Python.
/// </summary>
public sealed class OnnxRuntimeOracleTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("serengine-ort-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    public static TheoryData<string> Models => ["fcn", "fcn-batchnorm", "fcn-full", "fca", "fca-plain", "fca-full"];

    private static SerModel Create(string which) => which switch
    {
        "fcn" => OnnxExportTests.SmallFcn(),
        "fcn-batchnorm" => OnnxExportTests.SmallFcn(seed: 5, batchNorm: true),
        "fcn-full" => new FcnModel(new AttentionFcnConfig(4), ["neutral", "happy", "sad", "angry"], new FeatureSpec(FeatureSettings.PaperA), new Generator(3), BackendRegistry.Get("cpu")),
        "fca" => OnnxExportTests.SmallFca(),
        "fca-plain" => OnnxExportTests.SmallFca(focus: false, calibration: false, seed: 7),
        "fca-full" => new FcaModel(new FocusCalibrationNetConfig(4), new SegmentSettings(), ["neutral", "happy", "sad", "angry"],
            new FeatureSpec(FeatureSettings.PaperB), new Generator(4), BackendRegistry.Get("cpu")),
        _ => throw new ArgumentOutOfRangeException(nameof(which), which, null),
    };

    [Theory]
    [MemberData(nameof(Models))]
    public void OnnxRuntimeLogitsMatchTheEngine(string which)
    {
        var model = Create(which);
        string path = Path.Combine(_dir, which + ".onnx");
        OnnxExporter.Save(OnnxExporter.Export(model), path);
        using var session = new InferenceSession(path);
        Assert.Equal([AttentionFcnOnnx.InputName], session.InputMetadata.Keys);
        Assert.Equal([AttentionFcnOnnx.OutputName], session.OutputMetadata.Keys);

        var rng = new Generator(99);
        int[] lengths = [.. OnnxSample.TimeLengths(model), OnnxSample.TimeLengths(model).Max() + 101];
        model.Network.Eval();
        using var noGrad = Graph.NoGrad();
        int cases = 0;
        foreach (int batch in new[] { 1, 3 })
        {
            foreach (int t in lengths)
            {
                using var scope = TensorScope.Begin();
                int[] shape = model switch
                {
                    FcnModel fcn => [batch, fcn.Net.Config.InChannels, model.Features.Settings.Bins, t],
                    FcaModel fca => [batch, 1, fca.Net.Config.FreqBins, t],
                    _ => throw new NotSupportedException(model.Kind),
                };
                var x = Tensor.RandomNormal(new Shape(shape), rng, 0f, 1f, model.Backend); // [B, C, F, T]
                var engine = (model switch
                {
                    FcnModel fcn => fcn.Net.Forward(x).Logits,
                    FcaModel fca => fca.Net.Forward(x).Logits,
                    _ => throw new NotSupportedException(model.Kind),
                }).ToArray();                                                             // [B, classes]

                float[] input = x.ToArray();
                using var value = OrtValue.CreateTensorValueFromMemory(input, [.. shape.Select(d => (long)d)]);
                using var options = new RunOptions();
                using var results = session.Run(options, [AttentionFcnOnnx.InputName], [value], [AttentionFcnOnnx.OutputName]);
                var ortShape = results[0].GetTensorTypeAndShape().Shape;
                float[] ort = results[0].GetTensorDataAsSpan<float>().ToArray();

                Assert.Equal([(long)batch, model.Labels.Count], ortShape);
                double worst = 0, scale = 0;
                for (int i = 0; i < engine.Length; i++)
                {
                    worst = Math.Max(worst, Math.Abs((double)ort[i] - engine[i]));
                    scale = Math.Max(scale, Math.Abs((double)engine[i]));
                }
                output.WriteLine($"{which} input [{string.Join(", ", shape)}]: max |ort − engine| = {worst:0.00e+00}, max |engine| = {scale:0.000}, relative {worst / scale:0.00e+00}");
                Assert.True(worst <= 1e-5 * scale, $"{which} input [{string.Join(", ", shape)}]: max |ort − engine| = {worst:e2} > 1e-5 · {scale:0.###}");
                cases++;
            }
        }
        Assert.Equal(2 * lengths.Length, cases);
    }
}
