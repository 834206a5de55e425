using SerEngine.Audio;

namespace SerEngine.Tests.Audio;

public class FeatureTests
{
    /// <summary>
    /// |STFT|^power by an O(n²) DFT in double with its own window formula and padding: the
    /// independent reference for settings no fixture covers.
    /// </summary>
    internal static DoubleMatrix NaiveSpectrogram(float[] wave, StftSettings s)
    {
        int nFft = s.NFft, win = s.WinLength ?? nFft, hop = s.HopLength ?? win / 2, n = wave.Length;
        var w = new double[nFft];
        var (a, b) = s.Window switch { WindowKind.Hann => (0.5, 0.5), WindowKind.Hamming => (0.54, 0.46), _ => (1.0, 0.0) };
        double m = s.PeriodicWindow ? win : win - 1;
        for (int i = 0; i < win; i++) w[(nFft - win) / 2 + i] = win == 1 ? 1 : a - b * Math.Cos(2 * Math.PI * i / m);
        int p = s.Center ? nFft / 2 : 0;
        double X(int j) // sample j of the signal, j in [-p, n + p)
        {
            if (j >= 0 && j < n) return wave[j];
            return s.PadMode switch
            {
                PadMode.Reflect => wave[j < 0 ? -j : 2 * (n - 1) - j],
                PadMode.Replicate => wave[j < 0 ? 0 : n - 1],
                _ => 0,
            };
        }
        int frames = 1 + (n + 2 * p - nFft) / hop, bins = nFft / 2 + 1;
        var o = new double[bins * frames];
        for (int t = 0; t < frames; t++)
        {
            for (int k = 0; k < bins; k++)
            {
                double re = 0, im = 0;
                for (int j = 0; j < nFft; j++)
                {
                    double v = X(t * hop + j - p) * w[j];
                    var (sn, cs) = Math.SinCos(2 * Math.PI * ((long)j * k % nFft) / nFft);
                    re += v * cs;
                    im -= v * sn;
                }
                o[k * frames + t] = Math.Pow(Math.Sqrt(re * re + im * im), s.Power);
            }
        }
        return new DoubleMatrix(o, bins, frames);
    }

    private static float[] Noise(int n, int seed)
    {
        var rng = new Random(seed);
        // a chirp plus noise: energy in every bin, no exact zeros
        return Enumerable.Range(0, n).Select(i => (float)(0.4 * Math.Sin(2 * Math.PI * (200 + 3 * i / 16.0) * i / 16000) + 0.2 * (rng.NextDouble() - 0.5))).ToArray();
    }

    private static double RelL2(double[] a, double[] e)
    {
        Assert.Equal(e.Length, a.Length);
        double num = 0, den = 0;
        for (int i = 0; i < e.Length; i++)
        {
            num += (a[i] - e[i]) * (a[i] - e[i]);
            den += e[i] * e[i];
        }
        return Math.Sqrt(num / den);
    }

    public static TheoryData<int, int, int, WindowKind, bool, bool, PadMode, double> NonFixtureSettings() => new()
    {
        { 97, 60, 37, WindowKind.Hamming, false, true, PadMode.Reflect, 2.0 },    // Bluestein, odd n_fft, symmetric window
        { 1000, 512, 250, WindowKind.Hann, true, true, PadMode.Constant, 1.0 },   // radix 2/5, window padded inside
        { 256, 255, 64, WindowKind.Rectangular, true, false, PadMode.Reflect, 1.5 }, // odd centre offset, odd power
        { 512, 300, 100, WindowKind.Hann, true, true, PadMode.Replicate, 2.0 },
    };

