namespace SerEngine.Models.Corpus;

/// <summary>
/// A small source-filter speech synthesizer for the built-in corpus. Source: a Rosenberg glottal
/// pulse train (open quotient, per-cycle jitter and shimmer) through a one-pole low-pass (spectral
/// tilt), plus breath noise; filter: four cascaded formant resonators (Klatt) whose targets move
/// between phones with smoothing, plus a parallel band-pass noise branch for fricatives and bursts.
/// An utterance is a pause, a chain of consonant-vowel syllables, and a pause; the emotion sets
/// pitch level, range and contour, accents, rate, loudness, tilt, open quotient, jitter and breath.
/// Everything is computed in double from one <see cref="Generator"/>, so it is deterministic.
/// </summary>
public static class VoiceSynthesizer
{
    private const int Block = 16; // samples per parameter update (1 ms at 16 kHz)

    // Reference (adult male) formants F1..F3 of the five vowels; F4 fixed.
    private static readonly double[][] Vowels =
    [
        [730, 1090, 2440], // a
        [530, 1840, 2480], // e
        [290, 2250, 3000], // i
        [570, 840, 2410],  // o
        [320, 870, 2240],  // u
    ];

    private enum Manner { Plosive, VoicedPlosive, Nasal, Liquid, Fricative }

    // Consonants: manner, F2 locus (place), burst/frication centre and bandwidth, frication level.
    private static readonly (Manner Manner, double Locus, double NoiseCentre, double NoiseBandwidth, double NoiseLevel)[] Consonants =
    [
        (Manner.Plosive, 900, 1000, 1500, 0.8),        // p
        (Manner.Plosive, 1700, 3800, 2000, 0.9),       // t
        (Manner.Plosive, 2200, 2000, 1000, 0.9),       // k
        (Manner.VoicedPlosive, 900, 1000, 1500, 0.5),  // b
        (Manner.VoicedPlosive, 1700, 3800, 2000, 0.5), // d
        (Manner.VoicedPlosive, 2200, 2000, 1000, 0.5), // g
        (Manner.Nasal, 1000, 0, 0, 0),                  // m
        (Manner.Nasal, 1600, 0, 0, 0),                  // n
        (Manner.Liquid, 1200, 0, 0, 0),                 // l
        (Manner.Fricative, 1700, 4800, 2500, 0.55),    // s
        (Manner.Fricative, 2100, 2700, 1500, 0.65),    // sh
        (Manner.Fricative, 1100, 3000, 5000, 0.25),    // f
    ];

    /// <summary>What one block of the utterance asks of the source and filter.</summary>
    private struct Target
    {
        public double Voicing, Aspiration, Frication, NoiseCentre, NoiseBandwidth, F1, F2, F3;
    }

    /// <summary>Syllable timing, for the pitch accents.</summary>
    private readonly record struct Syllable(int Start, int VowelStart, int End, double Accent);

