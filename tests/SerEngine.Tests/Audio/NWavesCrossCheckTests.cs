using SerEngine.Audio;
using SerEngine.Audio.Conformance;
using static SerEngine.Audio.Conformance.AudioFixtureParams;
using static SerEngine.Tests.Audio.NWavesComparisonTests;

namespace SerEngine.Tests.Audio;

/// <summary>
/// NWaves 0.9.6 as a second opinion on the front end where it computes the same quantity (tolerances are
/// the measured differences with head-room, README's table), and pinned where it does not (the measured
/// reasons we keep our own code).
/// </summary>
public class NWavesCrossCheckTests
{
    private static SerEngine.Conformance.Fixture Load(string name) =>
        AudioFixtureTests.LoadFixture(Path.Combine(AudioFixtureTests.FixtureDir(), name + ".safetensors"));

    [Theory]
    [InlineData(WindowKind.Hann, 400)]
    [InlineData(WindowKind.Hann, 2048)]
    [InlineData(WindowKind.Hamming, 640)]
    public void PeriodicWindowsAgreeThroughNPlusOne(WindowKind kind, int n)
    {
        var ours = Windows.Create(kind, n);
        // NWaves' windows are symmetric (measured 2.9e-8 from torch's symmetric); periodic N = symmetric N+1 without the last point
        Assert.True(Diff(Array.ConvertAll(NWavesFrontEnd.PeriodicWindow(kind, n), v => (double)v), ours).Abs < 1e-7);
        Assert.True(Diff(Array.ConvertAll(NWavesFrontEnd.Window(kind, n), v => (double)v), Windows.Create(kind, n, periodic: false)).Abs < 1e-7);
        // as shipped it is not torch's default window: 1.2e-3 (2048) to 6e-3 (400) apart
        Assert.True(Diff(Array.ConvertAll(NWavesFrontEnd.Window(kind, n), v => (double)v), ours).Abs > 1e-3);
    }

    [Theory]
    [InlineData(256)]
    [InlineData(512)]
    [InlineData(2048)]
    public void RealFftAgreesOnPowersOfTwo(int n)
    {
        var x = RandomWave(n, n);
        var (re, im) = (new double[n / 2 + 1], new double[n / 2 + 1]);
        FftPlan.Get(n).RealForward(x, re, im);
        var (nre, nim) = (new double[n], new double[n]);
        new NWaves.Transforms.RealFft64(n).Direct(x, nre, nim);
        double err = 0, peak = 0;
        for (int k = 0; k <= n / 2; k++)
        {
            err = Math.Max(err, Math.Max(Math.Abs(nre[k] - re[k]), Math.Abs(nim[k] - im[k])));
            peak = Math.Max(peak, Math.Sqrt(re[k] * re[k] + im[k] * im[k]));
        }
        Assert.True(err / peak < 1e-13, $"n={n}: relative {err / peak:E2} (measured ≤ 1.1e-14)");
    }

    [Theory]
    [InlineData(400)]
    [InlineData(800)]
    public void NWavesFftRefusesTheFixturesOtherSizes(int n)
    {
        // n_fft 400 (our presets, melspec_htk_400_160) and 800 (spectrogram_hamming_800): ours is mixed-radix/Bluestein
        var ex = Assert.Throws<ArgumentException>(() => new NWaves.Transforms.RealFft64(n));
        Assert.Contains("power of 2", ex.Message);
        Assert.Equal(n, FftPlan.Get(n).Length);
    }

    [Fact]
    public void DctTwoOrthoAgrees()
    {
        var x = RandomWave(128, 5);
        var ours = Cepstrum.ApplyDct(Cepstrum.CreateDct(26, 128), new DoubleMatrix(x, 128, 1));
        var nw = NWavesFrontEnd.DctColumns(x, 128, 1, 26);
        Assert.True(Diff(nw.Values, ours.Values).Rel < 1e-6); // float32 inside NWaves: measured 2.5e-7
    }

    [Theory]
    [InlineData("mel_fbanks_htk_none_201_40")]
    [InlineData("mel_fbanks_htk_slaney_257_64")]
    [InlineData("mel_fbanks_slaney_slaney_1025_128")]
    public void MelFilterbanksAgreeWithTorchaudioAndOurs(string name)
    {
        var f = Load(name);
        var mel = Mel(f);
        int nFreqs = Int(f, "n_freqs", 201);
        var nw = NWavesFrontEnd.AsTorchLayout(NWavesFrontEnd.MelBank(nFreqs, mel));
        var e = f.Tensors["out.fbanks"].Floats!;
        Assert.True(AudioFixtureTests.Score(Array.ConvertAll(nw.Values, v => (float)v), e, f.Rtol, f.Atol) < 1e-3); // measured ≤ 7.3e-5
        Assert.True(Diff(nw.Values, MelFilterbank.Create(nFreqs, mel).Values).Abs < 1e-7); // NWaves keeps float32 weights (≤ 1): half an ulp of 1 is 6e-8
    }

