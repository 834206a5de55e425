using System.Buffers.Binary;
using System.Text.Json;
using Google.Protobuf;
using SerEngine.Audio;
using SerEngine.Backends;
using SerEngine.IO;
using SerEngine.Models;
using SerEngine.Models.Data;
using SerEngine.Models.Training;
using SerEngine.Onnx;
using SerEngine.Onnx.Proto;

namespace SerEngine.Tests.Onnx;

/// <summary>
/// ONNX export of small randomly initialised models of both kinds, read back from bytes with the
/// generated parser: versions, signature, initializers = the state dict bit for bit, op set,
/// attributes of the mapped layers and topological order. (The numbers a runtime computes from the
/// file are compared with the engine's by tests/onnx/validate_onnx.py, which needs Python.)
/// </summary>
public sealed class OnnxExportTests
{
    /// <summary>The ops the exporter may emit (all in ai.onnx opset 17).</summary>
    private static readonly HashSet<string> AllowedOps =
    [
        "Conv", "Relu", "MaxPool", "BatchNormalization", "Gemm", "MatMul", "Add", "Sub", "Mul", "Div", "Tanh", "Sigmoid",
        "Softmax", "Reshape", "Transpose", "ReduceSum", "ReduceMean", "Concat", "Constant", "Identity", "Shape", "Gather", "Cast",
        "Range", "Unsqueeze",
    ];

    private static readonly string[] Labels3 = ["neutral", "happy", "angry"];

    internal static FcnModel SmallFcn(ulong seed = 1, bool batchNorm = false)
    {
        var model = new FcnModel(new AttentionFcnConfig(3, Widths: [4, 6, 8, 8, 5], BatchNorm: batchNorm), Labels3, new FeatureSpec(FeatureSettings.PaperA), new Generator(seed), BackendRegistry.Get("cpu"));
        Randomize(model, seed);
        return model;
    }

    internal static FcaModel SmallFca(bool focus = true, bool calibration = true, ulong seed = 2)
    {
        var model = new FcaModel(new FocusCalibrationNetConfig(3, Heads: 2, HeadDim: 4, Focus: focus, Calibration: calibration), new SegmentSettings(),
            Labels3, new FeatureSpec(FeatureSettings.PaperB), new Generator(seed), BackendRegistry.Get("cpu"));
        Randomize(model, seed);
        return model;
    }

    /// <summary>Gives every state tensor (BatchNorm statistics included) distinct random values, so a swapped or default tensor shows.</summary>
    private static void Randomize(SerModel model, ulong seed)
    {
        var rng = new Random((int)seed);
        var state = new Dictionary<string, HostTensor>(StringComparer.Ordinal);
        foreach (var (name, t) in model.Network.StateDict())
        {
            bool positive = name.EndsWith("running_var", StringComparison.Ordinal);
            var v = new float[t.Size];
            for (int i = 0; i < v.Length; i++) v[i] = positive ? 0.5f + (float)rng.NextDouble() : (float)(rng.NextDouble() * 2 - 1);
            state[name] = new HostTensor(t.Shape, v);
        }
        model.Network.LoadStateDict(state, strict: true);
    }

    private static ModelProto RoundTrip(SerModel model) => ModelProto.Parser.ParseFrom(OnnxExporter.Export(model).ToByteArray());

    private static object[] Dims(ValueInfoProto v) =>
        [.. v.Type.TensorType.Shape.Dim.Select(d => d.ValueCase == TensorShapeProto.Types.Dimension.ValueOneofCase.DimParam ? (object)d.DimParam : d.DimValue)];

    private static NodeProto Node(ModelProto m, string output) => m.Graph.Node.Single(n => n.Output[0] == output);

    private static long[] Ints(NodeProto n, string attribute) => [.. n.Attribute.Single(a => a.Name == attribute).Ints];

