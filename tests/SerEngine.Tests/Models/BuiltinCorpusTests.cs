using SerEngine.Audio;
using SerEngine.Models.Corpus;
using SerEngine.Models.Data;

namespace SerEngine.Tests.Models;

public class BuiltinCorpusTests
{
    private static readonly BuiltinCorpusConfig Small = new(Speakers: 3, UtterancesPerClass: 2);

    [Fact]
    public void TheCorpusIsDeterministicWithTheAdvertisedShape()
    {
        var a = BuiltinCorpus.Create(Small);
        var b = BuiltinCorpus.Create(Small);
        Assert.Equal(3 * 4 * 2, a.Utterances.Count);
        Assert.Equal(["neutral", "happy", "sad", "angry"], a.Labels);
        Assert.Equal(["spk1", "spk2", "spk3"], a.Speakers);
        Assert.Equal("spk2/sad/002", a.Utterances[2 * 8 - 3].Id);
        for (int i = 0; i < a.Utterances.Count; i += 5)
        {
            var x = a.Utterances[i].LoadSamples(16000);
            Assert.Equal(x, b.Utterances[i].LoadSamples(16000));
            Assert.InRange(x.Length, 16000, 24000); // 1.0 .. 1.5 s
            Assert.All(x, v => Assert.InRange(v, -1f, 1f));
            double rms = Math.Sqrt(x.Average(v => (double)v * v));
            Assert.InRange(rms, 0.005, 0.3);
        }
        Assert.NotEqual(a.Utterances[0].LoadSamples(16000), a.Utterances[1].LoadSamples(16000));
        Assert.Equal(2, BuiltinCorpus.Create(Small with { Classes = 2 }).Labels.Count);
    }

    [Fact]
    public void EmotionsShiftPitchAndLoudnessAsProfiled()
    {
        // class means over a few utterances of one speaker: angry louder than sad, and higher pitched
        var data = BuiltinCorpus.Create(new BuiltinCorpusConfig(Speakers: 1, UtterancesPerClass: 6));
        double Rms(string label) => data.Utterances.Where(u => u.Label == label)
            .Average(u => Math.Sqrt(u.LoadSamples(16000).Average(v => (double)v * v)));
        Assert.True(Rms("angry") > 2 * Rms("sad"), $"angry {Rms("angry")} vs sad {Rms("sad")}");
        // zero-crossing rate of the voiced signal tracks pitch and brightness
        double Zcr(string label) => data.Utterances.Where(u => u.Label == label).Average(u =>
        {
            var x = u.LoadSamples(16000);
            int z = 0;
            for (int i = 1; i < x.Length; i++) if ((x[i - 1] < 0) != (x[i] < 0) && Math.Abs(x[i]) > 0.01) z++;
            return z / (double)x.Length;
        });
        Assert.True(Zcr("angry") > Zcr("sad"), $"angry {Zcr("angry")} vs sad {Zcr("sad")}");
    }

    [Fact]
    public void FeaturesAreComputedOnceAndCanPersistOnDisk()
    {
        var data = BuiltinCorpus.Create(new BuiltinCorpusConfig(Speakers: 1, UtterancesPerClass: 1));
        var spec = new FeatureSpec(FeatureSettings.PaperB, 31744);
        var dir = Directory.CreateTempSubdirectory("ser-cache").FullName;
        try
        {
            var cache = new FeatureCache(dir);
            var first = cache.GetAll(data.Utterances, spec);
            Assert.Equal(4, cache.Computed);
            var again = cache.GetAll(data.Utterances, spec);
            Assert.Equal(4, cache.Computed); // second epoch / fold: nothing recomputed
            Assert.Same(first[2], again[2]);
            Assert.Equal(63, first[0].Frames); // shorter than 2 s: padded to one 63-frame segment
            Assert.Single(Directory.GetFiles(dir, "features-*.safetensors"));

            var fresh = new FeatureCache(dir); // another run with the same output folder
            var loaded = fresh.GetAll(data.Utterances, spec);
            Assert.Equal(0, fresh.Computed);
            Assert.Equal(first[3].Values, loaded[3].Values);
            var other = fresh.GetAll(data.Utterances, new FeatureSpec(FeatureSettings.PaperA));
            Assert.Equal(4, fresh.Computed); // other settings: other key
            Assert.Equal(200, other[0].Bins);
        }
        finally { Directory.Delete(dir, recursive: true); }
    }
}
