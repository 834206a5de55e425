using SerEngine.Backends;
using SerEngine.Models.Attention;
using SerEngine.Nn;

namespace SerEngine.Models;

/// <summary>Settings of <see cref="AttentionFcn"/> (MODELS.md, A).</summary>
/// <param name="NumClasses">Output classes.</param>
/// <param name="InChannels">Input channels (1 for a spectrogram).</param>
/// <param name="Widths">Channel widths w0..w4 of the five convolutions.</param>
/// <param name="Lambda">λ, the fixed scale on the attention energies.</param>
/// <param name="Dropout">Dropout before the classifier.</param>
/// <param name="BatchNorm">A batch norm between each convolution and its ReLU (<c>norm.{conv index}</c>); not in Paper A.</param>
public sealed record AttentionFcnConfig(int NumClasses, int InChannels = 1, int[]? Widths = null, float Lambda = 0.3f, float Dropout = 0.5f,
    bool BatchNorm = false)
{
    /// <summary>The five widths; AlexNet's (64, 192, 384, 256, 256) by default.</summary>
    public int[] Widths { get; init; } = Widths ?? [64, 192, 384, 256, 256];
}

/// <summary>
/// Zhang et al. 2018: an AlexNet-style fully convolutional encoder, attention pooling over every
/// time-frequency position of its last feature map, and a linear classifier. Input x [N, C, F, T];
/// utterances of different lengths are zero-padded and carry their valid frame counts, so padded
/// positions get exactly zero attention.
/// </summary>
public sealed partial class AttentionFcn : Module
{
    // (kernel, stride, padding) along time of each conv/pool of the encoder, in order.
    private static readonly (int K, int S, int P)[] TimeSteps =
        [(11, 4, 2), (3, 2, 0), (5, 1, 2), (3, 2, 0), (3, 1, 1), (3, 1, 1), (3, 1, 1), (3, 2, 0)];

    private readonly Generator _rng;

    /// <summary>Builds the network with PyTorch-default initialisation from <paramref name="rng"/>.</summary>
    public AttentionFcn(AttentionFcnConfig config, Generator rng, Backend? backend = null)
    {
        Config = config;
        _rng = rng;
        var w = config.Widths;
        if (w.Length != 5) throw new ArgumentException($"AttentionFcn needs 5 widths, got {w.Length}");
        Features = RegisterModule("features", new Sequential(
            new Conv2d(config.InChannels, w[0], (11, 11), rng, stride: (4, 4), padding: (2, 2), backend: backend), // 0
            new Relu(),                                                                                         // 1
            new MaxPool2d((3, 3), (2, 2)),                                                                      // 2
            new Conv2d(w[0], w[1], (5, 5), rng, padding: (2, 2), backend: backend),                             // 3
            new Relu(),                                                                                         // 4
            new MaxPool2d((3, 3), (2, 2)),                                                                      // 5
            new Conv2d(w[1], w[2], (3, 3), rng, padding: (1, 1), backend: backend),                             // 6
            new Relu(),                                                                                         // 7
            new Conv2d(w[2], w[3], (3, 3), rng, padding: (1, 1), backend: backend),                             // 8
            new Relu(),                                                                                         // 9
            new Conv2d(w[3], w[4], (3, 3), rng, padding: (1, 1), backend: backend),                             // 10
            new Relu(),                                                                                         // 11
            new MaxPool2d((3, 3), (2, 2))));                                                                    // 12
        if (config.BatchNorm)
        {
            Norms = RegisterModule("norm", new LayerMap<BatchNorm2d>());
            for (int i = 0; i < Features.Layers.Count; i++)
                if (Features.Layers[i] is Conv2d conv) Norms.Add(Index(i), new BatchNorm2d(conv.Weight.Shape[0], backend: backend));
        }
        Attention = RegisterModule("attention", new AttentionPool(w[4], config.Lambda, rng, backend));
        Fc = RegisterModule("fc", new Linear(w[4], config.NumClasses, rng, backend: backend));
    }

    /// <summary>The settings.</summary>
    public AttentionFcnConfig Config { get; }

    /// <summary><c>features.*</c>: the AlexNet-shaped encoder.</summary>
    public Sequential Features { get; }

    /// <summary><c>norm.*</c>: the batch norm after each convolution, keyed by its index in <see cref="Features"/> (null without <see cref="AttentionFcnConfig.BatchNorm"/>).</summary>
    public LayerMap<BatchNorm2d>? Norms { get; }

    /// <summary>The batch norm after layer <paramref name="index"/> of <see cref="Features"/>, or null.</summary>
    public BatchNorm2d? NormAfter(int index) => Norms?.Find(Index(index));

    private static string Index(int i) => i.ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary><c>attention.*</c>: attention pooling.</summary>
    public AttentionPool Attention { get; }

    /// <summary><c>fc.*</c>: the classifier.</summary>
    public Linear Fc { get; }

    /// <summary>Frames (or bins) left after the encoder for an input of <paramref name="length"/>; ≤ 0 means too short.</summary>
    public static int EncodedLength(int length)
    {
        int n = length;
        foreach (var (k, s, p) in TimeSteps)
        {
            if (n + 2 * p < k) return 0;
            n = (n + 2 * p - k) / s + 1;
        }
        return n;
    }

