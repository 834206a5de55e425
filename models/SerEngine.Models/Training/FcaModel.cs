using System.Globalization;
using System.Text;
using System.Text.Json;
using SerEngine.Audio;
using SerEngine.Backends;
using SerEngine.Models.Data;
using SerEngine.Nn;

namespace SerEngine.Models.Training;

/// <summary>How <see cref="FcaModel"/> cuts utterances into segments, in MFCC frames.</summary>
/// <param name="Frames">Segment length (63 frames = 2 s at hop 512).</param>
/// <param name="TrainHop">Hop between training segments (31 ≈ 1 s).</param>
/// <param name="EvalHop">Hop between evaluation segments (13 ≈ 0.4 s).</param>
public sealed record SegmentSettings(int Frames = 63, int TrainHop = 31, int EvalHop = 13)
{
    /// <summary>First frames of the segments of an utterance of <paramref name="frames"/> frames: every
    /// <paramref name="hop"/> frames while a whole segment fits, plus one ending at the last frame.</summary>
    public IReadOnlyList<int> Starts(int frames, int hop)
    {
        if (frames <= Frames) return [0];
        var starts = new List<int>();
        for (int s = 0; s + Frames <= frames; s += hop) starts.Add(s);
        if (starts[^1] + Frames < frames) starts.Add(frames - Frames);
        return starts;
    }
}

/// <summary>
/// <see cref="FocusCalibrationNet"/> for training: utterances cut into 2 s MFCC segments (audio
/// shorter than 2 s zero-padded first), hop 1 s for training and 0.4 s for evaluation; an
/// utterance's logits are the mean of its segments' logits (MODELS.md, B). Segments are cut from
/// the utterance's MFCC map, so features are computed once per utterance.
/// </summary>
public sealed class FcaModel : SerModel
{
    private const int EvalBatch = 64;

    /// <summary>Builds the network from <paramref name="config"/>.</summary>
    public FcaModel(FocusCalibrationNetConfig config, SegmentSettings segments, IReadOnlyList<string> labels, FeatureSpec features, Generator rng, Backend backend)
        : base(labels, features, rng, backend)
    {
        if (config.NumClasses != labels.Count) throw new ArgumentException($"config has {config.NumClasses} classes, labels {labels.Count}");
        if (config.FreqBins != features.Settings.Bins)
            throw new ArgumentException($"FocusCalibrationNet expects {config.FreqBins} MFCCs, the front end gives {features.Settings.Bins}");
        Segments = segments;
        Net = new FocusCalibrationNet(config, rng, backend);
    }

    /// <summary>The network.</summary>
    public FocusCalibrationNet Net { get; }

    /// <summary>Segment length and hops.</summary>
    public SegmentSettings Segments { get; }

    /// <inheritdoc/>
    public override string Kind => "fca";

    /// <inheritdoc/>
    public override Module Network => Net;

    /// <inheritdoc/>
    public override int DefaultBatchSize => 32;

    /// <inheritdoc/>
    public override string Description
    {
        get
        {
            var c = Net.Config;
            string attn = c.Focus && c.Calibration ? "focus + calibration" : c.Focus ? "focus only" : c.Calibration ? "calibration only" : "plain MHSA";
            return string.Create(CultureInfo.InvariantCulture,
                $"FocusCalibrationNet {c.Heads} heads × {c.HeadDim}, {attn}, dropout {c.Dropout}, {Segments.Frames}-frame segments; {Net.ParameterCount:N0} parameters");
        }
    }

    /// <summary>Samples of one segment (audio shorter than this is zero-padded before the MFCCs).</summary>
    public static int SegmentSamples(FeatureSettings settings, SegmentSettings segments) =>
        (segments.Frames - 1) * settings.Stft.HopLengthOrDefault;