    /// <summary>The checks every exported model must pass.</summary>
    private static void AssertCommon(ModelProto m, SerModel model, object[] inputDims)
    {
        Assert.Equal(8, m.IrVersion);
        var opset = Assert.Single(m.OpsetImport);
        Assert.Equal("", opset.Domain);
        Assert.Equal(17, opset.Version);
        Assert.Equal("SerEngine", m.ProducerName);

        var input = Assert.Single(m.Graph.Input);
        Assert.Equal("features", input.Name);
        Assert.Equal((int)TensorProto.Types.DataType.Float, input.Type.TensorType.ElemType);
        Assert.Equal(inputDims, Dims(input));
        var output = Assert.Single(m.Graph.Output);
        Assert.Equal("logits", output.Name);
        Assert.Equal(new object[] { "batch", (long)model.Labels.Count }, Dims(output));

        // Initializers: exactly the state dict, each tensor's values as little-endian float32 raw_data.
        var state = model.Network.StateDict();
        Assert.Equal(state.Keys.Order(StringComparer.Ordinal), m.Graph.Initializer.Select(t => t.Name).Order(StringComparer.Ordinal));
        foreach (var init in m.Graph.Initializer)
        {
            var t = state[init.Name];
            Assert.Equal((int)TensorProto.Types.DataType.Float, init.DataType);
            Assert.Equal(Enumerable.Range(0, t.Rank).Select(i => (long)t.Shape[i]), init.Dims);
            Assert.Empty(init.FloatData);
            var expected = t.ToArray();
            var raw = init.RawData.Span;
            Assert.Equal(expected.Length * 4, raw.Length);
            for (int i = 0; i < expected.Length; i++)
                Assert.Equal(BitConverter.SingleToInt32Bits(expected[i]), BinaryPrimitives.ReadInt32LittleEndian(raw[(i * 4)..]));
        }

        // Ops from the allowed set, in the default domain; topological order; unique outputs.
        var defined = new HashSet<string>(StringComparer.Ordinal) { "features" };
        foreach (var init in m.Graph.Initializer) Assert.True(defined.Add(init.Name), $"{init.Name} defined twice");
        foreach (var node in m.Graph.Node)
        {
            Assert.Contains(node.OpType, AllowedOps);
            Assert.Equal("", node.Domain);
            foreach (var i in node.Input) Assert.True(defined.Contains(i), $"{node.Name} reads '{i}' before it is produced");
            foreach (var o in node.Output) Assert.True(defined.Add(o), $"{node.Name} redefines '{o}'");
        }
        Assert.Contains("logits", defined);
        Assert.DoesNotContain(m.Graph.Node, n => n.OpType == "Dropout");

        // Metadata: the model kind, labels and front end.
        var meta = m.MetadataProps.ToDictionary(p => p.Key, p => p.Value);
        Assert.Equal(model.Kind, meta["model"]);
        Assert.Equal(model.Labels, JsonSerializer.Deserialize<string[]>(meta["labels"]));
        Assert.Equal(FeatureSettingsJson.Serialize(model.Features.Settings), meta["features"]);
        Assert.Equal(model.ConfigJson(), meta["config"]);
    }

    [Fact]
    public void AttentionFcn_ExportsSignatureWeightsAndLayers()
    {
        var model = SmallFcn();
        var m = RoundTrip(model);
        AssertCommon(m, model, ["batch", 1L, 200L, "time"]);

        var conv0 = Node(m, "features.0");
        Assert.Equal("Conv", conv0.OpType);
        Assert.Equal(["features", "features.0.weight", "features.0.bias"], conv0.Input);
        Assert.Equal([11L, 11L], Ints(conv0, "kernel_shape"));
        Assert.Equal([4L, 4L], Ints(conv0, "strides"));
        Assert.Equal([2L, 2L, 2L, 2L], Ints(conv0, "pads"));
        Assert.Equal([2L, 2L, 2L, 2L], Ints(Node(m, "features.3"), "pads"));
        Assert.Equal(3, m.Graph.Node.Count(n => n.OpType == "MaxPool"));
        Assert.All(m.Graph.Node.Where(n => n.OpType == "MaxPool"), p => Assert.Equal([3L, 3L], Ints(p, "kernel_shape")));
        Assert.Equal(5, m.Graph.Node.Count(n => n.OpType == "Conv"));

        // λ scales the energies; the softmax runs over positions (axis 1 of [N, L, 1]).
        var lambda = Node(m, "attention.lambda").Attribute.Single().T;
        Assert.Equal(model.Net.Config.Lambda, BitConverter.ToSingle(lambda.RawData.Span));
        Assert.Equal(1, Node(m, "attention.alpha").Attribute.Single(a => a.Name == "axis").I);
        var fc = Node(m, "fc");
        Assert.Equal("Gemm", fc.OpType);
        Assert.Equal(["attention.pooled", "fc.weight", "fc.bias"], fc.Input);
        Assert.Equal(1, fc.Attribute.Single(a => a.Name == "transB").I);
    }

    /// <summary>With batch norm, each convolution feeds a BatchNormalization (eval mode: running statistics) before its ReLU.</summary>
    [Fact]
    public void AttentionFcn_WithBatchNorm_ExportsANormAfterEachConv()
    {
        var model = SmallFcn(batchNorm: true);
        var m = RoundTrip(model);
        AssertCommon(m, model, ["batch", 1L, 200L, "time"]);
        foreach (int k in new[] { 0, 3, 6, 8, 10 })
        {
            var norm = Node(m, $"norm.{k}");
            Assert.Equal("BatchNormalization", norm.OpType);
            Assert.Equal([$"features.{k}", $"norm.{k}.weight", $"norm.{k}.bias", $"norm.{k}.running_mean", $"norm.{k}.running_var"], norm.Input);
            Assert.Contains(m.Graph.Node, n => n.OpType == "Relu" && n.Input[0] == $"norm.{k}");
        }
    }