    [Theory]
    [MemberData(nameof(NonFixtureSettings))]
    public void StftMatchesNaiveDft(int nFft, int win, int hop, WindowKind window, bool periodic, bool center, PadMode pad, double power)
    {
        var wave = Noise(3001, nFft);
        var s = new StftSettings { NFft = nFft, WinLength = win, HopLength = hop, Window = window, PeriodicWindow = periodic, Center = center, PadMode = pad, Power = power };
        var actual = Stft.Compute(wave, s);
        var expected = NaiveSpectrogram(wave, s);
        Assert.Equal((expected.Rows, expected.Columns), (actual.Rows, actual.Columns));
        Assert.Equal(s.FrameCount(wave.Length), actual.Columns);
        double err = RelL2(actual.Values, expected.Values);
        Assert.True(err < 1e-12, $"relative error {err:E3}");
    }

    public static TheoryData<int, int, bool, PadMode, int, int> EdgeFramings() => new()
    {
        { 40, 7, true, PadMode.Reflect, 30, 0 },     // shorter than a frame: every frame reaches into both paddings
        { 64, 10, true, PadMode.Constant, 50, 9 },   // Pad zeros and centring together
        { 32, 5, false, PadMode.Reflect, 200, 6 },   // Pad zeros without centring
        { 48, 16, true, PadMode.Replicate, 1000, 3 },
    };

    /// <summary>The fast path reads the signal in place and copies only the edge frames: each framing against the naive DFT of the padded signal.</summary>
    [Theory]
    [MemberData(nameof(EdgeFramings))]
    public void StftEdgeFramesMatchNaiveDftOfThePaddedSignal(int nFft, int hop, bool center, PadMode pad, int samples, int zeros)
    {
        var wave = Noise(samples, nFft + 3);
        var s = new StftSettings { NFft = nFft, HopLength = hop, Window = WindowKind.Hann, Center = center, PadMode = pad, Power = 2.0, Pad = zeros };
        var padded = new float[samples + 2 * zeros];
        wave.CopyTo(padded, zeros);
        var expected = NaiveSpectrogram(padded, s with { Pad = 0 });
        var actual = Stft.Compute(wave, s);
        Assert.Equal((expected.Rows, expected.Columns), (actual.Rows, actual.Columns));
        Assert.True(RelL2(actual.Values, expected.Values) < 1e-12);
        var single = Stft.ComputeSingle(wave, s);
        Assert.True(RelL2(Array.ConvertAll(single.Values, v => (double)v), expected.Values) < 2e-6);
    }

    public static TheoryData<int, int, int, WindowKind, bool, bool, PadMode, double, int> SingleSettings() => new()
    {
        { 800, 640, 160, WindowKind.Hamming, true, false, PadMode.Reflect, 1.0, 16000 }, // the benchmark's settings: 96 frames, 12 groups
        { 1000, 512, 250, WindowKind.Hann, true, true, PadMode.Constant, 1.0, 3001 },    // radix 2/5, 13 frames: a group of 5 lanes
        { 20, 20, 3, WindowKind.Hann, true, true, PadMode.Reflect, 2.0, 101 },           // n_fft % 8 = 4: the scalar tail of the loader
        { 256, 255, 64, WindowKind.Rectangular, true, false, PadMode.Reflect, 1.5, 3001 }, // general power, lane by lane
        { 512, 300, 100, WindowKind.Hann, true, true, PadMode.Replicate, 2.0, 700 },     // 8 frames: exactly one group
        { 97, 60, 37, WindowKind.Hamming, false, true, PadMode.Reflect, 2.0, 3001 },     // Bluestein: the rounded double path
    };

