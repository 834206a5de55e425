using System.Globalization;
using System.Text;
using System.Text.Json;
using SerEngine.Audio;
using SerEngine.Backends;
using SerEngine.Models.Data;
using SerEngine.Nn;

namespace SerEngine.Models.Training;

/// <summary>
/// <see cref="AttentionFcn"/> for training: one example per utterance (its whole log spectrogram),
/// batches zero-padded to the longest with the valid frame counts passed on, so padding gets zero
/// attention. Evaluation batches utterances of similar length.
/// </summary>
public sealed class FcnModel : SerModel
{
    private const int EvalBatch = 16;

    /// <summary>
    /// Builds the network from <paramref name="config"/> (its class count must match the labels);
    /// <paramref name="augment"/> masks training inputs when <see cref="SerModel.AugmentationRng"/> is set.
    /// </summary>
    public FcnModel(AttentionFcnConfig config, IReadOnlyList<string> labels, FeatureSpec features, Generator rng, Backend backend,
        SpecAugment? augment = null)
        : base(labels, features, rng, backend)
    {
        Augment = augment;
        if (config.NumClasses != labels.Count) throw new ArgumentException($"config has {config.NumClasses} classes, labels {labels.Count}");
        if (config.InChannels != 1) throw new ArgumentException($"training feeds one feature channel; config has {config.InChannels} input channels");
        Net = new AttentionFcn(config, rng, backend);
    }

    /// <summary>The network.</summary>
    public AttentionFcn Net { get; }

    /// <summary>Masking of training inputs (null: none).</summary>
    public SpecAugment? Augment { get; }

    /// <inheritdoc/>
    public override string Kind => "fcn";

    /// <inheritdoc/>
    public override Module Network => Net;

    /// <inheritdoc/>
    public override int DefaultBatchSize => 16;

    /// <inheritdoc/>
    public override string Description => string.Create(CultureInfo.InvariantCulture,
        $"AttentionFcn widths {string.Join(",", Net.Config.Widths)}{(Net.Config.BatchNorm ? ", batch norm" : "")}, λ {Net.Config.Lambda}, dropout {Net.Config.Dropout}; {Net.ParameterCount:N0} parameters");

    /// <summary>Samples needed for <see cref="AttentionFcn.MinimumLength"/> frames under <paramref name="settings"/>.</summary>
    public static int MinimumSamples(FeatureSettings settings)
    {
        var stft = settings.Stft;
        int frames = AttentionFcn.MinimumLength;
        int samples = stft.NFft + (frames - 1) * stft.HopLengthOrDefault - 2 * stft.Pad - (stft.Center ? 2 * (stft.NFft / 2) : 0);
        return Math.Max(settings.MinSamples, samples);
    }

