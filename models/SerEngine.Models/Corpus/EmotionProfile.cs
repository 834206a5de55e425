namespace SerEngine.Models.Corpus;

/// <summary>Shape of the pitch contour over an utterance (before syllable accents).</summary>
public enum ContourKind
{
    /// <summary>Gentle declination.</summary>
    Declining,
    /// <summary>Rise and fall over the utterance with a final rise.</summary>
    RiseFall,
    /// <summary>Slow, small fall.</summary>
    Flat,
    /// <summary>Steep fall.</summary>
    Falling,
}

/// <summary>
/// How one emotion sounds in the built-in corpus: class means of prosody and voice quality. Each
/// utterance draws its own values around these (normal, with the spreads below), so neighbouring
/// classes overlap: the corpus is learnable but not trivial.
/// </summary>
/// <param name="Name">The label.</param>
/// <param name="PitchShift">Pitch level relative to the speaker's base, in semitones.</param>
/// <param name="PitchRange">Contour amplitude in semitones.</param>
/// <param name="Contour">Contour shape.</param>
/// <param name="Accent">Syllable pitch-accent size in semitones.</param>
/// <param name="Rate">Speaking-rate factor (syllables per second relative to 4.5).</param>
/// <param name="LevelDb">Loudness relative to neutral, dB.</param>
/// <param name="Tilt">One-pole low-pass coefficient on the glottal source: larger is darker (steeper spectral tilt).</param>
/// <param name="OpenQuotient">Glottal open quotient: small is pressed, large is breathy.</param>
/// <param name="Jitter">Period perturbation (relative standard deviation per cycle).</param>
/// <param name="Shimmer">Amplitude perturbation (relative standard deviation per cycle).</param>
/// <param name="Aspiration">Breath-noise level relative to the voiced source.</param>
public sealed record EmotionProfile(string Name, double PitchShift, double PitchRange, ContourKind Contour, double Accent, double Rate,
    double LevelDb, double Tilt, double OpenQuotient, double Jitter, double Shimmer, double Aspiration)
{
    /// <summary>neutral, happy, sad, angry: the four classes of the built-in corpus, in class order.</summary>
    public static IReadOnlyList<EmotionProfile> Standard { get; } =
    [
        new("neutral", PitchShift: 0.0, PitchRange: 2.5, ContourKind.Declining, Accent: 1.2, Rate: 1.00, LevelDb: 0, Tilt: 0.50, OpenQuotient: 0.60, Jitter: 0.005, Shimmer: 0.04, Aspiration: 0.05),
        new("happy", PitchShift: 3.5, PitchRange: 6.5, ContourKind.RiseFall, Accent: 2.2, Rate: 1.15, LevelDb: 3, Tilt: 0.35, OpenQuotient: 0.55, Jitter: 0.008, Shimmer: 0.05, Aspiration: 0.05),
        new("sad", PitchShift: -1.5, PitchRange: 1.0, ContourKind.Flat, Accent: 0.3, Rate: 0.72, LevelDb: -6, Tilt: 0.75, OpenQuotient: 0.80, Jitter: 0.018, Shimmer: 0.08, Aspiration: 0.25),
        new("angry", PitchShift: 3.0, PitchRange: 4.5, ContourKind.Falling, Accent: 3.2, Rate: 1.30, LevelDb: 6, Tilt: 0.15, OpenQuotient: 0.38, Jitter: 0.03, Shimmer: 0.08, Aspiration: 0.03),
    ];

    /// <summary>Per-utterance spread of the pitch level, semitones.</summary>
    public const double PitchShiftSpread = 1.2;

    /// <summary>Relative spread of range, accent, jitter, shimmer and aspiration.</summary>
    public const double RelativeSpread = 0.25;

    /// <summary>Spread of the rate factor.</summary>
    public const double RateSpread = 0.06;

    /// <summary>Spread of the level, dB.</summary>
    public const double LevelSpread = 2.5;

    /// <summary>Spread of the tilt coefficient.</summary>
    public const double TiltSpread = 0.07;

    /// <summary>Spread of the open quotient.</summary>
    public const double OpenQuotientSpread = 0.07;

    /// <summary>Contour value at relative position <paramref name="x"/> ∈ [0, 1], roughly in [−0.6, 0.6].</summary>
    public static double ContourAt(ContourKind kind, double x) => kind switch
    {
        ContourKind.Declining => 0.5 - x,
        ContourKind.RiseFall => 0.6 * Math.Sin(Math.PI * x) + 0.7 * x * x * x - 0.35,
        ContourKind.Flat => 0.3 - 0.6 * x,
        ContourKind.Falling => 0.6 - 1.2 * x,
        _ => 0,
    };
}

/// <summary>One synthetic speaker: base pitch, vocal-tract length (formant scaling) and habits.</summary>
/// <param name="Name">e.g. <c>spk1</c>.</param>
/// <param name="Female">Voice type (for the listing only; pitch and formants carry it).</param>
/// <param name="BaseF0">Base pitch, Hz.</param>
/// <param name="FormantScale">Formant frequencies relative to the reference (shorter vocal tract → larger).</param>
/// <param name="RateFactor">Personal speaking rate.</param>
/// <param name="Breathiness">Personal aspiration offset.</param>
/// <param name="TiltOffset">Personal spectral-tilt offset.</param>
public sealed record SpeakerProfile(string Name, bool Female, double BaseF0, double FormantScale, double RateFactor, double Breathiness, double TiltOffset);