    /// <summary>
    /// One utterance of <paramref name="speaker"/> in <paramref name="emotion"/>, between
    /// <paramref name="minSeconds"/> and <paramref name="maxSeconds"/> long, at <paramref name="rate"/> Hz.
    /// </summary>
    public static float[] Synthesize(SpeakerProfile speaker, EmotionProfile emotion, Generator rng, double minSeconds, double maxSeconds, int rate = 16000)
    {
        // per-utterance draws around the class means: the classes overlap
        double shift = emotion.PitchShift + EmotionProfile.PitchShiftSpread * rng.NextNormal();
        double range = Math.Max(0.2, emotion.PitchRange * (1 + EmotionProfile.RelativeSpread * rng.NextNormal()));
        double accent = Math.Max(0, emotion.Accent * (1 + EmotionProfile.RelativeSpread * rng.NextNormal()));
        double speechRate = Math.Max(0.5, emotion.Rate + EmotionProfile.RateSpread * rng.NextNormal()) * speaker.RateFactor;
        double level = emotion.LevelDb + EmotionProfile.LevelSpread * rng.NextNormal();
        double tilt = Math.Clamp(emotion.Tilt + speaker.TiltOffset + EmotionProfile.TiltSpread * rng.NextNormal(), 0.02, 0.95);
        double oq = Math.Clamp(emotion.OpenQuotient + EmotionProfile.OpenQuotientSpread * rng.NextNormal(), 0.3, 0.9);
        double jitter = Math.Max(0, emotion.Jitter * (1 + EmotionProfile.RelativeSpread * rng.NextNormal()));
        double shimmer = Math.Max(0, emotion.Shimmer * (1 + EmotionProfile.RelativeSpread * rng.NextNormal()));
        double breath = Math.Max(0, (emotion.Aspiration + speaker.Breathiness) * (1 + EmotionProfile.RelativeSpread * rng.NextNormal()));

        double duration = minSeconds + (maxSeconds - minSeconds) * rng.NextDouble();
        int total = (int)(duration * rate);
        int lead = (int)((0.04 + 0.06 * rng.NextDouble()) * rate), trail = (int)((0.04 + 0.06 * rng.NextDouble()) * rate);
        int voiced = Math.Max(rate / 4, total - lead - trail);
        total = lead + voiced + trail;

        var (targets, syllables) = Plan(speaker, rng, lead, voiced, speechRate, rate, total);
        var samples = Render(speaker, emotion, rng, targets, syllables, lead, voiced, rate, total,
            shift, range, accent, tilt, oq, jitter, shimmer, breath);

        // loudness: the voiced region's RMS sets the level; then a quiet noise floor and a soft limit
        double sumSq = 0;
        for (int i = lead; i < lead + voiced; i++) sumSq += samples[i] * samples[i];
        double rms = Math.Sqrt(sumSq / voiced) + 1e-12;
        double gain = 0.05 * Math.Pow(10, level / 20) / rms;
        double floor = 0.0018 * (0.5 + rng.NextDouble());
        var output = new float[total];
        for (int i = 0; i < total; i++)
        {
            double v = samples[i] * gain + floor * rng.NextNormal();
            output[i] = (float)(Math.Abs(v) > 0.9 ? Math.Tanh(v) : v);
        }
        return output;
    }

    /// <summary>Per-block targets of the consonant-vowel chain, and the syllables' timing.</summary>
    private static (Target[] Targets, List<Syllable> Syllables) Plan(SpeakerProfile speaker, Generator rng, int lead, int voiced, double speechRate, int rate, int total)
    {
        int blocks = (total + Block - 1) / Block;
        var targets = new Target[blocks];
        double s = speaker.FormantScale;
        int count = Math.Max(2, (int)Math.Round(voiced / (double)rate * 4.5 * speechRate));
        var weights = new double[count];
        for (int i = 0; i < count; i++) weights[i] = 0.7 + 0.6 * rng.NextDouble();
        double weightSum = weights.Sum();
        var syllables = new List<Syllable>(count);
        int stressed = rng.NextInt(count);
        int pos = lead;
        var silence = new Target { F1 = 400 * s, F2 = 1400 * s, F3 = 2500 * s };
        for (int b = 0; b < blocks; b++) targets[b] = silence;
        for (int i = 0; i < count; i++)
        {
            int len = i == count - 1 ? lead + voiced - pos : (int)(voiced * weights[i] / weightSum);
            var c = Consonants[rng.NextInt(Consonants.Length)];
            var v = Vowels[rng.NextInt(Vowels.Length)];
            double consonantShare = c.Manner == Manner.Fricative ? 0.38 : c.Manner is Manner.Nasal or Manner.Liquid ? 0.25 : 0.32;
            int cLen = (int)(len * consonantShare), vStart = pos + cLen, end = pos + len;
            double accentScale = (0.4 + 0.8 * rng.NextDouble()) * (i == stressed ? 1.6 : 1.0);
            syllables.Add(new Syllable(pos, vStart, end, accentScale));
            for (int n = pos; n < end; n += Block)
            {
                ref var t = ref targets[n / Block];
                t = new Target { F1 = v[0] * s, F2 = v[1] * s, F3 = v[2] * s, Voicing = 1.0 };
                if (n >= vStart) continue;
                double u = (n - pos) / (double)Math.Max(1, cLen); // position inside the consonant
                t.F2 = c.Locus * s;
                switch (c.Manner)
                {
                    case Manner.Plosive or Manner.VoicedPlosive:
                        bool voicedStop = c.Manner == Manner.VoicedPlosive;
                        t.F1 = 250 * s;
                        if (u < 0.55) t.Voicing = voicedStop ? 0.08 : 0;                          // closure
                        else if (u < 0.72) { t.Voicing = voicedStop ? 0.2 : 0; t.Frication = c.NoiseLevel; } // burst
                        else { t.Voicing = voicedStop ? 0.7 : 0; t.Aspiration = voicedStop ? 0 : 0.5; }    // release
                        t.NoiseCentre = c.NoiseCentre;
                        t.NoiseBandwidth = c.NoiseBandwidth;
                        break;
                    case Manner.Nasal:
                        t.F1 = 250 * s;
                        t.F3 = 2300 * s;
                        t.Voicing = 0.35;
                        break;
                    case Manner.Liquid:
                        t.F1 = 350 * s;
                        t.F3 = 2900 * s;
                        t.Voicing = 0.6;
                        break;
                    case Manner.Fricative:
                        t.Voicing = 0;
                        t.Frication = c.NoiseLevel * Math.Sin(Math.PI * Math.Clamp(u, 0.05, 0.95));
                        t.NoiseCentre = c.NoiseCentre;
                        t.NoiseBandwidth = c.NoiseBandwidth;
                        break;
                }
            }
            pos = end;
        }
        return (targets, syllables);
    }

