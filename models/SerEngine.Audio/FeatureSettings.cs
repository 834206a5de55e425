namespace SerEngine.Audio;

/// <summary>Which feature map <see cref="AudioFeatures"/> computes.</summary>
public enum FeatureKind
{
    /// <summary><c>log(1 + |X|^power)</c> of the lowest <see cref="FeatureSettings.KeepBins"/> STFT bins (Paper A).</summary>
    LogSpectrogram,
    /// <summary><c>log(1 + mel)</c> of the mel filterbank applied to |X|^power (Paper A's log-mel option).</summary>
    LogMel,
    /// <summary>MFCC as torchaudio.transforms.MFCC (Paper B).</summary>
    Mfcc,
}

/// <summary>Per-utterance normalisation applied last.</summary>
public enum FeatureNormalization
{
    /// <summary>None.</summary>
    None,
    /// <summary>Each bin (row) to zero mean and unit variance over the utterance's frames.</summary>
    PerBin,
    /// <summary>The whole utterance's matrix to zero mean and unit variance.</summary>
    Global,
}

/// <summary>
/// Everything a model's front end needs: sample rate, STFT, mel and cepstral settings,
/// normalisation. Use the presets <see cref="PaperA"/>, <see cref="PaperALogMel"/> and
/// <see cref="PaperB"/> (shared/docs/MODELS.md, "Features"), or change them with <c>with</c>.
/// </summary>
public sealed record FeatureSettings
{
    /// <summary>The feature map.</summary>
    public FeatureKind Kind { get; init; } = FeatureKind.LogSpectrogram;

    /// <summary>Sample rate the features are computed at; other rates are resampled first.</summary>
    public int SampleRate { get; init; } = 16000;

    /// <summary>STFT settings.</summary>
    public StftSettings Stft { get; init; } = new();

    /// <summary>Log spectrogram: keep the lowest this many bins (0 keeps all n_fft/2 + 1).</summary>
    public int KeepBins { get; init; }

    /// <summary>Mel settings (LogMel, Mfcc); its sample rate is replaced by <see cref="SampleRate"/>.</summary>
    public MelSettings Mel { get; init; } = new();

    /// <summary>MFCC: coefficients kept.</summary>
    public int NMfcc { get; init; } = 26;

    /// <summary>MFCC: dB floor below the maximum (null: none).</summary>
    public double? TopDb { get; init; } = 80.0;

    /// <summary>Normalisation applied last.</summary>
    public FeatureNormalization Normalization { get; init; }

    /// <summary>
    /// Paper A: 16 kHz, periodic Hamming 640 inside n_fft 800, hop 160, no centring, magnitude,
    /// lowest 200 bins (0–4 kHz), log(1 + |X|), per-bin mean/variance normalisation → <c>[200, frames]</c>.
    /// </summary>
    public static FeatureSettings PaperA { get; } = new()
    {
        Kind = FeatureKind.LogSpectrogram,
        Stft = new StftSettings { NFft = 800, WinLength = 640, HopLength = 160, Window = WindowKind.Hamming, Center = false, Power = 1.0 },
        KeepBins = 200,
        Normalization = FeatureNormalization.PerBin,
    };

    /// <summary>
    /// Paper A's log-mel option: the same STFT, 64 HTK mel bands over 0–8 kHz (no filter norm) instead
    /// of the bin cut, log(1 + mel), per-bin normalisation → <c>[64, frames]</c>.
    /// </summary>
    public static FeatureSettings PaperALogMel { get; } = PaperA with
    {
        Kind = FeatureKind.LogMel,
        KeepBins = 0,
        Mel = new MelSettings { NMels = 64, Scale = MelScale.Htk, Norm = MelNorm.None },
    };

    /// <summary>
    /// Paper B: 16 kHz, periodic Hann 2048, hop 512, centred with zero padding, power, 128 Slaney
    /// mel bands with Slaney norm, dB with top_db 80, orthonormal DCT-II, 26 MFCCs, no normalisation
    /// → <c>[26, frames]</c> (63 frames per 2 s).
    /// </summary>
    public static FeatureSettings PaperB { get; } = new()
    {
        Kind = FeatureKind.Mfcc,
        Stft = new StftSettings { NFft = 2048, WinLength = 2048, HopLength = 512, Window = WindowKind.Hann, Center = true, PadMode = PadMode.Constant, Power = 2.0 },
        Mel = new MelSettings { NMels = 128, Scale = MelScale.Slaney, Norm = MelNorm.Slaney },
        NMfcc = 26,
        TopDb = 80.0,
        Normalization = FeatureNormalization.None,
    };

    /// <summary>Rows of the feature map.</summary>
    public int Bins => Kind switch
    {
        FeatureKind.LogSpectrogram => KeepBins > 0 ? Math.Min(KeepBins, Stft.FreqBins) : Stft.FreqBins,
        FeatureKind.LogMel => Mel.NMels,
        _ => NMfcc,
    };

    /// <summary>Frames for a signal of <paramref name="samples"/> samples at <see cref="SampleRate"/>.</summary>
    public int FrameCount(int samples) => Stft.FrameCount(samples);

    /// <summary>The fewest samples that give one frame.</summary>
    public int MinSamples => Math.Max(1, Stft.Center
        ? (Stft.PadMode == PadMode.Reflect ? Stft.NFft / 2 + 1 - 2 * Stft.Pad : 1)
        : Stft.NFft - 2 * Stft.Pad);
}
