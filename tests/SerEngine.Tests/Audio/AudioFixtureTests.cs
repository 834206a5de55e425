using System.Text.Json;
using SerEngine.Audio.Conformance;
using SerEngine.Backends;
using SerEngine.Conformance;
using SerEngine.IO;

namespace SerEngine.Tests.Audio;

/// <summary>
/// The audio fixtures of shared/fixtures through <see cref="AudioFixtureHandlers"/>.
/// </summary>
public class AudioFixtureTests(ITestOutputHelper output)
{
    /// <summary>shared/fixtures beside the repository.</summary>
    internal static string FixtureDir() => SharedFixtures.Directory;

    /// <summary>Reads a fixture with the engine's loader.</summary>
    internal static Fixture LoadFixture(string path) => FixtureLoader.Load(path);

    /// <summary>‖a − e‖₂ / (rtol‖e‖₂ + atol√n): passes when ≤ 1.</summary>
    internal static double Score(float[] actual, float[] expected, double rtol, double atol)
    {
        Assert.Equal(expected.Length, actual.Length);
        double diff = 0, norm = 0;
        for (int i = 0; i < expected.Length; i++)
        {
            double d = (double)actual[i] - expected[i];
            diff += d * d;
            norm += (double)expected[i] * expected[i];
        }
        return Math.Sqrt(diff) / (rtol * Math.Sqrt(norm) + atol * Math.Sqrt(expected.Length));
    }

    /// <summary>Runs a fixture through its handler; returns the worst score and checks shapes.</summary>
    internal static double Worst(Fixture f, ITestOutputHelper? log = null)
    {
        var handler = AudioFixtureHandlers.All.Single(h => h.Op == f.Op);
        var actual = handler.Run(f, BackendRegistry.Get("cpu"));
        double worst = 0;
        var expectedNames = f.Tensors.Keys.Where(k => k.StartsWith("out.", StringComparison.Ordinal) || k.StartsWith("grad.", StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(expectedNames);
        foreach (var name in expectedNames)
        {
            Assert.True(actual.ContainsKey(name), $"{f.Name}: handler produced no {name}");
            var a = actual[name];
            var e = f.Tensors[name];
            Assert.True(a.Shape.Equals(e.Shape), $"{f.Name}: {name} has shape {a.Shape}, expected {e.Shape}");
            double s = Score(a.Floats!, e.Floats!, f.Rtol, f.Atol);
            log?.WriteLine($"{f.Name} {name}: score {s:E3}");
            worst = Math.Max(worst, s);
        }
        return worst;
    }

    public static TheoryData<string> AudioFixtures() =>
    [
        "mel_fbanks_htk_none_201_40", "mel_fbanks_htk_slaney_257_64", "mel_fbanks_slaney_slaney_1025_128",
        "melspec_htk_400_160", "melspec_nocenter_800_160", "melspec_slaney_2048_512", "mfcc", "spectrogram_hamming_800",
    ];

    [Theory]
    [MemberData(nameof(AudioFixtures))]
    public void FixturePasses(string name)
    {
        var f = LoadFixture(Path.Combine(FixtureDir(), name + ".safetensors"));
        Assert.Equal("audio", f.Kind);
        double worst = Worst(f, output);
        output.WriteLine($"{name}: worst {worst:E3}");
        Assert.True(worst <= 1.0, $"{name}: worst score {worst:E3} > 1");
    }

    [Fact]
    public void EveryAudioFixtureInTheDirectoryHasAHandlerAndPasses()
    {
        var dir = FixtureDir();
        Assert.True(Directory.Exists(dir), $"fixture directory {dir} not found (set SERENGINE_FIXTURES)");
        var audio = Directory.GetFiles(dir, "*.safetensors").Select(LoadFixture).Where(f => f.Kind == "audio").ToList();
        Assert.True(audio.Count >= 8, $"expected at least 8 audio fixtures in {dir}, found {audio.Count}");
        var ops = AudioFixtureHandlers.All.Select(h => h.Op).ToHashSet();
        foreach (var f in audio)
        {
            Assert.Contains(f.Op, ops);
            double worst = Worst(f);
            Assert.True(worst <= 1.0, $"{f.Name}: worst score {worst:E3} > 1");
        }
    }

    [Fact]
    public void HandlersReadEverySettingFromParams()
    {
        // a fixture the set does not contain: other n_fft, hop, window, pad mode, power and mel settings
        var f = LoadFixture(Path.Combine(FixtureDir(), "melspec_htk_400_160.safetensors"));
        var wave = f.Tensors["in.wave"].Floats!;
        var p = JsonDocument.Parse("""
            {"n_fft": 512, "win_length": 300, "hop_length": 100, "window": "hamming, symmetric", "center": true,
             "pad_mode": "replicate", "power": 1.0, "n_mels": 24, "mel_scale": "slaney", "norm": "slaney",
             "f_min": 50.0, "f_max": 7000.0, "sample_rate": 16000}
            """).RootElement.Clone();
        var custom = new Fixture
        {
            Name = "custom", Path = "custom", Kind = "audio", Op = "mel_spectrogram", Params = p, Rtol = 1e-4, Atol = 1e-6,
            Tensors = new Dictionary<string, HostTensor> { ["in.wave"] = f.Tensors["in.wave"] },
        };
        var mel = new MelSpectrogramHandler().Run(custom, BackendRegistry.Get("cpu"))["out.mel"];
        Assert.Equal(new Shape(24, 1 + wave.Length / 100), mel.Shape);
        var stft = new SerEngine.Audio.StftSettings
        {
            NFft = 512, WinLength = 300, HopLength = 100, Window = SerEngine.Audio.WindowKind.Hamming, PeriodicWindow = false,
            PadMode = SerEngine.Audio.PadMode.Replicate, Power = 1.0,
        };
        var reference = FeatureTests.NaiveSpectrogram(wave, stft);
        var fb = SerEngine.Audio.MelFilterbank.Create(257, 50, 7000, 24, 16000, SerEngine.Audio.MelNorm.Slaney, SerEngine.Audio.MelScale.Slaney);
        var expected = SerEngine.Audio.MelFilterbank.Apply(fb, reference).ToFeatureMatrix().Values;
        Assert.True(Score(mel.Floats!, expected, 1e-6, 1e-9) <= 1);
    }
}