    /// <summary>Runs the source and the filter over the planned targets.</summary>
    private static double[] Render(SpeakerProfile speaker, EmotionProfile emotion, Generator rng, Target[] targets, List<Syllable> syllables,
        int lead, int voiced, int rate, int total, double shift, double range, double accent, double tilt, double oq,
        double jitter, double shimmer, double breath)
    {
        var y = new double[total];
        var tract = new Resonator[4];
        double[] bandwidths = [80, 100, 140, 200];
        var noiseFilter = new BandPass();
        double f1 = targets[0].F1, f2 = targets[0].F2, f3 = targets[0].F3, f4 = 3500 * speaker.FormantScale;
        double formantSmooth = 1 - Math.Exp(-Block / (0.012 * rate)), ampSmooth = 1 - Math.Exp(-1.0 / (0.004 * rate));
        double voicing = 0, aspiration = 0, frication = 0;
        double phase = 0, period = rate / speaker.BaseF0, cycleAmp = 1, prevFlow = 0, tiltState = 0;
        double vibratoPhase = 2 * Math.PI * rng.NextDouble();
        for (int b = 0; b * Block < total; b++)
        {
            var t = targets[b];
            f1 += (t.F1 - f1) * formantSmooth;
            f2 += (t.F2 - f2) * formantSmooth;
            f3 += (t.F3 - f3) * formantSmooth;
            tract[0].Set(f1, bandwidths[0], rate);
            tract[1].Set(f2, bandwidths[1], rate);
            tract[2].Set(f3, bandwidths[2], rate);
            tract[3].Set(f4, bandwidths[3], rate);
            if (t.Frication > 0) noiseFilter.Set(Math.Min(t.NoiseCentre, 0.45 * rate), t.NoiseBandwidth, rate);
            int n0 = b * Block, n1 = Math.Min(total, n0 + Block);
            double f0 = PitchAt(speaker, emotion, syllables, lead, voiced, rate, (n0 + n1) / 2, shift, range, accent, vibratoPhase);
            for (int n = n0; n < n1; n++)
            {
                voicing += (t.Voicing - voicing) * ampSmooth;
                aspiration += (t.Aspiration - aspiration) * ampSmooth;
                frication += (t.Frication - frication) * ampSmooth;
                // glottal source: one Rosenberg pulse per cycle; jitter and shimmer drawn per cycle
                phase += 1 / period;
                if (phase >= 1)
                {
                    phase -= 1;
                    period = Math.Max(8, rate / f0 * (1 + jitter * rng.NextNormal()));
                    cycleAmp = Math.Max(0.2, 1 + shimmer * rng.NextNormal());
                }
                double flow = Rosenberg(phase, oq);
                double source = (flow - prevFlow) * period * 0.25 * cycleAmp;
                prevFlow = flow;
                tiltState = (1 - tilt) * source + tilt * tiltState;
                double noise = rng.NextNormal();
                double excitation = voicing * (tiltState + breath * (0.4 + flow) * noise) + aspiration * 0.3 * noise;
                double v = excitation;
                for (int k = 0; k < 4; k++) v = tract[k].Process(v);
                double fr = frication > 1e-4 ? frication * noiseFilter.Process(rng.NextNormal()) : 0;
                y[n] = v + 0.6 * fr;
            }
        }
        return y;
    }

