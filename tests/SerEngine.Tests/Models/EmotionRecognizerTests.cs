using SerEngine.Audio;
using SerEngine.Backends;
using SerEngine.Models;
using SerEngine.Models.Data;
using SerEngine.Models.Training;
using SerEngine.Tests.Gpu;

namespace SerEngine.Tests.Models;

/// <summary>
/// The embedding API: a checkpoint of random weights written here, predictions equal to the model's
/// own path (what <c>ser predict</c> runs), bit-identical results from 8 threads sharing one
/// recognizer, and one clear error per kind of bad input.
/// </summary>
public sealed class EmotionRecognizerTests : IDisposable
{
    private static readonly string[] Labels = ["angry", "happy", "neutral", "sad"];

    private readonly string _dir = Directory.CreateTempSubdirectory("ser-embed").FullName;
    private readonly ITestOutputHelper _output;

    public EmotionRecognizerTests(ITestOutputHelper output) => _output = output;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>A small network of the given kind with random weights, saved as a checkpoint.</summary>
    private string SaveRandomCheckpoint(string kind)
    {
        var cpu = BackendRegistry.Get("cpu");
        var rng = new Generator(11);
        SerModel model = kind == "fcn"
            ? new FcnModel(new AttentionFcnConfig(Labels.Length, Widths: [8, 8, 8, 8, 8]), Labels, new FeatureSpec(FeatureSettings.PaperA), rng, cpu)
            : new FcaModel(new FocusCalibrationNetConfig(Labels.Length, 26, 2, 8), new SegmentSettings(),
                Labels, new FeatureSpec(FeatureSettings.PaperB, FcaModel.SegmentSamples(FeatureSettings.PaperB, new SegmentSettings())), rng, cpu);
        string path = Path.Combine(_dir, kind + ".safetensors");
        Checkpoint.Save(path, model);
        return path;
    }

    /// <summary>Audio that differs per index: a few tones and noise, 0.8 to 1.5 s, at 16 kHz or (odd indices) 22.05 kHz.</summary>
    private static (float[] Samples, int Rate) Input(int i)
    {
        int rate = i % 2 == 0 ? 16000 : 22050;
        int n = (int)(rate * (0.8 + 0.1 * (i % 8)));
        var rng = new Random(100 + i);
        var x = new float[n];
        double f0 = 120 + 37 * i;
        for (int t = 0; t < n; t++)
            x[t] = (float)(0.3 * Math.Sin(2 * Math.PI * f0 * t / rate) + 0.1 * Math.Sin(2 * Math.PI * 3.1 * f0 * t / rate) + 0.05 * (rng.NextDouble() - 0.5));
        return (x, rate);
    }

    [Theory]
    [InlineData("fcn")]
    [InlineData("fca")]
    public void PredictMatchesTheModelsOwnPath(string kind)
    {
        string path = SaveRandomCheckpoint(kind);
        using var recognizer = EmotionRecognizer.Load(path);
        var model = Checkpoint.Load(path).CreateModel(BackendRegistry.Get("cpu"));
        Assert.Equal(Labels, recognizer.Labels);
        Assert.Equal(16000, recognizer.SampleRate);
        Assert.Equal(kind, recognizer.ModelKind);
        for (int i = 0; i < 3; i++)
        {
            var (x, rate) = Input(i);
            var features = model.Features.Compute(rate == 16000 ? x : Resampler.Resample(x, rate, 16000));
            var expected = SerModel.Softmax(model.PredictLogits([features]))[0];
            var p = recognizer.Predict(x, rate);
            Assert.Equal(expected, p.Probabilities);
            Assert.Equal(Labels[SerModel.ArgMax(expected)], p.Label);
            Assert.Equal(expected.Max(), p.Confidence);
            Assert.Equal(expected[2], p.ByLabel["neutral"]);
            Assert.Equal(1.0, p.Probabilities.Sum(v => (double)v), 5);
        }
    }

    [Theory]
    [InlineData("fcn")]
    [InlineData("fca")]
    public void EightThreadsSharingOneRecognizerGetTheSingleThreadedResults(string kind)
    {
        using var recognizer = EmotionRecognizer.Load(SaveRandomCheckpoint(kind));
        // fca's 2 s segments cost more; every input is still run by several threads
        AssertThreadsAgree(recognizer, callsPerThread: kind == "fcn" ? 6 : 3);
    }

    [Fact]
    public void EightThreadsSharingOneRecognizerOnOpenClGetTheSingleThreadedResults()
    {
        var openCl = GpuTestDevices.OpenCl(_output);
        if (openCl is null) return;
        using var recognizer = EmotionRecognizer.Load(SaveRandomCheckpoint("fcn"), openCl);
        Assert.Equal("opencl", recognizer.BackendName);
        AssertThreadsAgree(recognizer, callsPerThread: 2);
    }