    [Fact]
    public void MelSpectrogramAndMfccFromNWavesPiecesPassTheFixtures()
    {
        // the one mel fixture with a power-of-two n_fft, through NWaves' FFT, periodic window, Slaney bank and DCT
        var f = Load("melspec_slaney_2048_512");
        var (s, m, w) = (Stft(f), Mel(f), Wave(f).Rows[0]);
        var mel = NWavesFrontEnd.MelSpectrogram(w, s, m);
        Assert.True(AudioFixtureTests.Score(Array.ConvertAll(mel.Values, v => (float)v), f.Tensors["out.mel"].Floats!, f.Rtol, f.Atol) < 0.01); // measured 4.6e-4
        var g = Load("mfcc");
        var (gs, gm, gw) = (Stft(g), Mel(g), Wave(g).Rows[0]);
        var mfcc = NWavesFrontEnd.Mfcc(gw, gs, gm, Int(g, "n_mfcc", 40), TopDb(g));
        Assert.True(AudioFixtureTests.Score(Array.ConvertAll(mfcc.Values, v => (float)v), g.Tensors["out.mfcc"].Floats!, g.Rtol, g.Atol) < 0.01); // measured 1.0e-3
    }

    [Fact]
    public void NWavesShippedClassesDoNotComputeTorchaudiosQuantities()
    {
        // Stft class: symmetric window, no center framing → one frame more and 7.6x the fixture tolerance on the common frames
        var f = Load("melspec_slaney_2048_512");
        var (s, w) = (Stft(f), Wave(f).Rows[0]);
        var spec = NWavesFrontEnd.StftClass(w, s);
        Assert.Equal(f.Tensors["out.mel"].Shape[^1] + 1, spec.Columns);
        // MfccExtractor: no top_db, its own framing → 1.8x the mfcc fixture's tolerance
        var g = Load("mfcc");
        var mfcc = NWavesFrontEnd.MfccExtractor(Wave(g).Rows[0], Stft(g), Mel(g), Int(g, "n_mfcc", 40));
        var e = g.Tensors["out.mfcc"].Floats!;
        Assert.True(mfcc.Values.Length != e.Length || AudioFixtureTests.Score(Array.ConvertAll(mfcc.Values, v => (float)v), e, g.Rtol, g.Atol) > 1);
    }

    [Fact]
    public void ResamplingFortyFourOneToSixteen()
    {
        var x = Sine(1000, 44100, 22050);
        Assert.True(SignalToErrorDb(Resampler.Resample(x, 44100, 16000), 1000, 16000) > 100); // ours: measured 108.9 dB
        var nw = NWavesFrontEnd.Resample(x, 44100, 16000);
        Assert.Equal(8000, nw.Length);
        Assert.True(SignalToErrorDb(nw, 1000, 16000) < 60, "NWaves' resampler now keeps 60 dB: re-measure README's table");
    }

    [Fact]
    public void WavEncodingsBothReadAgree()
    {
        string[] same = ["PCM 8-bit unsigned", "PCM 16-bit", "PCM 24-bit", "PCM 32-bit", "IEEE float 32 (+ fact chunk)", "EXTENSIBLE PCM 16",
            "EXTENSIBLE 20 valid bits in 24", "PCM 16 stereo", "PCM 16 six channels", "odd last chunk without pad byte"];
        foreach (var (name, bytes) in ReadableWavs())
        {
            var ours = WavReader.Parse(bytes, "x.wav").Samples;
            var (nw, err) = NWavesRead(bytes);
            if (same.Contains(name))
            {
                Assert.Null(err);
                Assert.True(Diff(nw!, ours).Abs <= 6e-8, $"{name}: {Diff(nw!, ours).Abs:E2}"); // PCM 32: 6e-8 (ours keeps int.MaxValue below 1)
            }
            else
            {
                // float 64, EXTENSIBLE float, chunks before fmt, streamed headers: NWaves refuses, misreads or reads nothing
                Assert.True(err is not null || nw!.Length != ours.Length || Diff(nw, ours).Abs > 0.1, name);
            }
        }
    }

    [Fact]
    public void NWavesAcceptsBrokenFilesOursRefuses()
    {
        int accepted = 0, refused = 0;
        foreach (var (name, bytes) in BrokenWavs())
        {
            Assert.Throws<AudioFormatException>(() => WavReader.Parse(bytes, "x.wav"));
            var (_, err) = NWavesRead(bytes);
            if (err is null) accepted++;
            else { refused++; Assert.DoesNotContain("at byte", err.Message); } // no offset in any of NWaves' messages
        }
        // measured: 17 of 42 broken files read as audio (the 7 unsupported encodings, NaN, bad block align, empty data ...)
        Assert.Equal(17, accepted);
        Assert.Equal(25, refused);
    }
}