    [Theory]
    [MemberData(nameof(SingleSettings))]
    public void StftSingleMatchesNaiveDftToFloatRounding(int nFft, int win, int hop, WindowKind window, bool periodic, bool center, PadMode pad, double power, int samples)
    {
        var wave = Noise(samples, nFft + 1);
        var s = new StftSettings { NFft = nFft, WinLength = win, HopLength = hop, Window = window, PeriodicWindow = periodic, Center = center, PadMode = pad, Power = power };
        var actual = Stft.ComputeSingle(wave, s);
        var expected = NaiveSpectrogram(wave, s);
        Assert.Equal((expected.Rows, expected.Columns), (actual.Bins, actual.Frames));
        double max = expected.Values.Max(), worst = 0;
        for (int i = 0; i < expected.Values.Length; i++) worst = Math.Max(worst, Math.Abs(actual.Values[i] - expected.Values[i]));
        double err = RelL2(Array.ConvertAll(actual.Values, v => (double)v), expected.Values);
        // float32 rounding of the input, window, twiddles and log2(n) butterfly stages: ~1e-7 per step
        Assert.True(err < 2e-6, $"relative L2 error {err:E3}");
        Assert.True(worst < 2e-6 * max, $"largest error {worst:E3} against a largest value of {max:E3}");
        // the threads share whole groups of frames: one thread gives the same bits
        using (FrontEndThreads.Limit(1))
            Assert.Equal(actual.Values, Stft.ComputeSingle(wave, s).Values);
    }

    [Fact]
    public void MfccWithOtherSettingsMatchesReference()
    {
        var wave = Noise(4000, 3);
        var stft = new StftSettings { NFft = 512, HopLength = 128, Center = true, PadMode = PadMode.Reflect, Power = 2.0 };
        var mel = new MelSettings { SampleRate = 16000, NMels = 40, FMin = 20, FMax = 7600, Scale = MelScale.Htk, Norm = MelNorm.None };
        var actual = Cepstrum.Mfcc(wave, stft, mel, nMfcc: 13, topDb: 40.0);

        // reference: naive DFT power, filterbank, dB with a 40 dB floor, DCT-II by its orthonormal formula
        var spec = NaiveSpectrogram(wave, stft);
        var fb = MelFilterbank.Create(257, 20, 7600, 40, 16000);
        var melSpec = MelFilterbank.Apply(fb, spec);
        int frames = spec.Columns;
        var db = melSpec.Values.Select(v => 10 * Math.Log10(Math.Max(v, 1e-10))).ToArray();
        double floor = db.Max() - 40;
        db = db.Select(v => Math.Max(v, floor)).ToArray();
        var expected = new double[13 * frames];
        for (int k = 0; k < 13; k++)
            for (int t = 0; t < frames; t++)
            {
                double sum = 0;
                for (int m = 0; m < 40; m++) sum += db[m * frames + t] * Math.Cos(Math.PI * k * (2 * m + 1) / 80.0);
                expected[k * frames + t] = sum * Math.Sqrt((k == 0 ? 1.0 : 2.0) / 40);
            }
        Assert.Equal((13, frames), (actual.Rows, actual.Columns));
        Assert.True(RelL2(actual.Values, expected) < 1e-10);
        Assert.Contains(db, v => v == floor); // the floor was active
    }

    [Fact]
    public void DctIsOrthonormal()
    {
        var d = Cepstrum.CreateDct(32, 32); // [n_mels, n_mfcc]
        for (int i = 0; i < 32; i++)
            for (int j = 0; j < 32; j++)
            {
                double dot = 0;
                for (int m = 0; m < 32; m++) dot += d[m, i] * d[m, j];
                Assert.Equal(i == j ? 1.0 : 0.0, dot, 12);
            }
        Assert.Equal(2.0, Cepstrum.CreateDct(3, 4, ortho: false)[0, 0], 15);
    }

    [Fact]
    public void MelScalesRoundTripAndMatchKnownPoints()
    {
        Assert.Equal(1000.0, MelFilterbank.HzToMel(1000, MelScale.Htk), 0); // ≈ 999.99
        Assert.Equal(15.0, MelFilterbank.HzToMel(1000, MelScale.Slaney), 12);
        Assert.Equal(7.5, MelFilterbank.HzToMel(500, MelScale.Slaney), 12);
        foreach (var scale in new[] { MelScale.Htk, MelScale.Slaney })
            foreach (double hz in new[] { 0.0, 60, 999, 1000, 4321, 8000 })
                Assert.Equal(hz, MelFilterbank.MelToHz(MelFilterbank.HzToMel(hz, scale), scale), 9);
        Assert.Equal([0.0, 0.25, 0.5, 0.75, 1.0], MelFilterbank.Linspace(0, 1, 5));
    }

