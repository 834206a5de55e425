using SerEngine.Audio;

namespace SerEngine.Models.Training;

/// <summary>
/// The settings <c>ser train --model fcn</c> fills in for options left unset: Paper A's exact recipe,
/// or the one measured to learn from scratch on new speakers (README, "Training AttentionFcn from
/// scratch"; benchmarks/results/*/PARITY.md).
/// </summary>
/// <param name="Name">What <c>--recipe</c> calls it.</param>
/// <param name="LearningRate">Adam's learning rate from scratch.</param>
/// <param name="WarmupEpochs">Epochs of linear learning-rate warm-up (0: none).</param>
/// <param name="ClipNorm">Largest global gradient norm (0: no clipping).</param>
/// <param name="BatchNorm">Batch norm after each convolution.</param>
/// <param name="Widths">The five conv widths (null: AlexNet's).</param>
/// <param name="Dropout">Dropout before the classifier.</param>
/// <param name="Normalization">Per-utterance feature normalisation.</param>
/// <param name="SpecAugment">Time and frequency masking of the training inputs.</param>
/// <param name="Lambda">Attention λ.</param>
/// <param name="WarpSemitones">Largest random frequency warp of the training inputs, in semitones (0: none).</param>
/// <param name="Bins">Log-spectrogram rows kept, from 0 Hz up (20 Hz each at n_fft 800: 200 is 0–4 kHz, 401 all of 0–8 kHz).</param>
/// <param name="Epochs">Epochs per fold.</param>
/// <param name="LrStepEpochs">Divide the learning rate by 10 every this many epochs (0: never).</param>
/// <param name="Patience">Early-stopping patience in epochs (0: run every epoch, keep the best validation UA).</param>
/// <param name="ValidationFraction">Share of the training utterances held out for validation.</param>
public sealed record FcnRecipe(string Name, float LearningRate, int WarmupEpochs, float ClipNorm, bool BatchNorm, int[]? Widths,
    float Dropout, FeatureNormalization Normalization, bool SpecAugment, float Lambda, float WarpSemitones, int Bins,
    int Epochs, int LrStepEpochs, int Patience, double ValidationFraction)
{
    /// <summary>Paper A (MODELS.md): AlexNet widths, Adam 1e-3 from scratch, dropout 0.5, per-bin normalisation, λ 0.3.</summary>
    public static FcnRecipe Paper { get; } = new("paper", 1e-3f, 0, 0f, false, null, 0.5f, FeatureNormalization.PerBin, false, 0.3f, 0f, Bins: 200,
        Epochs: 50, LrStepEpochs: 0, Patience: 10, ValidationFraction: 0.1);

    /// <summary>
    /// The recipe that learns from scratch (README, "Training AttentionFcn from scratch"): Paper A plus
    /// batch norm (no plateau at ln 4), widths 32, 64, 128, 128, 128 (a fifth of the multiply-adds; a
    /// few hundred utterances do not need AlexNet's 2.3 M weights), global normalisation (per-bin
    /// normalisation subtracts each bin's mean, and with it a steady pitch's harmonics), SpecAugment,
    /// a random frequency warp of ±7 semitones (new speakers' pitch and formants sit elsewhere), 0–6 kHz
    /// (300 bins: the overdrive of angry speech lies above Paper A's 4 kHz; 400 bins lost fold 4), and a
    /// schedule that settles: 30 epochs with lr ÷10 after 15, every epoch run, the best of a 20 %
    /// validation share kept (validation UA on 10 % swung by ±0.2 between epochs).
    /// </summary>
    public static FcnRecipe Scratch { get; } = new("scratch", 1e-3f, 0, 0f, true, [32, 64, 128, 128, 128], 0.5f, FeatureNormalization.Global, true, 0.3f, 7f, Bins: 300,
        Epochs: 30, LrStepEpochs: 15, Patience: 0, ValidationFraction: 0.2);

    /// <summary>The recipes by name.</summary>
    public static IReadOnlyList<FcnRecipe> All { get; } = [Scratch, Paper];

    /// <summary>The recipe called <paramref name="name"/>, or null.</summary>
    public static FcnRecipe? Find(string name) => All.FirstOrDefault(r => r.Name == name);
}
