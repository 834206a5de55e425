using SerEngine.Backends.Cpu;

namespace SerEngine.Backends.Gpu;

// Launch code of the fused mel features (kernels/spectrogram.cl: spectrogram_fft's mel epilogue and
// mel_features_floor). Dimension legend: N = nFft, T = frames, K = plan.NFreq, M = plan.NMels,
// C = plan.NMfcc. Launches: one (no top_db floor) or two (top_db ≥ 0 with decibels), against the
// composed variant's three to six. ChooseMelFeatures is the one place that decides.
public abstract partial class GpuBackend
{
    /// <summary>Environment variable choosing the mel features variant (one of <see cref="MelFeaturesVariants"/>).</summary>
    public const string MelFeaturesVariantEnvironmentVariable = "SERENGINE_MELFEATURES_VARIANT";

    /// <summary>Mel feature implementations, simplest first: the composed primitives, the fused epilogue.</summary>
    public static IReadOnlyList<string> MelFeaturesVariants { get; } = ["composed", "fused"];

    /// <summary>The default mel features variant: fused where the FFT kernel runs.</summary>
    public const string DefaultMelFeaturesVariant = "fused";

    // mel_features_floor's work-group: one work-item per frame.
    private const int MelFloorGroup = 64;

    private string? _melFeaturesVariant;

    /// <summary>
    /// The variant asked for: <c>fused</c> (the default; shapes it cannot take still compose) or
    /// <c>composed</c>. Starts as <c>$SERENGINE_MELFEATURES_VARIANT</c>, else <see cref="DefaultMelFeaturesVariant"/>.
    /// </summary>
    /// <exception cref="ArgumentException">An unknown variant name.</exception>
    public string MelFeaturesVariant
    {
        get => _melFeaturesVariant ??= VariantFromEnvironment(MelFeaturesVariantEnvironmentVariable, MelFeaturesVariants, DefaultMelFeaturesVariant, "mel features");
        set => _melFeaturesVariant = CheckVariant(value, MelFeaturesVariants, "mel features");
    }

    /// <summary>
    /// The implementation mel features of <paramref name="nFft"/> and <paramref name="plan"/> run:
    /// <c>fused</c> when that variant is asked for, the spectrogram runs spectrogram_fft (the epilogue
    /// lives in it: not under the naive or tiled spectrogram variants, nor past the FFT's size limit),
    /// and the bins the filters read and the mel bands each fit the FFT's free local half (FFT_MAX);
    /// else <c>composed</c>.
    /// </summary>
    public string ChooseMelFeatures(int nFft, MelFeaturePlan plan)
    {
        ArgumentNullException.ThrowIfNull(plan);
        return MelFeaturesVariant == "fused" && SpectrogramKernelFor(nFft) == "spectrogram_fft"
            && plan.UsedBins <= SpectrogramFftPlan.MaxPoints && plan.NMels <= SpectrogramFftPlan.MaxPoints ? "fused" : "composed";
    }

    /// <inheritdoc/>
    public override string MelFeaturesImplementation(int nFft, MelFeaturePlan plan) => ChooseMelFeatures(nFft, plan);

    /// <inheritdoc/>
    public override void MelFeatures(Storage signal, Storage window, Storage y, int nFft, int hop, int frames, float power, MelFeaturePlan plan)
    {
        if (ChooseMelFeatures(nFft, plan) != "fused")
        {
            base.MelFeatures(signal, window, y, nFft, hop, frames, power, plan);
            return;
        }
        CpuReferenceBackend.CheckSpectrogramArgs(signal, window, y, nFft, hop, frames, 0, power); // y is checked below
        CheckMelFeatures(y, nFft, frames, plan);
        if (frames == 0) return;
        int m = plan.NMels, c = plan.NMfcc;
        bool floorLater = plan.NeedsUtteranceMax;
        var fftPlan = SpectrogramFftPlan.For(nFft);
        using var perCallPlan = DeviceTable(_deviceFftPlans, nFft, _ => fftPlan.Table, out var planTable); // [plan length]
        using var perCallMel = MelTable(plan, 2, out var melTable);                                         // PackedTable
        using var dbMel = floorLater && c > 0 ? Allocate(m * frames, DType.Float32) : null;                // [M, T] before floor and DCT
        using var partialMax = floorLater ? Allocate(frames, DType.Float32) : null;                        // [T]
        var first = dbMel ?? y; // [M, T], or [C, T] when the DCT runs in the first launch
        int scale = plan.Scale switch { MelFeatureScale.Log => 1, MelFeatureScale.Decibels => 2, _ => 0 };
        float offset = plan.Scale == MelFeatureScale.Log ? plan.LogOffset : plan.Multiplier * plan.DbMultiplier;
        // one work-group per frame: FFT, |X|^power of the bins the filters read, mel, scaling (and the DCT without a floor)
        Launch(SpectrogramFile, "spectrogram_fft", SpectrogramOptions, [(long)frames * SpecFftGroup], [SpecFftGroup],
            [signal, window, planTable, first, nFft, hop, frames, plan.UsedBins, power, fftPlan.BluesteinM,
             melTable, partialMax ?? first, m, floorLater ? 0 : c, plan.DctOffset, scale, plan.Multiplier, plan.Amin, offset, floorLater ? 1 : 0]);
        if (!floorLater) return;
        // one work-item per frame: the utterance's maximum, the floor, the DCT
        Launch(SpectrogramFile, "mel_features_floor", SpectrogramOptions, [frames], [MelFloorGroup],
            [first, partialMax!, melTable, y, m, frames, frames, c, plan.DctOffset, plan.TopDb]);
    }
}