    /// <inheritdoc/>
    public override string ConfigJson()
    {
        var c = Net.Config;
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms))
        {
            w.WriteStartObject();
            w.WriteNumber("num_classes", c.NumClasses);
            w.WriteNumber("in_channels", c.InChannels);
            w.WriteStartArray("widths");
            foreach (var x in c.Widths) w.WriteNumberValue(x);
            w.WriteEndArray();
            w.WriteNumber("lambda", c.Lambda);
            w.WriteNumber("dropout", c.Dropout);
            if (c.BatchNorm) w.WriteBoolean("batchnorm", true); // absent in Paper A checkpoints
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(ms.ToArray());
    }

    /// <summary>Widest layer a stored config may ask for (16× AlexNet's widest).</summary>
    public const int MaxWidth = 4096;

    /// <summary>Most classes a stored config may ask for.</summary>
    public const int MaxClasses = 1024;

    /// <summary>
    /// Reads what <see cref="ConfigJson"/> wrote, checking types and ranges (widths 1..<see cref="MaxWidth"/>,
    /// 2..<see cref="MaxClasses"/> classes, one input channel, finite λ, dropout in [0, 1)); errors are
    /// <see cref="FormatException"/>s naming <paramref name="source"/> and the field.
    /// </summary>
    public static AttentionFcnConfig ParseConfig(string json, string source = "checkpoint") =>
        JsonFields.Parse(json, $"{source}: metadata 'config'", r => new AttentionFcnConfig(
            r.Int("num_classes", 2, MaxClasses), r.Int("in_channels", 1, 1), r.IntArray("widths", 5, 1, MaxWidth),
            (float)r.Number("lambda", -1e6, 1e6), (float)r.Number("dropout", 0, 0.99), r.Has("batchnorm") && r.Bool("batchnorm")));

    /// <summary>
    /// Compares <paramref name="config"/> with the stored tensors' shapes before anything is built:
    /// each convolution's and the classifier's full shape must be what the config implies.
    /// </summary>
    internal static void CheckStoredShapes(AttentionFcnConfig config, IReadOnlyDictionary<string, SerEngine.IO.HostTensor> weights, string path)
    {
        var w = config.Widths;
        int[] convs = [0, 3, 6, 8, 10];
        int[] kernels = [11, 5, 3, 3, 3];
        for (int i = 0; i < 5; i++)
            CheckpointChecks.Shape(weights, path, $"features.{convs[i]}.weight", [w[i], i == 0 ? config.InChannels : w[i - 1], kernels[i], kernels[i]],
                string.Create(CultureInfo.InvariantCulture, $"config 'widths' [{string.Join(", ", w)}]"));
        CheckpointChecks.Shape(weights, path, "fc.weight", [config.NumClasses, w[4]],
            string.Create(CultureInfo.InvariantCulture, $"config 'num_classes' {config.NumClasses} and 'widths'"));
    }

    /// <inheritdoc/>
    public override int MinimumFrames => AttentionFcn.MinimumLength;

    /// <inheritdoc/>
    public override void CheckInput(FeatureMatrix f, string name)
    {
        int min = MinimumFrames;
        if (f.Frames < min)
        {
            double need = MinimumSamples(Features.Settings) / (double)Features.Settings.SampleRate;
            throw new DatasetException(string.Create(CultureInfo.InvariantCulture,
                $"{name}: {f.Frames} frames is too short for fcn (AttentionFcn needs at least {min} frames = {need:0.###} s); remove it or use --pad-short"));
        }
        if (f.Bins < min) throw new DatasetException($"{name}: {f.Bins} feature bins; AttentionFcn needs at least {min}");
    }

    /// <inheritdoc/>
    public override IEnumerable<Example> TrainingExamples(int utterance, FeatureMatrix f) => [new Example(utterance, 0)];

    /// <inheritdoc/>
    public override (Tensor X, int[]? Valid) BatchInput(IReadOnlyList<Example> batch, IReadOnlyList<FeatureMatrix> features) =>
        Pad([.. batch.Select(e => features[e.Utterance])], Net.Training && Augment is not null ? AugmentationRng : null);

    /// <inheritdoc/>
    public override Tensor Forward(Tensor x, int[]? valid) => Net.Forward(x, valid).Logits;

    /// <inheritdoc/>
    public override float[][] PredictLogits(IReadOnlyList<FeatureMatrix> utterances, Action<int, int>? progress = null) => Evaluate(() =>
    {
        var result = new float[utterances.Count][];
        var order = Enumerable.Range(0, utterances.Count).OrderBy(i => utterances[i].Frames).ThenBy(i => i).ToArray();
        for (int b = 0; b < order.Length; b += EvalBatch)
        {
            using var scope = TensorScope.Begin();
            var idx = order.Skip(b).Take(EvalBatch).ToArray();
            var (x, valid) = Pad([.. idx.Select(i => utterances[i])]);
            var rows = Rows(Net.Forward(x, valid).Logits);
            for (int j = 0; j < idx.Length; j++) result[idx[j]] = rows[j];
            progress?.Invoke(b + idx.Length, order.Length);
        }
        return result;
    });

    /// <summary>x [B, 1, F, T_max] zero-padded (and masked by <see cref="Augment"/> from <paramref name="augment"/>), and the valid frames of each item.</summary>
    private (Tensor X, int[] Valid) Pad(List<FeatureMatrix> items, Generator? augment = null)
    {
        int n = items.Count, f = items[0].Bins, t = items.Max(m => m.Frames);
        var valid = new int[n];
        for (int i = 0; i < n; i++)
        {
            if (items[i].Bins != f) throw new ArgumentException($"feature maps of {items[i].Bins} and {f} bins in one batch");
            valid[i] = items[i].Frames;
        }
        var x = BatchTensor.Filled(new Shape(n, 1, f, t), Backend, v => // [B, 1, F, T_max]
        {
            for (int i = 0; i < n; i++)
            {
                var m = items[i];
                for (int r = 0; r < f; r++)
                    m.Values.AsSpan(r * m.Frames, m.Frames).CopyTo(v.Slice((i * f + r) * t, m.Frames));
                if (augment is not null) Augment!.Apply(v.Slice(i * f * t, f * t), f, m.Frames, t, augment);
            }
        });
        return (x, valid);
    }
}