    /// <summary>Pitch in Hz at sample <paramref name="n"/>: level, contour, syllable accents and a slow drift.</summary>
    private static double PitchAt(SpeakerProfile speaker, EmotionProfile emotion, List<Syllable> syllables, int lead, int voiced, int rate, int n,
        double shift, double range, double accent, double vibratoPhase)
    {
        double x = Math.Clamp((n - lead) / (double)voiced, 0, 1);
        double semitones = shift + range * EmotionProfile.ContourAt(emotion.Contour, x);
        foreach (var s in syllables)
        {
            double centre = (s.VowelStart + s.End) / 2.0, width = 0.35 * (s.End - s.Start);
            double d = (n - centre) / width;
            if (Math.Abs(d) < 4) semitones += accent * s.Accent * Math.Exp(-d * d);
        }
        semitones += 0.3 * Math.Sin(2 * Math.PI * 3.1 * n / rate + vibratoPhase);
        return Math.Clamp(speaker.BaseF0 * Math.Pow(2, semitones / 12), 60, 500);
    }

    /// <summary>Rosenberg glottal flow at cycle phase φ ∈ [0, 1): opening over 0.6·OQ, closing over 0.4·OQ, then closed.</summary>
    private static double Rosenberg(double phase, double oq)
    {
        double tp = 0.6 * oq, tn = 0.4 * oq;
        if (phase < tp) return 0.5 * (1 - Math.Cos(Math.PI * phase / tp));
        if (phase < tp + tn) return Math.Cos(Math.PI / 2 * (phase - tp) / tn);
        return 0;
    }

    /// <summary>Klatt's two-pole resonator with unit gain at DC.</summary>
    private struct Resonator
    {
        private double _a, _b, _c, _y1, _y2;

        public void Set(double frequency, double bandwidth, int rate)
        {
            double r = Math.Exp(-Math.PI * bandwidth / rate);
            _c = -r * r;
            _b = 2 * r * Math.Cos(2 * Math.PI * Math.Min(frequency, 0.45 * rate) / rate);
            _a = 1 - _b - _c;
        }

        public double Process(double x)
        {
            double y = _a * x + _b * _y1 + _c * _y2;
            _y2 = _y1;
            _y1 = y;
            return y;
        }
    }

    /// <summary>RBJ band-pass biquad with 0 dB peak gain.</summary>
    private sealed class BandPass
    {
        private double _b0, _a1, _a2, _x1, _x2, _y1, _y2;

        public void Set(double centre, double bandwidth, int rate)
        {
            double w0 = 2 * Math.PI * centre / rate, alpha = Math.Sin(w0) / (2 * Math.Max(0.3, centre / bandwidth));
            double a0 = 1 + alpha;
            _b0 = alpha / a0;
            _a1 = -2 * Math.Cos(w0) / a0;
            _a2 = (1 - alpha) / a0;
        }

        public double Process(double x)
        {
            double y = _b0 * x - _b0 * _x2 - _a1 * _y1 - _a2 * _y2;
            _x2 = _x1;
            _x1 = x;
            _y2 = _y1;
            _y1 = y;
            return y;
        }
    }
}
