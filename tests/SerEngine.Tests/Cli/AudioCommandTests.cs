using SerEngine.Audio;
using SerEngine.Cli;
using SerEngine.IO;

namespace SerEngine.Tests.Cli;

public sealed class AudioCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("ser-cli-audio").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static (int Code, string Out, string Err) Run(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int code = CliApp.Run(args, stdout, stderr);
        return (code, stdout.ToString(), stderr.ToString());
    }

    private string Sine(string name, int rate, double seconds, int channels = 1)
    {
        int frames = (int)(rate * seconds);
        var samples = new float[frames * channels];
        for (int i = 0; i < frames; i++)
            for (int c = 0; c < channels; c++) samples[i * channels + c] = 0.5f * MathF.Sin(2 * MathF.PI * 440 * i / rate);
        var path = Path.Combine(_dir, name);
        WavWriter.Write(path, samples, rate, WavWriteFormat.Pcm16, channels);
        return path;
    }

    [Fact]
    public void InfoPrintsRateChannelsEncodingFramesAndDuration()
    {
        var path = Sine("a.wav", 22050, 1.5, channels: 2);
        var r = Run("info", path);
        Assert.Equal(0, r.Code);
        Assert.Contains("22050 Hz, 2 channels, PCM 16-bit", r.Out);
        Assert.Contains("33075 frames, 1.500 s", r.Out);
    }

    [Fact]
    public void FeaturesWritesTheModelFrontEnds()
    {
        var path = Sine("b.wav", 16000, 2.0);
        var outPath = Path.Combine(_dir, "mfcc.safetensors");
        var r = Run("features", path, "--kind", "mfcc", "--out", outPath);
        Assert.Equal(0, r.Code);
        var f = SafeTensors.Read(outPath);
        Assert.Equal(new Shape(26, 63), f.Tensors["features"].Shape); // 2 s at hop 512, centred
        Assert.Equal("mfcc", f.Metadata["kind"]);

        var spec = Run("features", path, "--kind", "logspec");
        Assert.Equal(0, spec.Code);
        Assert.Contains("200 bins × 196 frames", spec.Out); // (32000 − 640) / 160 + 1
    }

    [Fact]
    public void BrokenOrUnsupportedFilesGiveOneLineAndExitOne()
    {
        var good = File.ReadAllBytes(Sine("c.wav", 16000, 0.5));
        var truncated = Path.Combine(_dir, "truncated.wav");
        File.WriteAllBytes(truncated, good[..30]);
        var r = Run("info", truncated);
        Assert.Equal(1, r.Code);
        Assert.Equal("", r.Out);
        Assert.Single(r.Err.TrimEnd('\n').Split('\n'));
        Assert.StartsWith("ser: ", r.Err);
        Assert.Contains("truncated.wav", r.Err);

        var missingKind = Run("features", truncated);
        Assert.Equal(2, missingKind.Code);
        var unknownKind = Run("features", truncated, "--kind", "chroma");
        Assert.Equal(2, unknownKind.Code);
        Assert.Contains("chroma", unknownKind.Err);
    }

    [Fact]
    public void InfoOnAStreamedWavPrintsTheNote()
    {
        var path = Sine("streamed.wav", 16000, 0.5);
        var bytes = File.ReadAllBytes(path);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(4), 0x7FFFF024); // what espeak-ng --stdout writes
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(40), 0x7FFFF000);
        File.WriteAllBytes(path, bytes);
        var r = Run("info", path);
        Assert.Equal(0, r.Code);
        Assert.Contains("16000 Hz, 1 channel, PCM 16-bit signed, 8000 frames, 0.500 s", r.Out);
        Assert.Contains("note: streamed WAV (RIFF size 0x7FFFF024, data size 0x7FFFF000 in the header): read to end of file, 8000 frames", r.Out);
        Assert.DoesNotContain("note:", Run("info", Sine("plain.wav", 16000, 0.5)).Out);
    }

    [Fact]
    public void MissingFilesFoldersAndBadRatesAreOneLineNamingTheFile()
    {
        var missing = Path.Combine(_dir, "missing.wav");
        var r = Run("info", missing);
        Assert.Equal((1, $"ser: {missing} does not exist\n"), (r.Code, r.Err.ReplaceLineEndings("\n")));
        Assert.Equal($"ser: {_dir} is a folder, expected a WAV file", Run("info", _dir).Err.TrimEnd());
        Assert.Equal($"ser: {missing} does not exist", Run("features", missing, "--kind", "mfcc").Err.TrimEnd());

        var oneHz = Sine("one_hz.wav", 16000, 0.1);
        var bytes = File.ReadAllBytes(oneHz);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(24), 1);
        File.WriteAllBytes(oneHz, bytes);
        Assert.Equal($"ser: {oneHz}: at byte 24: fmt sample rate 1 Hz, expected 1000..768000 Hz", Run("info", oneHz).Err.TrimEnd());

        var tiny = Sine("tiny.wav", 16000, 0.01);
        var f = Run("features", tiny, "--kind", "logspec");
        Assert.Equal(1, f.Code);
        Assert.StartsWith($"ser: {tiny}: 160 samples (0.01 s) give no LogSpectrogram frame; at least 800 are needed", f.Err);
    }
}