    /// <inheritdoc/>
    public override string ConfigJson()
    {
        var c = Net.Config;
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms))
        {
            w.WriteStartObject();
            w.WriteNumber("num_classes", c.NumClasses);
            w.WriteNumber("freq_bins", c.FreqBins);
            w.WriteNumber("heads", c.Heads);
            w.WriteNumber("head_dim", c.HeadDim);
            w.WriteBoolean("focus", c.Focus);
            w.WriteBoolean("calibration", c.Calibration);
            w.WriteNumber("dropout", c.Dropout);
            w.WriteNumber("segment_frames", Segments.Frames);
            w.WriteNumber("train_hop_frames", Segments.TrainHop);
            w.WriteNumber("eval_hop_frames", Segments.EvalHop);
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(ms.ToArray());
    }

    /// <summary>Most attention heads a config may ask for.</summary>
    public const int MaxHeads = 1024;

    /// <summary>Largest head size a config may ask for.</summary>
    public const int MaxHeadDim = 4096;

    /// <summary>Largest attention width heads × head_dim a config may ask for.</summary>
    public const int MaxAttentionWidth = 65536;

    /// <summary>
    /// Reads what <see cref="ConfigJson"/> wrote, checking types and ranges (2..<see cref="FcnModel.MaxClasses"/>
    /// classes, 5..512 MFCCs, heads 1..<see cref="MaxHeads"/>, head_dim 1..<see cref="MaxHeadDim"/> with heads × head_dim at most
    /// <see cref="MaxAttentionWidth"/>, segments of 8..65536 frames, hops 1..segment); errors are
    /// <see cref="FormatException"/>s naming <paramref name="source"/> and the field.
    /// </summary>
    public static (FocusCalibrationNetConfig Config, SegmentSettings Segments) ParseConfig(string json, string source = "checkpoint") =>
        JsonFields.Parse(json, $"{source}: metadata 'config'", r =>
        {
            int heads = r.Int("heads", 1, MaxHeads), headDim = r.Int("head_dim", 1, MaxHeadDim);
            long width = (long)heads * headDim; // in long: heads × head_dim must not wrap
            if (width > MaxAttentionWidth)
                throw r.Bad("heads", string.Create(CultureInfo.InvariantCulture, $"× 'head_dim' must be at most {MaxAttentionWidth}, found {heads} × {headDim} = {width}"));
            var config = new FocusCalibrationNetConfig(r.Int("num_classes", 2, FcnModel.MaxClasses), r.Int("freq_bins", 5, 512), heads, headDim,
                r.Bool("focus"), r.Bool("calibration"), (float)r.Number("dropout", 0, 0.99));
            int frames = r.Int("segment_frames", 8, 65536);
            return (config, new SegmentSettings(frames, r.Int("train_hop_frames", 1, frames), r.Int("eval_hop_frames", 1, frames)));
        });

    /// <summary>
    /// Compares <paramref name="config"/> with the stored tensors' shapes before anything is built:
    /// the attention projections, focus and calibration parameters and the classifier.
    /// </summary>
    internal static void CheckStoredShapes(FocusCalibrationNetConfig config, IReadOnlyDictionary<string, SerEngine.IO.HostTensor> weights, string path)
    {
        int dIn = 80 * FocusCalibrationNet.EncodedBins(config.FreqBins), hd = config.Heads * config.HeadDim;
        string heads = string.Create(CultureInfo.InvariantCulture, $"config 'heads' {config.Heads} × 'head_dim' {config.HeadDim} and 'freq_bins' {config.FreqBins}");
        CheckpointChecks.Shape(weights, path, "attn.query.weight", [hd, dIn], heads);
        CheckpointChecks.Shape(weights, path, "attn.out.weight", [dIn, hd], heads);
        if (config.Focus) CheckpointChecks.Shape(weights, path, "attn.u_p", [config.Heads, config.HeadDim], heads);
        if (config.Calibration) CheckpointChecks.Shape(weights, path, "attn.calibration.weight", [config.Heads, hd], heads);
        CheckpointChecks.Shape(weights, path, "fc.weight", [config.NumClasses, dIn],
            string.Create(CultureInfo.InvariantCulture, $"config 'num_classes' {config.NumClasses} and 'freq_bins' {config.FreqBins}"));
    }

    /// <inheritdoc/>
    public override int MinimumFrames => 8;

    /// <inheritdoc/>
    public override void CheckInput(FeatureMatrix f, string name)
    {
        if (f.Bins != Net.Config.FreqBins) throw new DatasetException($"{name}: {f.Bins} MFCCs; the model expects {Net.Config.FreqBins}");
        if (f.Frames < MinimumFrames) throw new DatasetException($"{name}: {f.Frames} frames is too short for fca (FocusCalibrationNet needs at least {MinimumFrames})");
    }

    /// <inheritdoc/>
    public override IEnumerable<Example> TrainingExamples(int utterance, FeatureMatrix f) =>
        Segments.Starts(f.Frames, Segments.TrainHop).Select(s => new Example(utterance, s));

    /// <inheritdoc/>
    public override (Tensor X, int[]? Valid) BatchInput(IReadOnlyList<Example> batch, IReadOnlyList<FeatureMatrix> features) =>
        (Cut(batch, features), null);

    /// <inheritdoc/>
    public override Tensor Forward(Tensor x, int[]? valid) => Net.Forward(x).Logits;

    /// <inheritdoc/>
    public override string PredictionUnit => "segments";

    /// <inheritdoc/>
    public override float[][] PredictLogits(IReadOnlyList<FeatureMatrix> utterances, Action<int, int>? progress = null) => Evaluate(() =>
    {
        var segments = new List<Example>();
        for (int i = 0; i < utterances.Count; i++)
            foreach (var s in Segments.Starts(utterances[i].Frames, Segments.EvalHop)) segments.Add(new Example(i, s));
        int classes = Labels.Count;
        var sums = new double[utterances.Count * classes];
        var counts = new int[utterances.Count];
        for (int b = 0; b < segments.Count; b += EvalBatch)
        {
            using var scope = TensorScope.Begin();
            var batch = segments.GetRange(b, Math.Min(EvalBatch, segments.Count - b));
            var rows = Rows(Net.Forward(Cut(batch, utterances)).Logits);
            for (int j = 0; j < batch.Count; j++)
            {
                int u = batch[j].Utterance;
                counts[u]++;
                for (int c = 0; c < classes; c++) sums[u * classes + c] += rows[j][c];
            }
            progress?.Invoke(b + batch.Count, segments.Count);
        }
        var result = new float[utterances.Count][];
        for (int u = 0; u < utterances.Count; u++)
        {
            result[u] = new float[classes];
            for (int c = 0; c < classes; c++) result[u][c] = (float)(sums[u * classes + c] / counts[u]);
        }
        return result;
    });

    /// <summary>x [B, 1, F, segment frames]: each example's segment, zero beyond the utterance's end.</summary>
    private Tensor Cut(IReadOnlyList<Example> batch, IReadOnlyList<FeatureMatrix> features)
    {
        int n = batch.Count, f = Net.Config.FreqBins, t = Segments.Frames;
        return BatchTensor.Filled(new Shape(n, 1, f, t), Backend, x => // [B, 1, F, T]
        {
            for (int i = 0; i < n; i++)
            {
                var m = features[batch[i].Utterance];
                int start = batch[i].Start, len = Math.Min(t, m.Frames - start);
                for (int r = 0; r < f; r++)
                    m.Values.AsSpan(r * m.Frames + start, len).CopyTo(x.Slice((i * f + r) * t, len));
            }
        });
    }
}
