using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using SerEngine.Audio.Conformance;
using SerEngine.Backends;
using SerEngine.Conformance;
using SerEngine.IO;
using Xunit.Abstractions;

namespace SerEngine.Tests.Audio;

/// <summary>
/// The audio fixtures of shared/fixtures through <see cref="AudioFixtureHandlers"/>, with a tiny
/// private safetensors parser (the engine's reader is written elsewhere).
/// </summary>
public class AudioFixtureTests(ITestOutputHelper output)
{
    /// <summary>shared/fixtures: $SERENGINE_FIXTURES, else the nearest shared/fixtures above the test binaries, else /work/shared/fixtures.</summary>
    internal static string FixtureDir()
    {
        if (Environment.GetEnvironmentVariable("SERENGINE_FIXTURES") is { Length: > 0 } env) return env;
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
        {
            string p = Path.Combine(d.FullName, "shared", "fixtures");
            if (Directory.Exists(p)) return p;
        }
        return "/work/shared/fixtures";
    }

    /// <summary>Parses a safetensors file (F32 and I64 only) into a fixture.</summary>
    internal static Fixture LoadFixture(string path)
    {
        var bytes = File.ReadAllBytes(path);
        long headerLen = BinaryPrimitives.ReadInt64LittleEndian(bytes);
        using var doc = JsonDocument.Parse(Encoding.UTF8.GetString(bytes, 8, (int)headerLen));
        var tensors = new Dictionary<string, HostTensor>();
        var meta = new Dictionary<string, string>();
        int dataStart = 8 + (int)headerLen;
        foreach (var prop in doc.RootElement.EnumerateObject())
        {
            if (prop.Name == "__metadata__")
            {
                foreach (var m in prop.Value.EnumerateObject()) meta[m.Name] = m.Value.GetString()!;
                continue;
            }
            string dtype = prop.Value.GetProperty("dtype").GetString()!;
            var shape = new Shape(prop.Value.GetProperty("shape").EnumerateArray().Select(e => e.GetInt32()).ToArray());
            var offs = prop.Value.GetProperty("data_offsets").EnumerateArray().Select(e => e.GetInt64()).ToArray();
            int at = dataStart + (int)offs[0];
            Assert.Equal(shape.Size * (dtype == "I64" ? 8 : 4), offs[1] - offs[0]);
            tensors[prop.Name] = dtype switch
            {
                "F32" => new HostTensor(shape, Enumerable.Range(0, shape.Size).Select(i => BinaryPrimitives.ReadSingleLittleEndian(bytes.AsSpan(at + 4 * i))).ToArray()),
                "I64" => new HostTensor(shape, Enumerable.Range(0, shape.Size).Select(i => checked((int)BinaryPrimitives.ReadInt64LittleEndian(bytes.AsSpan(at + 8 * i)))).ToArray()),
                _ => throw new InvalidDataException($"{path}: dtype {dtype} not handled by the test parser"),
            };
        }
        string? p = meta.GetValueOrDefault("params");
        return new Fixture
        {
            Name = Path.GetFileNameWithoutExtension(path),
            Path = path,
            Kind = meta.GetValueOrDefault("kind") ?? "",
            Op = meta.GetValueOrDefault("op") ?? "",
            Params = JsonDocument.Parse(p ?? "{}").RootElement.Clone(),
            Rtol = double.Parse(meta.GetValueOrDefault("rtol") ?? "0", System.Globalization.CultureInfo.InvariantCulture),
            Atol = double.Parse(meta.GetValueOrDefault("atol") ?? "0", System.Globalization.CultureInfo.InvariantCulture),
            Tensors = tensors,
        };
    }

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
