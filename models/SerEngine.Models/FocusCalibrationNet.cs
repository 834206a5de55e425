using SerEngine.Backends;
using SerEngine.Models.Attention;
using SerEngine.Nn;

namespace SerEngine.Models;

/// <summary>Settings of <see cref="FocusCalibrationNet"/> (MODELS.md, B).</summary>
/// <param name="NumClasses">Output classes.</param>
/// <param name="FreqBins">MFCC count F (26); fixes d_in = 80·F'.</param>
/// <param name="Heads">Attention heads H.</param>
/// <param name="HeadDim">Head size dh.</param>
/// <param name="Focus">Focus-Attention on.</param>
/// <param name="Calibration">Calibration-Attention on.</param>
/// <param name="Dropout">Dropout on attention weights and before the classifier.</param>
public sealed record FocusCalibrationNetConfig(int NumClasses, int FreqBins = 26, int Heads = 4, int HeadDim = 64,
    bool Focus = true, bool Calibration = true, float Dropout = 0.1f);

/// <summary>
/// Kim et al. 2022: a Head-Fusion CNN over MFCC segments x [N, 1, F, T], then multi-head
/// self-attention over time with Focus- and Calibration-Attention, mean over time, classifier.
/// </summary>
public sealed partial class FocusCalibrationNet : Module
{
    private readonly Generator _rng;

    /// <summary>Builds the network with PyTorch-default initialisation from <paramref name="rng"/>.</summary>
    public FocusCalibrationNet(FocusCalibrationNetConfig config, Generator rng, Backend? backend = null)
    {
        Config = config;
        _rng = rng;
        Conv1a = RegisterModule("conv1a", new Conv2d(1, 8, (10, 2), rng, padding: (4, 0), backend: backend));
        Bn1a = RegisterModule("bn1a", new BatchNorm2d(8, backend: backend));
        Conv1b = RegisterModule("conv1b", new Conv2d(1, 8, (2, 8), rng, padding: (0, 3), backend: backend));
        Bn1b = RegisterModule("bn1b", new BatchNorm2d(8, backend: backend));
        Conv2 = RegisterModule("conv2", new Conv2d(16, 32, (3, 3), rng, padding: (1, 1), backend: backend));
        Bn2 = RegisterModule("bn2", new BatchNorm2d(32, backend: backend));
        Conv3 = RegisterModule("conv3", new Conv2d(32, 48, (3, 3), rng, padding: (1, 1), backend: backend));
        Bn3 = RegisterModule("bn3", new BatchNorm2d(48, backend: backend));
        Conv4 = RegisterModule("conv4", new Conv2d(48, 64, (3, 3), rng, padding: (1, 1), backend: backend));
        Bn4 = RegisterModule("bn4", new BatchNorm2d(64, backend: backend));
        Conv5 = RegisterModule("conv5", new Conv2d(64, 80, (3, 3), rng, padding: (1, 1), backend: backend));
        Bn5 = RegisterModule("bn5", new BatchNorm2d(80, backend: backend));
        DIn = 80 * EncodedBins(config.FreqBins);
        Attn = RegisterModule("attn", new FocusCalibrationAttention(DIn, config.Heads, config.HeadDim, config.Focus, config.Calibration, config.Dropout, rng, backend));
        Fc = RegisterModule("fc", new Linear(DIn, config.NumClasses, rng, backend: backend));
    }

    /// <summary>The settings.</summary>
    public FocusCalibrationNetConfig Config { get; }

    /// <summary>Token size 80·F'.</summary>
    public int DIn { get; }

#pragma warning disable CS1591 // the layers are named as in MODELS.md
    public Conv2d Conv1a { get; }
    public BatchNorm2d Bn1a { get; }
    public Conv2d Conv1b { get; }
    public BatchNorm2d Bn1b { get; }
    public Conv2d Conv2 { get; }
    public BatchNorm2d Bn2 { get; }
    public Conv2d Conv3 { get; }
    public BatchNorm2d Bn3 { get; }
    public Conv2d Conv4 { get; }
    public BatchNorm2d Bn4 { get; }
    public Conv2d Conv5 { get; }
    public BatchNorm2d Bn5 { get; }
    public FocusCalibrationAttention Attn { get; }
    public Linear Fc { get; }
#pragma warning restore CS1591

    /// <summary>F' after the two 2×2 pools (conv1a/1b keep F − 1).</summary>
    public static int EncodedBins(int freqBins) => (freqBins - 1) / 2 / 2;

    /// <summary>
    /// Logits [N, classes] and the attention internals. In eval mode without gradient tracking this
    /// takes the fused inference path (<see cref="FusedInference"/>).
    /// </summary>
    public (Tensor Logits, FocusCalibrationAttention.Internals Internals) Forward(Tensor x)
    {
        if (x.Rank != 4 || x.Shape[1] != 1 || x.Shape[2] != Config.FreqBins)
            throw new ArgumentException($"FocusCalibrationNet expects x [N, 1, {Config.FreqBins}, T], got {x.Shape}");
        if (x.Shape[3] < 8)
            throw new ArgumentException($"input of {x.Shape[3]} frames is too short for FocusCalibrationNet: it needs at least 8 frames");
        if (UsesFusedPath()) return ForwardFused(x);
        // ReLU(BN(·)) of both branches, written side by side: [N, 16, F−1, T−1] = concat of two [N, 8, F−1, T−1].
        // Each conv's bias gradient (Σ of the batch norm's dx) comes from the batch-norm op, as it writes dx.
        var h = Ops.BatchNormRelu([Bn1a.ReluInput(Conv1a.ForwardBiasDetached(x), Conv1a.Bias), Bn1b.ReluInput(Conv1b.ForwardBiasDetached(x), Conv1b.Bias)], Training);
        h = Bn2.ForwardReluMaxPool(Conv2.ForwardBiasDetached(h), (2, 2), Conv2.Bias); // [N, 32, ⌊(F−1)/2⌋, ⌊(T−1)/2⌋]
        h = Bn3.ForwardReluMaxPool(Conv3.ForwardBiasDetached(h), (2, 2), Conv3.Bias); // [N, 48, F', T']
        h = Bn4.ForwardRelu(Conv4.ForwardBiasDetached(h), Conv4.Bias);                // [N, 64, F', T']
        h = Bn5.ForwardRelu(Conv5.ForwardBiasDetached(h), Conv5.Bias);                // [N, 80, F', T']
        int n = h.Shape[0], c = h.Shape[1], f = h.Shape[2], t = h.Shape[3];
        var tokens = h.Permute(0, 3, 1, 2).Reshape(n, t, c * f);        // [N, T', 80·F'], feature c·F' + f
        var (attended, internals) = Attn.Forward(tokens);
        var z = (tokens + attended).Relu().Mean([1]);                   // [N, d_in]
        var logits = Fc.Forward(Ops.Dropout(z, Config.Dropout, Training, _rng));
        return (logits, internals);
    }
}
