using System.Buffers.Binary;
using System.Globalization;
using Google.Protobuf;
using SerEngine.Nn;
using SerEngine.Onnx.Proto;

namespace SerEngine.Onnx;

/// <summary>One dimension of a graph input or output: a fixed size or a symbolic name (<c>batch</c>).</summary>
/// <param name="Value">The size, when fixed.</param>
/// <param name="Param">The symbolic name, when not.</param>
public readonly record struct OnnxDim(long? Value, string? Param)
{
    /// <summary>A fixed dimension.</summary>
    public static implicit operator OnnxDim(int value) => new(value, null);

    /// <summary>A symbolic dimension.</summary>
    public static implicit operator OnnxDim(string param) => new(null, param);
}

/// <summary>
/// Builds an ONNX <see cref="GraphProto"/> node by node, in topological order: every node's inputs
/// must already be graph inputs, initializers or outputs of earlier nodes (checked on each call).
/// Weights become initializers named by their state-dict names (raw_data, little-endian float32);
/// small constants (shapes, axes, scalars) become <c>Constant</c> nodes, so the initializers are
/// exactly the model's tensors. Value names are unique (<c>hint</c>, then <c>hint_2</c>, ...).
/// The module helpers (<see cref="Conv"/>, <see cref="BatchNorm"/>, <see cref="Linear"/>, ...)
/// emit the eval-mode semantics of the engine's layers.
/// </summary>
public sealed class OnnxGraphBuilder
{
    private readonly HashSet<string> _values = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _hints = new(StringComparer.Ordinal);

    /// <summary>Starts an empty graph called <paramref name="name"/>.</summary>
    public OnnxGraphBuilder(string name) => Graph = new GraphProto { Name = name };

    /// <summary>The graph built so far.</summary>
    public GraphProto Graph { get; }

    /// <summary>Declares a float32 graph input; returns its name.</summary>
    public string Input(string name, params OnnxDim[] dims)
    {
        Claim(name);
        Graph.Input.Add(ValueInfo(name, dims));
        return name;
    }

    /// <summary>Declares <paramref name="value"/> (an existing value) as a float32 graph output named <paramref name="name"/>.</summary>
    public void Output(string value, string name, params OnnxDim[] dims)
    {
        Require(value);
        if (value != name) Node("Identity", [value], name, exactName: true);
        Graph.Output.Add(ValueInfo(name, dims));
    }

