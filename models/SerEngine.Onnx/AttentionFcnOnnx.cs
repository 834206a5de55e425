using SerEngine.Models;
using SerEngine.Nn;

namespace SerEngine.Onnx;

/// <summary>
/// The ONNX graph of <see cref="AttentionFcn"/> in eval mode (MODELS.md, A). Input
/// <c>features [batch, C, F, time]</c> (F fixed when the front end fixes it, otherwise the symbolic
/// <c>freq</c>; <c>time</c> always symbolic: the network is fully convolutional), output
/// <c>logits [batch, classes]</c>.
/// <code>
/// features.* : (Conv → Relu | MaxPool)…           h [N, w4, F', T']
/// Reshape [0, w4, -1] → Transpose [0, 2, 1]       a [N, L, w4], l = f·T' + t
/// attention.proj (MatMul + Add) → Tanh → attention.context (MatMul) → Mul λ   e [N, L, 1]
/// Softmax(axis 1) → Mul a → ReduceSum(axis 1)      c [N, w4]
/// fc (Gemm, transB)                               logits [N, classes]   (dropout: identity)
/// </code>
/// Every item of a batch is taken as valid over its whole length: the engine's padding mask for
/// utterances of different lengths has no input here, so run one utterance per call (or a batch of
/// equal lengths), which gives exactly the engine's <c>Forward(x)</c> without <c>validFrames</c>.
/// </summary>
public static class AttentionFcnOnnx
{
    /// <summary>The graph input's name.</summary>
    public const string InputName = "features";

    /// <summary>The graph output's name.</summary>
    public const string OutputName = "logits";

    /// <summary>Builds the graph of <paramref name="net"/>; <paramref name="freqBins"/> fixes F (null: symbolic).</summary>
    public static OnnxGraphBuilder Build(AttentionFcn net, int? freqBins)
    {
        var c = net.Config;
        if (freqBins is int f && f < AttentionFcn.MinimumLength)
            throw new ArgumentException($"AttentionFcn needs at least {AttentionFcn.MinimumLength} frequency bins, the export was asked for {f}");
        var b = new OnnxGraphBuilder("AttentionFcn");
        var x = b.Input(InputName, "batch", c.InChannels, freqBins is int bins ? bins : "freq", "time");  // [N, C, F, T]

        var h = x;
        var layers = net.Features.Layers;
        for (int i = 0; i < layers.Count; i++)
        {
            string name = $"features.{i}";
            h = layers[i] switch
            {
                Conv2d conv when net.NormAfter(i) is { } norm => b.BatchNorm(norm, b.Conv(conv, h, name), $"norm.{i}"),
                Conv2d conv => b.Conv(conv, h, name),
                Relu => b.Node("Relu", [h], name + ".relu"),
                MaxPool2d pool => b.MaxPool(pool.Kernel, pool.Stride, pool.Padding, h, name + ".pool"),
                var other => throw new NotSupportedException($"ONNX export: AttentionFcn layer {name} ({other.GetType().Name}) has no mapping"),
            };
        }                                                                                               // [N, w4, F', T']
        int w4 = c.Widths[4];
        var flat = b.Reshape(h, "attention.flat", 0, w4, -1);                                           // [N, w4, L]
        var a = b.Transpose(flat, "attention.positions", 0, 2, 1);                                      // [N, L, w4]

        var proj = b.Linear(net.Attention.Proj, a, 3, "attention.proj");                                // [N, L, w4]
        var energy = b.Linear(net.Attention.Context, b.Node("Tanh", [proj], "attention.tanh"), 3, "attention.context"); // [N, L, 1]
        var scaled = b.Node("Mul", [energy, b.Scalar("attention.lambda", net.Attention.Lambda)], "attention.energy");   // [N, L, 1]
        var alpha = b.Node("Softmax", [scaled], "attention.alpha", false, OnnxGraphBuilder.Int("axis", 1));             // [N, L, 1]
        var weighted = b.Node("Mul", [alpha, a], "attention.weighted");                                 // [N, L, w4]
        var context = b.Node("ReduceSum", [weighted, b.Int64s("attention.sum_axes", 1)], "attention.pooled", false,
            OnnxGraphBuilder.Int("keepdims", 0));                                                       // [N, w4]

        var logits = b.Linear(net.Fc, context, 2, "fc");                                                // [N, classes]
        b.Output(logits, OutputName, "batch", c.NumClasses);
        return b;
    }
}
