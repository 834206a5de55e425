using SerEngine.Models;
using SerEngine.Models.Attention;
using SerEngine.Onnx.Proto;

namespace SerEngine.Onnx;

/// <summary>
/// The ONNX graph of <see cref="FocusCalibrationNet"/> in eval mode (MODELS.md, B). Input
/// <c>features [batch, 1, F, time]</c> (F = the configured MFCC count, fixed because it sets
/// d_in = 80·F'; <c>time</c> symbolic, ≥ 8 frames: 63 for the 2 s segments), output
/// <c>logits [batch, classes]</c>. Dropout is the identity.
/// <code>
/// conv1a/bn1a/Relu ‖ conv1b/bn1b/Relu → Concat → conv2..conv5 (Conv, BatchNormalization, Relu, MaxPool)
/// Transpose [0, 3, 1, 2] → Reshape [0, 0, d_in]                   X [N, T, d_in]
/// q, k, v: MatMul + Add; heads: Reshape [0, 0, H, dh] → Transpose  [N, H, T, dh]
/// S = MatMul(Q, Kᵀ) · 1/√dh                                        [N, H, T, T]
/// FA: C = Tanh(focus_query(q) + focus_global(ReduceMean_t q)); p, z = ReduceSum(C · u_p|u_z)
///     P, W = T_f · Sigmoid(p|z); S += −2 (j − P)² / W², j = Range(0, T_f, 1)
/// A = Softmax(S, axis −1); O = MatMul(A, V)
/// CA: g = Sigmoid(calibration(ReduceMean_t O)); O · g
/// attn.out(merge heads) + X → Relu → ReduceMean_t → fc (Gemm)       logits [N, classes]
/// </code>
/// The focus positions j = 0..T−1 and the length T as a float are computed in the graph from
/// <c>Shape</c> (<c>Shape → Gather → Cast → Range</c>), not stored as a constant, so the one file
/// serves any segment length like the engine does.
/// </summary>
public static class FocusCalibrationNetOnnx
{
    /// <summary>The graph input's name.</summary>
    public const string InputName = "features";

    /// <summary>The graph output's name.</summary>
    public const string OutputName = "logits";

    /// <summary>Builds the graph of <paramref name="net"/>.</summary>
    public static OnnxGraphBuilder Build(FocusCalibrationNet net)
    {
        var c = net.Config;
        var b = new OnnxGraphBuilder("FocusCalibrationNet");
        var x = b.Input(InputName, "batch", 1, c.FreqBins, "time");                                          // [N, 1, F, T]

        var a = b.Node("Relu", [b.BatchNorm(net.Bn1a, b.Conv(net.Conv1a, x, "conv1a"), "bn1a")], "relu1a");   // [N, 8, F−1, T−1]
        var a2 = b.Node("Relu", [b.BatchNorm(net.Bn1b, b.Conv(net.Conv1b, x, "conv1b"), "bn1b")], "relu1b");  // [N, 8, F−1, T−1]
        var h = b.Node("Concat", [a, a2], "concat1", false, OnnxGraphBuilder.Int("axis", 1));                // [N, 16, F−1, T−1]
        h = b.MaxPool((2, 2), (2, 2), (0, 0), ConvBnRelu(b, net.Conv2, net.Bn2, h, "2"), "pool2");            // [N, 32, ., .]
        h = b.MaxPool((2, 2), (2, 2), (0, 0), ConvBnRelu(b, net.Conv3, net.Bn3, h, "3"), "pool3");            // [N, 48, F', T']
        h = ConvBnRelu(b, net.Conv4, net.Bn4, h, "4");                                                       // [N, 64, F', T']
        h = ConvBnRelu(b, net.Conv5, net.Bn5, h, "5");                                                       // [N, 80, F', T']

        var tokens = b.Reshape(b.Transpose(h, "tokens.time_first", 0, 3, 1, 2), "tokens", 0, 0, net.DIn);   // [N, T, d_in]
        var attended = Attention(b, net.Attn, tokens);                                                       // [N, T, d_in]
        var z = b.Node("Relu", [b.Node("Add", [tokens, attended], "residual")], "residual.relu");            // [N, T, d_in]
        var pooled = b.Node("ReduceMean", [z], "pooled", false, OnnxGraphBuilder.Ints("axes", 1), OnnxGraphBuilder.Int("keepdims", 0)); // [N, d_in]
        var logits = b.Linear(net.Fc, pooled, 2, "fc");                                                      // [N, classes]
        b.Output(logits, OutputName, "batch", c.NumClasses);
        return b;
    }

    private static string ConvBnRelu(OnnxGraphBuilder b, Nn.Conv2d conv, Nn.BatchNorm2d bn, string x, string index) =>
        b.Node("Relu", [b.BatchNorm(bn, b.Conv(conv, x, "conv" + index), "bn" + index)], "relu" + index);