    /// <summary>Adds <paramref name="tensor"/> as a float32 initializer called <paramref name="name"/>; returns the name.</summary>
    public string Initializer(string name, Tensor tensor)
    {
        if (tensor.DType != DType.Float32) throw new ArgumentException($"initializer {name}: only Float32 tensors are exported, got {tensor.DType} {tensor.Shape}");
        Claim(name);
        var t = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Float, RawData = FloatBytes(tensor.ToArray()) };
        for (int i = 0; i < tensor.Rank; i++) t.Dims.Add(tensor.Shape[i]);
        Graph.Initializer.Add(t);
        return name;
    }

    /// <summary>A 1-D int64 constant (shapes, axes, perms) from a <c>Constant</c> node.</summary>
    public string Int64s(string hint, params long[] values)
    {
        var t = new TensorProto { DataType = (int)TensorProto.Types.DataType.Int64 };
        t.Dims.Add(values.Length);
        t.Int64Data.Add(values);
        return Node("Constant", [], hint, attributes: [TensorAttr("value", t)]);
    }

    /// <summary>A float32 scalar constant from a <c>Constant</c> node.</summary>
    public string Scalar(string hint, float value)
    {
        var t = new TensorProto { DataType = (int)TensorProto.Types.DataType.Float, RawData = FloatBytes([value]) };
        return Node("Constant", [], hint, attributes: [TensorAttr("value", t)]);
    }

    /// <summary>
    /// Appends a node of the default (ai.onnx) domain with one output; returns the output's name
    /// (<paramref name="hint"/>, made unique unless <paramref name="exactName"/>).
    /// </summary>
    public string Node(string opType, IReadOnlyList<string> inputs, string hint, bool exactName = false, params AttributeProto[] attributes)
    {
        foreach (var i in inputs) Require(i);
        string output = exactName ? hint : Unique(hint);
        Claim(output);
        var node = new NodeProto { OpType = opType, Name = $"{output}/{opType}" };
        node.Input.Add(inputs);
        node.Output.Add(output);
        node.Attribute.Add(attributes);
        Graph.Node.Add(node);
        return output;
    }

    /// <summary>Conv2d: <c>Conv</c> with the layer's kernel, stride, padding and dilation; weights named <paramref name="prefix"/>.weight/.bias.</summary>
    public string Conv(Conv2d conv, string x, string prefix)
    {
        var w = Initializer(prefix + ".weight", conv.Weight);
        string[] inputs = conv.Bias is null ? [x, w] : [x, w, Initializer(prefix + ".bias", conv.Bias)];
        return Node("Conv", inputs, prefix, false,
            Ints("kernel_shape", conv.Kernel.H, conv.Kernel.W),
            Ints("strides", conv.Stride.H, conv.Stride.W),
            Ints("pads", conv.Padding.H, conv.Padding.W, conv.Padding.H, conv.Padding.W),
            Ints("dilations", conv.Dilation.H, conv.Dilation.W));
    }

    /// <summary>BatchNorm2d in eval mode: <c>BatchNormalization</c> with the running statistics.</summary>
    public string BatchNorm(BatchNorm2d bn, string x, string prefix) =>
        Node("BatchNormalization",
            [x, Initializer(prefix + ".weight", bn.Weight), Initializer(prefix + ".bias", bn.Bias),
             Initializer(prefix + ".running_mean", bn.RunningMean), Initializer(prefix + ".running_var", bn.RunningVar)],
            prefix, false, Float("epsilon", bn.Eps), Float("momentum", 1f - bn.Momentum));

    /// <summary>MaxPool2d (floor mode): <c>MaxPool</c>.</summary>
    public string MaxPool((int H, int W) kernel, (int H, int W) stride, (int H, int W) padding, string x, string hint) =>
        Node("MaxPool", [x], hint, false,
            Ints("kernel_shape", kernel.H, kernel.W), Ints("strides", stride.H, stride.W),
            Ints("pads", padding.H, padding.W, padding.H, padding.W));

    /// <summary>
    /// Linear y = x Wᵀ + b: <c>Gemm</c> (transB = 1) when x has rank 2, otherwise
    /// <c>Transpose</c>(W) → <c>MatMul</c> → <c>Add</c>, so the initializer stays W [out, in] as trained.
    /// </summary>
    public string Linear(Nn.Linear linear, string x, int rank, string prefix)
    {
        var w = Initializer(prefix + ".weight", linear.Weight);
        string? b = linear.Bias is null ? null : Initializer(prefix + ".bias", linear.Bias);
        if (rank == 2)
            return Node("Gemm", b is null ? [x, w] : [x, w, b], prefix, false, Int("transB", 1));
        var wt = Node("Transpose", [w], prefix + ".weight_t", false, Ints("perm", 1, 0));   // [in, out]
        var y = Node("MatMul", [x, wt], b is null ? prefix : prefix + ".matmul");
        return b is null ? y : Node("Add", [y, b], prefix);
    }

    /// <summary><c>Reshape</c> to <paramref name="shape"/> (0 copies the input's dimension, -1 is inferred).</summary>
    public string Reshape(string x, string hint, params long[] shape) => Node("Reshape", [x, Int64s(hint + ".shape", shape)], hint);

    /// <summary><c>Transpose</c> with <paramref name="perm"/>.</summary>
    public string Transpose(string x, string hint, params long[] perm) => Node("Transpose", [x], hint, false, Ints("perm", perm));

    /// <summary>An INT attribute.</summary>
    public static AttributeProto Int(string name, long value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = value };

    /// <summary>An INTS attribute.</summary>
    public static AttributeProto Ints(string name, params long[] values)
    {
        var a = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Ints };
        a.Ints.Add(values);
        return a;
    }

    /// <summary>A FLOAT attribute.</summary>
    public static AttributeProto Float(string name, float value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.Float, F = value };

    /// <summary>A TENSOR attribute.</summary>
    public static AttributeProto TensorAttr(string name, TensorProto value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.Tensor, T = value };

    /// <summary>Little-endian float32 bytes of <paramref name="values"/>, as ONNX's raw_data stores them.</summary>
    public static ByteString FloatBytes(ReadOnlySpan<float> values)
    {
        var bytes = new byte[values.Length * sizeof(float)];
        for (int i = 0; i < values.Length; i++) BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(i * sizeof(float)), values[i]);
        return UnsafeByteOperations.UnsafeWrap(bytes);
    }

    private static ValueInfoProto ValueInfo(string name, OnnxDim[] dims)
    {
        var shape = new TensorShapeProto();
        foreach (var d in dims)
            shape.Dim.Add(d.Value is long v ? new TensorShapeProto.Types.Dimension { DimValue = v } : new TensorShapeProto.Types.Dimension { DimParam = d.Param });
        return new ValueInfoProto
        {
            Name = name,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)TensorProto.Types.DataType.Float, Shape = shape } },
        };
    }

    private string Unique(string hint)
    {
        if (!_values.Contains(hint)) return hint;
        int n = _hints.GetValueOrDefault(hint, 1);
        string name;
        do name = string.Create(CultureInfo.InvariantCulture, $"{hint}_{++n}");
        while (_values.Contains(name));
        _hints[hint] = n;
        return name;
    }

    private void Claim(string name)
    {
        if (!_values.Add(name)) throw new InvalidOperationException($"ONNX value '{name}' is defined twice");
    }

    private void Require(string name)
    {
        if (!_values.Contains(name)) throw new InvalidOperationException($"ONNX value '{name}' is used before it is defined");
    }
}