    /// <summary>The smallest input length the encoder accepts.</summary>
    public static int MinimumLength
    {
        get
        {
            int n = 1;
            while (EncodedLength(n) < 1) n++;
            return n;
        }
    }

    /// <summary>
    /// Logits [N, classes] and attention weights α [N, F'·T'] (position l = f·T' + t).
    /// <paramref name="validFrames"/> (one per item, ≤ T) marks the zero padding of shorter utterances.
    /// In eval mode without gradient tracking the encoder takes the fused inference path (<see cref="FusedInference"/>).
    /// </summary>
    public (Tensor Logits, Tensor Alpha) Forward(Tensor x, int[]? validFrames = null)
    {
        if (x.Rank != 4 || x.Shape[1] != Config.InChannels)
            throw new ArgumentException($"AttentionFcn expects x [N, {Config.InChannels}, F, T], got {x.Shape}");
        int n = x.Shape[0], f = x.Shape[2], t = x.Shape[3];
        int min = MinimumLength;
        if (t < min || f < min)
            throw new ArgumentException($"input of {f} bins × {t} frames is too short for the AttentionFcn encoder: it needs at least {min} frames and {min} bins");
        if (validFrames is not null)
        {
            if (validFrames.Length != n) throw new ArgumentException($"{validFrames.Length} valid lengths for a batch of {n}");
            for (int i = 0; i < n; i++)
                if (validFrames[i] < min || validFrames[i] > t)
                    throw new ArgumentException($"item {i}: {validFrames[i]} valid frames; must be between {min} and the padded length {t}");
        }
        var (h, valid) = UsesFusedPath() ? EncodeFused(x, validFrames) : Encode(x, validFrames); // [N, w4, F', T'], valid T' per item
        int c = h.Shape[1], fo = h.Shape[2], to = h.Shape[3];
        var a = h.Reshape(n, c, fo * to).Transpose(1, 2);              // [N, L, w4], l = f·T' + t
        Tensor? mask = null;
        if (valid is not null)
        {
            var m = new int[n * fo * to];                              // [N, L], 1 = valid position
            for (int i = 0; i < n; i++)
                for (int fi = 0; fi < fo; fi++)
                    for (int ti = 0; ti < to; ti++) m[(i * fo + fi) * to + ti] = ti < valid[i] ? 1 : 0;
            mask = Tensor.FromArray(m, new Shape(n, fo * to), x.Backend);
        }
        var (context, alpha) = Attention.Forward(a, mask);             // [N, w4], [N, L]
        var logits = Fc.Forward(Ops.Dropout(context, Config.Dropout, Training, _rng));
        return (logits, alpha);
    }

    /// <summary>
    /// The encoder. With valid lengths, every column beyond an item's valid length is zeroed after
    /// each conv and pool: padded frames would otherwise become ReLU(bias) and the next padded
    /// convolution would carry them into the last valid columns, so an utterance's output would
    /// depend on the longer utterances of its batch. Zeroed, the batch computes what each item
    /// computes alone (where the convolution's own zero padding sits in those columns). A batch
    /// norm takes its training statistics from the valid columns only, for the same reason.
    /// </summary>
    private (Tensor H, int[]? Valid) Encode(Tensor x, int[]? validFrames)
    {
        if (validFrames is null && Norms is null) return (Features.Forward(x), null);
        var valid = (int[]?)validFrames?.Clone();
        for (int i = 0; i < Features.Layers.Count; i++)
        {
            var layer = Features.Layers[i];
            x = layer.Forward(x);
            if (!ShrinksTime(layer, valid)) continue;                  // ReLU keeps zeros zero
            if (NormAfter(i) is { } norm)
            {
                // its statistics skip the padding, and it zeroes the padding; a ReLU after it runs in the same op
                if (i + 1 < Features.Layers.Count && Features.Layers[i + 1] is Relu)
                {
                    x = norm.ForwardRelu(x, valid);
                    i++;
                }
                else x = norm.Forward(x, valid);
            }
            else if (valid is not null) x = ZeroBeyond(x, valid);
        }
        return (x, valid);
    }

    /// <summary>
    /// True when <paramref name="layer"/> (a conv or pool) maps frames to fewer frames; then each valid
    /// length in <paramref name="valid"/> becomes the layer's output length for it.
    /// </summary>
    private static bool ShrinksTime(Layer layer, int[]? valid)
    {
        (int K, int S, int P)? time = layer switch
        {
            Conv2d conv => (conv.Kernel.W, conv.Stride.W, conv.Padding.W),
            MaxPool2d pool => (pool.Kernel.W, pool.Stride.W, pool.Padding.W),
            _ => null,
        };
        if (time is not { } step) return false;
        if (valid is not null)
            for (int j = 0; j < valid.Length; j++) valid[j] = Conv2d.OutputSize(valid[j], step.K, step.S, step.P);
        return true;
    }

    /// <summary>x [N, C, F, T] with the columns t ≥ valid[i] of item i set to zero (x itself when none is padded).</summary>
    private static Tensor ZeroBeyond(Tensor x, int[] valid)
    {
        int t = x.Shape[3];
        if (valid.All(v => v >= t)) return x;
        return Ops.Mul(x, Masks.Columns(valid, t, x.Backend));
    }
}