    /// <summary>attn(X) for X [N, T, d_in]: focus + calibration multi-head self-attention.</summary>
    private static string Attention(OnnxGraphBuilder b, FocusCalibrationAttention attn, string x)
    {
        int h = attn.Heads, dh = attn.HeadDim;
        var q = b.Linear(attn.Query, x, 3, "attn.query");                                                   // [N, T, H·dh]
        var qh = SplitHeads(b, q, h, dh, "attn.q_heads");                                                   // [N, H, T, dh]
        var kh = SplitHeads(b, b.Linear(attn.Key, x, 3, "attn.key"), h, dh, "attn.k_heads");                // [N, H, T, dh]
        var vh = SplitHeads(b, b.Linear(attn.Value, x, 3, "attn.value"), h, dh, "attn.v_heads");            // [N, H, T, dh]
        var kt = b.Transpose(kh, "attn.k_transposed", 0, 1, 3, 2);                                          // [N, H, dh, T]
        var qk = b.Node("MatMul", [qh, kt], "attn.qk");                                                     // [N, H, T, T]
        var scores = b.Node("Mul", [qk, b.Scalar("attn.scale", 1f / MathF.Sqrt(dh))], "attn.scores");      // [N, H, T, T]

        if (attn.Focus)
        {
            var qMean = b.Node("ReduceMean", [q], "attn.q_mean", false, OnnxGraphBuilder.Ints("axes", 1), OnnxGraphBuilder.Int("keepdims", 1)); // [N, 1, H·dh]
            var fq = b.Linear(attn.FocusQuery!, q, 3, "attn.focus_query");                                  // [N, T, H·dh]
            var fg = b.Linear(attn.FocusGlobal!, qMean, 3, "attn.focus_global");                            // [N, 1, H·dh]
            var ctx = b.Node("Tanh", [b.Node("Add", [fq, fg], "attn.focus_sum")], "attn.focus_c");          // [N, T, H·dh]
            var ch = SplitHeads(b, ctx, h, dh, "attn.focus_heads");                                         // [N, H, T, dh]
            var tF = TimeAsFloat(b, x);                                                                     // scalar T
            var centres = FocusTerm(b, ch, b.Initializer("attn.u_p", attn.UP!), tF, h, dh, "attn.centre");   // P [N, H, T]
            var widths = FocusTerm(b, ch, b.Initializer("attn.u_z", attn.UZ!), tF, h, dh, "attn.width");     // W [N, H, T]
            var positions = b.Node("Range", [b.Scalar("attn.range_start", 0f), tF, b.Scalar("attn.range_step", 1f)], "attn.positions"); // j [T]
            var axis3 = b.Int64s("attn.axis3", 3);
            var dist = b.Node("Sub", [positions, b.Node("Unsqueeze", [centres, axis3], "attn.centre_col")], "attn.dist"); // [N, H, T, T] = j − P_i
            var w4 = b.Node("Unsqueeze", [widths, axis3], "attn.width_col");                                // [N, H, T, 1]
            var ratio = b.Node("Div", [b.Node("Mul", [dist, dist], "attn.dist_sq"), b.Node("Mul", [w4, w4], "attn.width_sq")], "attn.focus_ratio");
            var bias = b.Node("Mul", [ratio, b.Scalar("attn.minus_two", -2f)], "attn.focus_bias");          // [N, H, T, T]
            scores = b.Node("Add", [scores, bias], "attn.biased_scores");
        }

        var weights = b.Node("Softmax", [scores], "attn.weights", false, OnnxGraphBuilder.Int("axis", -1)); // A [N, H, T, T]
        var o = b.Node("MatMul", [weights, vh], "attn.o");                                                 // [N, H, T, dh]
        if (attn.Calibration)
        {
            var oMean = b.Node("ReduceMean", [o], "attn.o_mean", false, OnnxGraphBuilder.Ints("axes", 2), OnnxGraphBuilder.Int("keepdims", 0)); // [N, H, dh]
            var logitsG = b.Linear(attn.CalibrationGate!, b.Reshape(oMean, "attn.o_mean_flat", 0, h * dh), 2, "attn.calibration"); // [N, H]
            var gates = b.Node("Sigmoid", [logitsG], "attn.gates");                                         // g [N, H]
            o = b.Node("Mul", [o, b.Reshape(gates, "attn.gates_4d", 0, h, 1, 1)], "attn.o_calibrated");     // [N, H, T, dh]
        }
        var merged = b.Reshape(b.Transpose(o, "attn.o_time_first", 0, 2, 1, 3), "attn.merged", 0, 0, h * dh); // [N, T, H·dh]
        return b.Linear(attn.Out, merged, 3, "attn.out");                                                   // [N, T, d_in]
    }

    /// <summary>[N, T, H·dh] → [N, H, T, dh].</summary>
    private static string SplitHeads(OnnxGraphBuilder b, string x, int h, int dh, string hint) =>
        b.Transpose(b.Reshape(x, hint + ".split", 0, 0, h, dh), hint, 0, 2, 1, 3);

    /// <summary>T · Sigmoid(Σ_d C[n, h, t, d] · u[h, d]) → [N, H, T].</summary>
    private static string FocusTerm(OnnxGraphBuilder b, string ch, string u, string tF, int h, int dh, string hint)
    {
        var u4 = b.Reshape(u, hint + ".u", 1, h, 1, dh);                                                    // [1, H, 1, dh]
        var dot = b.Node("ReduceSum", [b.Node("Mul", [ch, u4], hint + ".prod"), b.Int64s(hint + ".axes", 3)], hint + ".logit", false,
            OnnxGraphBuilder.Int("keepdims", 0));                                                           // [N, H, T]
        return b.Node("Mul", [b.Node("Sigmoid", [dot], hint + ".sigmoid"), tF], hint);                      // [N, H, T]
    }

    /// <summary>The token count T of X [N, T, d_in] as a float32 scalar: Shape → Gather(1) → Cast.</summary>
    private static string TimeAsFloat(OnnxGraphBuilder b, string x)
    {
        var shape = b.Node("Shape", [x], "attn.x_shape");                                                   // [3] int64
        var index = b.Node("Constant", [], "attn.time_index", false,
            OnnxGraphBuilder.TensorAttr("value", new TensorProto { DataType = (int)TensorProto.Types.DataType.Int64, Int64Data = { 1 } })); // scalar 1
        var t = b.Node("Gather", [shape, index], "attn.time", false, OnnxGraphBuilder.Int("axis", 0));      // scalar int64
        return b.Node("Cast", [t], "attn.time_f", false, OnnxGraphBuilder.Int("to", (long)TensorProto.Types.DataType.Float));
    }
}