    [Fact]
    public void AmplitudeToDbFloorsAtTopDbBelowTheWholeMax()
    {
        var x = new DoubleMatrix([1.0, 1e-3, 0.0, 1e-12, 100.0, 1e-9], 2, 3);
        var db = Cepstrum.AmplitudeToDb(x, topDb: 80);
        Assert.Equal([0.0, -30.0, -60.0, -60.0, 20.0, -60.0], db.Values.Select(v => Math.Round(v, 9)));
        var noFloor = Cepstrum.AmplitudeToDb(x);
        Assert.Equal(-100.0, noFloor[0, 2], 9); // amin 1e-10
    }

    [Fact]
    public void DeltasMatchComputeDeltas()
    {
        var x = new DoubleMatrix([0, 1, 2, 3, 4, 5, 5, 5, 5, 5], 2, 5);
        var d = Cepstrum.Deltas(x);
        Assert.Equal([0.5, 0.8, 1.0, 0.8, 0.5, 0, 0, 0, 0, 0], d.Values.Select(v => Math.Round(v, 12)));
        var d3 = Cepstrum.Deltas(new DoubleMatrix([0, 1, 4], 1, 3), 3); // n = 1, denom 2, replicate
        Assert.Equal([0.5, 2.0, 1.5], d3.Values);
    }

    [Fact]
    public void MeanVarianceNormalisationPerBinAndGlobal()
    {
        var x = new DoubleMatrix([1, 2, 3, 4, 10, 10, 10, 10], 2, 4);
        var n = Cepstrum.MeanVarianceNormalize(x);
        double s = Math.Sqrt(1.25);
        Assert.Equal(new[] { -1.5 / s, -0.5 / s, 0.5 / s, 1.5 / s, 0, 0, 0, 0 }, n.Values.Select(v => Math.Round(v, 12)).ToArray(), (a, b) => Math.Abs(a - b) < 1e-9);
        var g = Cepstrum.MeanVarianceNormalize(x, perRow: false);
        Assert.Equal(0.0, g.Values.Average(), 12);
        Assert.Equal(1.0, Math.Sqrt(g.Values.Average(v => v * v)), 12);
    }

    /// <summary>A fixture's in.wave and the named expected output.</summary>
    private static (float[] Wave, float[] Expected) FromFixture(string name, string output)
    {
        var f = AudioFixtureTests.LoadFixture(Path.Combine(AudioFixtureTests.FixtureDir(), name + ".safetensors"));
        return (f.Tensors["in.wave"].Floats!, f.Tensors[output].Floats!);
    }

    [Fact]
    public void PaperALogSpectrogramIsLog1pOfTheFixtureSpectrogramsLowest200BinsNormalised()
    {
        var (wave, spec) = FromFixture("spectrogram_hamming_800", "out.spec"); // spec [401, 126]
        int frames = 126;
        var raw = AudioFeatures.LogSpectrogram(wave, FeatureSettings.PaperA with { Normalization = FeatureNormalization.None });
        Assert.Equal((200, frames), (raw.Bins, raw.Frames));
        var expected = spec.Take(200 * frames).Select(v => (float)Math.Log(1 + v)).ToArray();
        Assert.True(AudioFixtureTests.Score(raw.Values, expected, 1e-4, 1e-6) <= 1);

        var norm = AudioFeatures.LogSpectrogram(wave); // Paper A default: per-bin normalised
        var expectedNorm = Cepstrum.MeanVarianceNormalize(new DoubleMatrix(expected.Select(v => (double)v).ToArray(), 200, frames)).ToFeatureMatrix();
        Assert.True(AudioFixtureTests.Score(norm.Values, expectedNorm.Values, 1e-3, 1e-5) <= 1);
    }