    /// <summary>8 threads, each predicting <paramref name="callsPerThread"/> of 8 inputs in its own order, must reproduce the single-threaded results exactly.</summary>
    private static void AssertThreadsAgree(EmotionRecognizer recognizer, int callsPerThread)
    {
        const int inputs = 8;
        var data = Enumerable.Range(0, inputs).Select(Input).ToArray();
        var expected = data.Select(d => recognizer.Predict(d.Samples, d.Rate).Probabilities.ToArray()).ToArray();
        Assert.True(expected.Select(e => e[0]).Distinct().Count() > 1, "the inputs should give different predictions");

        var mismatches = new System.Collections.Concurrent.ConcurrentBag<string>();
        using var start = new Barrier(8);
        var threads = Enumerable.Range(0, 8).Select(t => new Thread(() =>
        {
            start.SignalAndWait();
            for (int k = 0; k < callsPerThread; k++)
            {
                int i = (t + 3 * k) % inputs; // every thread walks the inputs in its own order
                var p = recognizer.Predict(data[i].Samples, data[i].Rate).Probabilities;
                if (!p.SequenceEqual(expected[i])) mismatches.Add($"thread {t} input {i}: [{string.Join(", ", p)}] vs [{string.Join(", ", expected[i])}]");
            }
        })).ToList();
        threads.ForEach(th => th.Start());
        threads.ForEach(th => th.Join());
        Assert.Empty(mismatches);
    }

    [Fact]
    public void PredictFromAWavFileEqualsPredictFromItsSamples()
    {
        using var recognizer = EmotionRecognizer.Load(SaveRandomCheckpoint("fcn"));
        var (x, rate) = Input(3);
        string wav = Path.Combine(_dir, "a.wav");
        WavWriter.Write(wav, x, rate, WavWriteFormat.Float32);
        var fromFile = recognizer.Predict(wav);
        Assert.Equal(recognizer.Predict(WavReader.Read(wav).Samples, rate).Probabilities, fromFile.Probabilities);
        Assert.StartsWith(fromFile.Label + " (", fromFile.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void FcaPadsAudioShorterThanOneSegment()
    {
        using var recognizer = EmotionRecognizer.Load(SaveRandomCheckpoint("fca"));
        var shortAudio = Input(0).Samples.AsSpan(0, 3000).ToArray(); // 0.19 s
        var padded = new float[FcaModel.SegmentSamples(FeatureSettings.PaperB, new SegmentSettings())]; // 2 s of zeros
        shortAudio.CopyTo(padded, 0);
        Assert.Equal(recognizer.Predict(padded, 16000).Probabilities, recognizer.Predict(shortAudio, 16000).Probabilities);
    }

    [Fact]
    public void BadInputsGetOneClearError()
    {
        string path = SaveRandomCheckpoint("fcn");
        var missing = Path.Combine(_dir, "nope.safetensors");
        Assert.Equal($"checkpoint '{missing}' does not exist", Assert.Throws<CheckpointException>(() => EmotionRecognizer.Load(missing)).Message);
        string junk = Path.Combine(_dir, "junk.safetensors");
        File.WriteAllText(junk, "not a checkpoint");
        Assert.Contains(junk, Assert.Throws<CheckpointException>(() => EmotionRecognizer.Load(junk)).Message, StringComparison.Ordinal);
        Assert.Contains("unknown backend 'tpu'", Assert.Throws<ArgumentException>(() => EmotionRecognizer.Load(path, "tpu")).Message, StringComparison.Ordinal);

        var recognizer = EmotionRecognizer.Load(path);
        Assert.Equal("samples", Assert.Throws<ArgumentNullException>(() => recognizer.Predict(null!, 16000)).ParamName);
        Assert.Contains("empty", Assert.Throws<ArgumentException>(() => recognizer.Predict([], 16000)).Message, StringComparison.Ordinal);
        Assert.Equal("sampleRate", Assert.Throws<ArgumentOutOfRangeException>(() => recognizer.Predict(new float[16000], 0)).ParamName);
        Assert.Equal("sampleRate", Assert.Throws<ArgumentOutOfRangeException>(() => recognizer.Predict(new float[16000], -8000)).ParamName);
        // the WAV reader's range: a 1 Hz rate would resample 2 000 samples to 32 M
        var oneHz = Assert.Throws<ArgumentOutOfRangeException>(() => recognizer.Predict(new float[2000], 1));
        Assert.Equal("sampleRate", oneHz.ParamName);
        Assert.Contains("sample rate 1 Hz is outside the supported 1000..768000 Hz", oneHz.Message, StringComparison.Ordinal);
        Assert.Equal("sampleRate", Assert.Throws<ArgumentOutOfRangeException>(() => recognizer.Predict(new float[16000], SampleRates.Max + 1)).ParamName);
        var withNan = new float[16000];
        withNan[5] = float.NaN;
        Assert.Contains("sample 5 is NaN", Assert.Throws<ArgumentException>(() => recognizer.Predict(withNan, 16000)).Message, StringComparison.Ordinal);
        Assert.Contains("too short", Assert.Throws<ArgumentException>(() => recognizer.Predict(new float[2000], 16000)).Message, StringComparison.Ordinal);
        Assert.Throws<FileNotFoundException>(() => recognizer.Predict(Path.Combine(_dir, "none.wav")));
        recognizer.Dispose();
        Assert.Throws<ObjectDisposedException>(() => recognizer.Predict(new float[16000], 16000));
    }
}