    [Fact]
    public void FocusCalibrationNet_ExportsSignatureWeightsAndFocusFromShape()
    {
        var model = SmallFca();
        var m = RoundTrip(model);
        AssertCommon(m, model, ["batch", 1L, 26L, "time"]);

        Assert.Equal(6, m.Graph.Node.Count(n => n.OpType == "Conv"));
        var bns = m.Graph.Node.Where(n => n.OpType == "BatchNormalization").ToList();
        Assert.Equal(6, bns.Count);
        Assert.All(bns, bn => Assert.Equal(1e-5f, bn.Attribute.Single(a => a.Name == "epsilon").F));
        Assert.Equal(["conv2", "bn2.weight", "bn2.bias", "bn2.running_mean", "bn2.running_var"], Node(m, "bn2").Input);
        Assert.Equal([4L, 0L, 4L, 0L], Ints(Node(m, "conv1a"), "pads"));
        Assert.Equal([0L, 3L, 0L, 3L], Ints(Node(m, "conv1b"), "pads"));
        Assert.Equal([2L, 8L], Ints(Node(m, "conv1b"), "kernel_shape"));

        // Tokens [N, T, 80·F'] with feature c·F' + f: time to the front, then merge channels and bins.
        Assert.Equal([0L, 3L, 1L, 2L], Ints(Node(m, "tokens.time_first"), "perm"));
        var tokenShape = Node(m, "tokens.shape").Attribute.Single().T;
        Assert.Equal([0L, 0L, 80L * FocusCalibrationNet.EncodedBins(26)], tokenShape.Int64Data);

        // The focus positions come from the runtime length: Shape → Gather → Cast → Range.
        Assert.Equal(["attn.range_start", "attn.time_f", "attn.range_step"], Node(m, "attn.positions").Input);
        Assert.Equal("Cast", Node(m, "attn.time_f").OpType);
        Assert.Equal(["attn.x_shape", "attn.time_index"], Node(m, "attn.time").Input);
        Assert.Equal(["tokens"], Node(m, "attn.x_shape").Input);
        var scale = Node(m, "attn.scale").Attribute.Single().T;
        Assert.Equal(0.5f, BitConverter.ToSingle(scale.RawData.Span)); // 1/√dh, dh = 4
        Assert.Equal("Sigmoid", Node(m, "attn.gates").OpType);
        Assert.Equal(-1, Node(m, "attn.weights").Attribute.Single(a => a.Name == "axis").I);
    }

    [Fact]
    public void FocusCalibrationNet_PlainMhsaAblation_HasNoFocusOrCalibrationNodes()
    {
        var model = SmallFca(focus: false, calibration: false, seed: 3);
        var m = RoundTrip(model);
        AssertCommon(m, model, ["batch", 1L, 26L, "time"]);
        Assert.DoesNotContain(m.Graph.Node, n => n.OpType is "Range" or "Sigmoid" or "Shape");
        Assert.DoesNotContain(m.Graph.Initializer, t => t.Name.StartsWith("attn.focus", StringComparison.Ordinal) || t.Name.StartsWith("attn.calibration", StringComparison.Ordinal));
        Assert.Equal(["attn.scores"], Node(m, "attn.weights").Input);
    }

    [Fact]
    public void Export_IsDeterministic_AndFollowsTheWeights()
    {
        var a = OnnxExporter.Export(SmallFcn(seed: 5)).ToByteArray();
        var b = OnnxExporter.Export(SmallFcn(seed: 5)).ToByteArray();
        var c = OnnxExporter.Export(SmallFcn(seed: 6)).ToByteArray();
        Assert.Equal(a, b);
        Assert.Equal(a.Length, c.Length);
        Assert.NotEqual(a, c);
    }

    [Fact]
    public void GraphBuilder_RefusesUseBeforeDefinitionAndDuplicates()
    {
        var g = new OnnxGraphBuilder("g");
        var x = g.Input("x", "batch", 3);
        var ex = Assert.Throws<InvalidOperationException>(() => g.Node("Relu", ["y"], "z"));
        Assert.Contains("'y' is used before it is defined", ex.Message);
        Assert.Equal("r", g.Node("Relu", [x], "r"));
        Assert.Equal("r_2", g.Node("Relu", [x], "r"));
        Assert.Throws<InvalidOperationException>(() => g.Input("r", 1));
    }
}