    [Fact]
    public void PaperBMfccIsTheMfccFixture()
    {
        var (wave, expected) = FromFixture("mfcc", "out.mfcc");
        var m = AudioFeatures.Mfcc(wave);
        Assert.Equal((26, 41), (m.Bins, m.Frames));
        Assert.True(AudioFixtureTests.Score(m.Values, expected, 2e-4, 1e-6) <= 1);
        Assert.Equal(new Shape(26, 41), m.ToHostTensor().Shape);
    }

    [Fact]
    public void LogMelIsLog1pOfTheMelSpectrogramFixture()
    {
        var (wave, mel) = FromFixture("melspec_nocenter_800_160", "out.mel"); // Hann 640 in 800, hop 160, 64 HTK mels, magnitude
        var settings = FeatureSettings.PaperALogMel with
        {
            Stft = FeatureSettings.PaperALogMel.Stft with { Window = WindowKind.Hann },
            Normalization = FeatureNormalization.None,
        };
        var lm = AudioFeatures.LogMel(wave, settings);
        var expected = mel.Select(v => (float)Math.Log(1 + v)).ToArray();
        Assert.Equal((64, 126), (lm.Bins, lm.Frames));
        Assert.True(AudioFixtureTests.Score(lm.Values, expected, 1e-4, 1e-6) <= 1);
    }

    [Fact]
    public void PresetShapesAndShortInputs()
    {
        var oneSecond = Noise(16000, 5);
        var a = AudioFeatures.LogSpectrogram(oneSecond);
        Assert.Equal((200, 96), (a.Bins, a.Frames));
        var b = AudioFeatures.Mfcc(Noise(32000, 6));
        Assert.Equal((26, 63), (b.Bins, b.Frames)); // 2 s segment = 63 frames
        var lm = AudioFeatures.LogMel(oneSecond);
        Assert.Equal((64, 96), (lm.Bins, lm.Frames));
        for (int bin = 0; bin < 200; bin++)
        {
            double mean = 0;
            for (int t = 0; t < 96; t++) mean += a[bin, t];
            Assert.True(Math.Abs(mean / 96) < 1e-5);
        }
        var ex = Assert.Throws<ArgumentException>(() => AudioFeatures.LogSpectrogram(new float[799]));
        Assert.Contains("800", ex.Message);
        Assert.Single(AudioFeatures.LogSpectrogram(new float[800]).Values.Chunk(200)); // exactly one frame
        Assert.Equal(1, AudioFeatures.Mfcc(new float[1]).Frames);
    }

    [Fact]
    public void WavAtAnotherRateIsResampledFirst()
    {
        var x = Noise(8000, 9); // 1 s at 8 kHz
        var wav = WavReader.Parse(WavWriter.ToBytes(x, 8000, WavWriteFormat.Float32), "mem.wav");
        var feats = AudioFeatures.Compute(wav, FeatureSettings.PaperA);
        Assert.Equal((200, 96), (feats.Bins, feats.Frames)); // 16000 samples after resampling
        Assert.Equal(16000, AudioFeatures.PrepareSamples(wav, 16000).Length);
        Assert.Same(wav.Samples, AudioFeatures.PrepareSamples(wav, 8000));
    }

    [Fact]
    public void DeltasOfFeatureMatrixKeepShape()
    {
        var m = AudioFeatures.Mfcc(Noise(16000, 2));
        var d = AudioFeatures.Deltas(m);
        Assert.Equal((m.Bins, m.Frames), (d.Bins, d.Frames));
        float expected = (float)((-2.0 * m[3, 8] - m[3, 9] + m[3, 11] + 2.0 * m[3, 12]) / 10);
        Assert.Equal(expected, d[3, 10], 4);
    }
}
