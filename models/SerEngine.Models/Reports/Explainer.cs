using SerEngine.Audio;
using SerEngine.Models.Training;

namespace SerEngine.Models.Reports;

/// <summary>AttentionFcn's attention pooling weights over the last feature map of one utterance.</summary>
/// <param name="Bins">F', rows of the last feature map.</param>
/// <param name="Frames">T', columns of the last feature map.</param>
/// <param name="Weights">α [F', T'] (position f·T' + t), a softmax: non-negative, summing to 1.</param>
public sealed record FcnAttention(int Bins, int Frames, float[] Weights);

/// <summary>
/// FocusCalibrationNet's attention internals over the non-overlapping 2 s segments that tile one
/// utterance (the last one ends at the utterance's end). Dimension legend: S segments, H heads,
/// T' tokens (time steps of the encoder's output per segment).
/// </summary>
/// <param name="Heads">H.</param>
/// <param name="SegmentFrames">Input frames per segment.</param>
/// <param name="Tokens">T'.</param>
/// <param name="SegmentStarts">First input frame of each segment [S].</param>
/// <param name="Attention">A [S, H, T', T'] softmax weights over keys (each row sums to 1).</param>
/// <param name="Centres">Focus centres P [S, H, T'] in tokens (null without Focus-Attention).</param>
/// <param name="Widths">Focus widths W [S, H, T'] in tokens (null without Focus-Attention).</param>
/// <param name="HeadWeights">Calibration gates g [S, H] in (0, 1) (null without Calibration-Attention).</param>
public sealed record FcaAttention(int Heads, int SegmentFrames, int Tokens, int[] SegmentStarts, float[] Attention,
    float[]? Centres, float[]? Widths, float[]? HeadWeights)
{
    /// <summary>Input frames per token.</summary>
    public double FramesPerToken => SegmentFrames / (double)Tokens;

    /// <summary>Input frame of a (fractional) token position of segment <paramref name="segment"/>.</summary>
    public double Frame(int segment, double token) => SegmentStarts[segment] + token * FramesPerToken;
}

/// <summary>
/// What one utterance looks like to a model: its input features, the class probabilities (computed
/// exactly as <c>ser predict</c> does) and the model's attention.
/// </summary>
/// <param name="Name">The utterance (file or id).</param>
/// <param name="Kind"><c>fcn</c> or <c>fca</c>.</param>
/// <param name="Labels">Class names.</param>
/// <param name="Probabilities">Softmax of the utterance-level logits.</param>
/// <param name="TrueLabel">The known label, or null.</param>
/// <param name="Features">The model's input [bins, frames].</param>
/// <param name="FeatureName">What the rows are (log spectrogram bins, MFCCs, ...).</param>
/// <param name="FrameSeconds">Seconds between frames.</param>
/// <param name="Fcn">AttentionFcn's weights (fcn only).</param>
/// <param name="Fca">FocusCalibrationNet's internals (fca only).</param>
/// <param name="ScaleRows">Draw each feature row on its own colour scale (MFCCs, whose coefficients differ in range by orders of magnitude).</param>
public sealed record UtteranceExplanation(string Name, string Kind, IReadOnlyList<string> Labels, float[] Probabilities, string? TrueLabel,
    FeatureMatrix Features, string FeatureName, double FrameSeconds, FcnAttention? Fcn, FcaAttention? Fca, bool ScaleRows = false)
{
    /// <summary>The predicted class.</summary>
    public string Predicted => Labels[SerModel.ArgMax(Probabilities)];
}

/// <summary>
/// Runs a model forward in evaluation mode without recording a graph and keeps the attention
/// tensors the networks already return (<see cref="AttentionFcn.Forward"/>'s α,
/// <see cref="FocusCalibrationNet.Forward"/>'s internals). Read-only: the weights, the training
/// mode and the generators' use are as before.
/// </summary>
public static class Explainer
{
    /// <summary>Explains one utterance's features <paramref name="f"/> (already checked with <see cref="SerModel.CheckInput"/>).</summary>
    public static UtteranceExplanation Explain(SerModel model, FeatureMatrix f, string name, string? trueLabel = null)
    {
        var probabilities = SerModel.Softmax(model.PredictLogits([f], [name]))[0];
        var settings = model.Features.Settings;
        double frameSeconds = settings.Stft.HopLengthOrDefault / (double)settings.SampleRate;
        string featureName = settings.Kind switch
        {
            FeatureKind.LogSpectrogram => "log spectrogram bin",
            FeatureKind.LogMel => "log-mel band",
            FeatureKind.Mfcc => "MFCC",
            _ => "feature row",
        };
        FcnAttention? fcn = null;
        FcaAttention? fca = null;
        InEvalMode(model, () =>
        {
            switch (model)
            {
                case FcnModel m: fcn = ExplainFcn(m, f); break;
                case FcaModel m: fca = ExplainFca(m, f); break;
                default: throw new ArgumentException($"no explanation for model kind '{model.Kind}'");
            }
        });
        return new UtteranceExplanation(name, model.Kind, model.Labels, probabilities, trueLabel, f, featureName, frameSeconds, fcn, fca,
            ScaleRows: settings.Kind == FeatureKind.Mfcc);
    }

    private static FcnAttention ExplainFcn(FcnModel model, FeatureMatrix f)
    {
        var x = Tensor.FromArray(f.Values, new Shape(1, 1, f.Bins, f.Frames), model.Backend); // [1, 1, F, T]
        var (_, alpha) = model.Net.Forward(x);                                                   // α [1, F'·T']
        int fo = AttentionFcn.EncodedLength(f.Bins), to = AttentionFcn.EncodedLength(f.Frames);
        var weights = alpha.ToArray();
        if (weights.Length != fo * to) throw new InvalidOperationException($"attention has {weights.Length} weights, expected {fo}×{to}");
        return new FcnAttention(fo, to, weights);
    }

    private static FcaAttention ExplainFca(FcaModel model, FeatureMatrix f)
    {
        int seg = model.Segments.Frames, bins = f.Bins;
        var starts = model.Segments.Starts(f.Frames, seg).ToArray();
        var x = new float[starts.Length * bins * seg]; // [S, 1, F, segment frames], zero beyond the end
        for (int s = 0; s < starts.Length; s++)
        {
            int len = Math.Min(seg, f.Frames - starts[s]);
            for (int r = 0; r < bins; r++) f.Values.AsSpan(r * f.Frames + starts[s], len).CopyTo(x.AsSpan((s * bins + r) * seg, len));
        }
        var (_, internals) = model.Net.Forward(Tensor.FromArray(x, new Shape(starts.Length, 1, bins, seg), model.Backend));
        var a = internals.Attention; // [S, H, T', T']
        return new FcaAttention(a.Shape[1], seg, a.Shape[2], starts, a.ToArray(),
            internals.Centres?.ToArray(), internals.Widths?.ToArray(), internals.HeadWeights?.ToArray());
    }

    private static void InEvalMode(SerModel model, Action body)
    {
        bool training = model.Network.Training;
        model.Network.Eval();
        try
        {
            using var noGrad = Autograd.Graph.NoGrad();
            using var scope = TensorScope.Begin();
            body();
        }
        finally
        {
            model.Network.Train(training);
        }
    }
}
