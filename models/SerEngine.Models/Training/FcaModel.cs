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

    /// <summary>Reads what <see cref="ConfigJson"/> wrote.</summary>
    public static (FocusCalibrationNetConfig Config, SegmentSettings Segments) ParseConfig(string json)
    {
        using var doc = JsonDocument.Parse(json);
        var r = doc.RootElement;
        var config = new FocusCalibrationNetConfig(r.GetProperty("num_classes").GetInt32(), r.GetProperty("freq_bins").GetInt32(),
            r.GetProperty("heads").GetInt32(), r.GetProperty("head_dim").GetInt32(), r.GetProperty("focus").GetBoolean(),
            r.GetProperty("calibration").GetBoolean(), r.GetProperty("dropout").GetSingle());
        var segments = new SegmentSettings(r.GetProperty("segment_frames").GetInt32(), r.GetProperty("train_hop_frames").GetInt32(),
            r.GetProperty("eval_hop_frames").GetInt32());
        return (config, segments);
    }

    /// <inheritdoc/>
    public override void CheckInput(FeatureMatrix f, string name)
    {
        if (f.Bins != Net.Config.FreqBins) throw new DatasetException($"{name}: {f.Bins} MFCCs; the model expects {Net.Config.FreqBins}");
        if (f.Frames < 8) throw new DatasetException($"{name}: {f.Frames} frames is too short for fca (FocusCalibrationNet needs at least 8)");
    }

    /// <inheritdoc/>
    public override IEnumerable<Example> TrainingExamples(int utterance, FeatureMatrix f) =>
        Segments.Starts(f.Frames, Segments.TrainHop).Select(s => new Example(utterance, s));

    /// <inheritdoc/>
    public override Tensor Logits(IReadOnlyList<Example> batch, IReadOnlyList<FeatureMatrix> features) =>
        Net.Forward(Cut(batch, features)).Logits;

    /// <inheritdoc/>
    public override float[][] PredictLogits(IReadOnlyList<FeatureMatrix> utterances) => Evaluate(() =>
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
        var x = new float[n * f * t]; // [B, 1, F, T]
        for (int i = 0; i < n; i++)
        {
            var m = features[batch[i].Utterance];
            int start = batch[i].Start, len = Math.Min(t, m.Frames - start);
            for (int r = 0; r < f; r++)
                m.Values.AsSpan(r * m.Frames + start, len).CopyTo(x.AsSpan((i * f + r) * t, len));
        }
        return Tensor.FromArray(x, new Shape(n, 1, f, t), Backend);
    }
}
