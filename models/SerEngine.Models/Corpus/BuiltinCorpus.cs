using SerEngine.Audio;
using SerEngine.Models.Data;

namespace SerEngine.Models.Corpus;

/// <summary>Size and seed of the built-in corpus.</summary>
/// <param name="Speakers">Number of synthetic speakers (alternating male and female voices).</param>
/// <param name="UtterancesPerClass">Utterances per speaker and class.</param>
/// <param name="Classes">How many of neutral, happy, sad, angry (in that order) to use, 2..4.</param>
/// <param name="MinSeconds">Shortest utterance.</param>
/// <param name="MaxSeconds">Longest utterance.</param>
/// <param name="Seed">Seed of the corpus (fixed: the corpus is the same for every training seed).</param>
public sealed record BuiltinCorpusConfig(int Speakers = 6, int UtterancesPerClass = 20, int Classes = 4,
    double MinSeconds = 1.0, double MaxSeconds = 1.5, ulong Seed = 0x5E12_C0DE)
{
    /// <summary>The default: 6 speakers × 4 classes × 20 utterances of 1–1.5 s.</summary>
    public static BuiltinCorpusConfig Default { get; } = new();
}

/// <summary>
/// The built-in corpus: synthetic speakers (base pitch; vocal-tract length as formant scaling)
/// saying consonant-vowel chains with emotion-dependent prosody and voice quality (see
/// <see cref="EmotionProfile"/> and <see cref="VoiceSynthesizer"/>). Generated deterministically in
/// code from <see cref="BuiltinCorpusConfig.Seed"/>; audio is made on demand, at 16 kHz.
/// </summary>
public static class BuiltinCorpus
{
    /// <summary>The audio sample rate of the generator.</summary>
    public const int SampleRate = 16000;

    // The first six voices; further ones are drawn from the corpus seed.
    private static readonly (bool Female, double F0, double Scale)[] Voices =
    [
        (false, 112, 1.00), (true, 205, 1.17), (false, 96, 0.93), (true, 228, 1.22), (false, 128, 1.06), (true, 188, 1.12),
    ];

    /// <summary>The speakers of <paramref name="config"/>: spk1, spk2, ...</summary>
    public static IReadOnlyList<SpeakerProfile> SpeakersOf(BuiltinCorpusConfig config)
    {
        var list = new List<SpeakerProfile>(config.Speakers);
        for (int i = 0; i < config.Speakers; i++)
        {
            var rng = Seeds.Generator(config.Seed, 1, (ulong)i);
            bool female = i % 2 == 1;
            var (_, f0, scale) = i < Voices.Length
                ? Voices[i]
                : (female, female ? 180 + 60 * rng.NextDouble() : 90 + 45 * rng.NextDouble(), female ? 1.1 + 0.14 * rng.NextDouble() : 0.9 + 0.14 * rng.NextDouble());
            double rateFactor = 0.92 + 0.16 * rng.NextDouble();
            double breath = 0.03 * rng.NextDouble();
            double tilt = -0.06 + 0.12 * rng.NextDouble();
            list.Add(new SpeakerProfile($"spk{i + 1}", female, f0, scale, rateFactor, breath, tilt));
        }
        return list;
    }

    /// <summary>The corpus as a data set: utterance ids <c>spk1/angry/007</c>, ordered by speaker, class, index.</summary>
    public static Dataset Create(BuiltinCorpusConfig? config = null)
    {
        config ??= BuiltinCorpusConfig.Default;
        if (config.Speakers < 1) throw new DatasetException($"the built-in corpus needs at least one speaker, got {config.Speakers}");
        if (config.UtterancesPerClass < 1) throw new DatasetException($"the built-in corpus needs at least one utterance per class, got {config.UtterancesPerClass}");
        if (config.Classes is < 2 or > 4) throw new DatasetException($"the built-in corpus has 2 to 4 classes, got {config.Classes}");
        if (!(config.MinSeconds >= 0.5 && config.MaxSeconds >= config.MinSeconds))
            throw new DatasetException($"built-in utterance lengths must satisfy 0.5 ≤ min ≤ max, got {config.MinSeconds}..{config.MaxSeconds} s");
        var speakers = SpeakersOf(config);
        var emotions = EmotionProfile.Standard.Take(config.Classes).ToList();
        var items = new List<Utterance>();
        for (int s = 0; s < speakers.Count; s++)
            for (int e = 0; e < emotions.Count; e++)
                for (int i = 0; i < config.UtterancesPerClass; i++)
                {
                    var speaker = speakers[s];
                    var emotion = emotions[e];
                    ulong seed = Seeds.Derive(config.Seed, 2, (ulong)s, (ulong)e, (ulong)i);
                    string id = $"{speaker.Name}/{emotion.Name}/{i + 1:000}";
                    string key = string.Create(System.Globalization.CultureInfo.InvariantCulture, $"builtin:{seed:x16}:{config.MinSeconds}:{config.MaxSeconds}:{id}");
                    items.Add(new Utterance(id, emotion.Name, speaker.Name, speaker.Name, null, rate => Generate(speaker, emotion, seed, config, rate), key));
                }
        return new Dataset("built-in synthetic corpus", DatasetFormat.Builtin, "the built-in corpus", items, [.. emotions.Select(e => e.Name)]);
    }

    /// <summary>One utterance's audio at <paramref name="rate"/> (synthesised at 16 kHz, resampled otherwise).</summary>
    private static float[] Generate(SpeakerProfile speaker, EmotionProfile emotion, ulong seed, BuiltinCorpusConfig config, int rate)
    {
        var samples = VoiceSynthesizer.Synthesize(speaker, emotion, new Generator(seed), config.MinSeconds, config.MaxSeconds, SampleRate);
        return rate == SampleRate ? samples : Resampler.Resample(samples, SampleRate, rate);
    }
}
