using System.Buffers.Binary;
using System.Diagnostics;
using System.Text;
using SerEngine.Audio;

namespace SerEngine.Tests.Audio;

public partial class WavTests
{
    // ---- byte builders -------------------------------------------------------------------------

    internal static byte[] Chunk(string id, byte[] body, bool padByte = true, uint? size = null)
    {
        var b = new List<byte>(Encoding.ASCII.GetBytes(id));
        b.AddRange(U32(size ?? (uint)body.Length));
        b.AddRange(body);
        if (padByte && body.Length % 2 == 1) b.Add(0);
        return [.. b];
    }

    internal static byte[] Riff(params byte[][] chunks) => RiffWith(null, "RIFF", "WAVE", chunks);

    internal static byte[] RiffWith(uint? riffSize, string magic, string form, params byte[][] chunks)
    {
        var body = chunks.SelectMany(c => c).ToArray();
        return [.. Encoding.ASCII.GetBytes(magic), .. U32(riffSize ?? (uint)(4 + body.Length)), .. Encoding.ASCII.GetBytes(form), .. body];
    }

    internal static byte[] U16(int v) { var b = new byte[2]; BinaryPrimitives.WriteUInt16LittleEndian(b, (ushort)v); return b; }
    internal static byte[] U32(uint v) { var b = new byte[4]; BinaryPrimitives.WriteUInt32LittleEndian(b, v); return b; }

    internal static byte[] Fmt(int tag, int channels, int rate, int bits, int? blockAlign = null, bool withCbSize = false)
    {
        int align = blockAlign ?? channels * bits / 8;
        byte[] f = [.. U16(tag), .. U16(channels), .. U32((uint)rate), .. U32((uint)(rate * align)), .. U16(align), .. U16(bits)];
        return Chunk("fmt ", withCbSize ? [.. f, .. U16(0)] : f);
    }

    internal static readonly byte[] GuidTail = [0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71];

    internal static byte[] FmtExt(int subTag, int channels, int rate, int bits, int validBits, byte[]? guidTail = null)
    {
        int align = channels * bits / 8;
        byte[] f = [.. U16(0xFFFE), .. U16(channels), .. U32((uint)rate), .. U32((uint)(rate * align)), .. U16(align), .. U16(bits),
            .. U16(22), .. U16(validBits), .. U32(channels == 2 ? 3u : 4u), .. U16(subTag), .. guidTail ?? GuidTail];
        return Chunk("fmt ", f);
    }

    internal static byte[] Pcm16(params short[] v) => v.SelectMany(x => U16(x)).ToArray();
    internal static byte[] Pcm24(params int[] v) => v.SelectMany(x => new[] { (byte)x, (byte)(x >> 8), (byte)(x >> 16) }).ToArray();
    internal static byte[] Pcm32(params int[] v) => v.SelectMany(x => U32((uint)x)).ToArray();
    internal static byte[] F32(params float[] v) => v.SelectMany(x => { var b = new byte[4]; BinaryPrimitives.WriteSingleLittleEndian(b, x); return b; }).ToArray();
    internal static byte[] F64(params double[] v) => v.SelectMany(x => { var b = new byte[8]; BinaryPrimitives.WriteDoubleLittleEndian(b, x); return b; }).ToArray();

    private static WavAudio Parse(byte[] bytes) => WavReader.Parse(bytes, "test.wav");

    // ---- every encoding --------------------------------------------------------------------------

    [Fact]
    public void Pcm8Unsigned()
    {
        var w = Parse(Riff(Fmt(1, 1, 8000, 8), Chunk("data", [0, 64, 128, 192, 255, 128])));
        Assert.Equal([-1f, -0.5f, 0f, 0.5f, 127 / 128f, 0f], w.Samples);
        Assert.Equal((8000, 1, 6L, WavSampleEncoding.PcmUnsigned8), (w.SampleRate, w.Channels, w.FrameCount, w.Info.Encoding));
        Assert.Equal("PCM 8-bit unsigned", w.EncodingDescription);
    }

    [Fact]
    public void Pcm16Signed()
    {
        var w = Parse(Riff(Fmt(1, 1, 16000, 16), Chunk("data", Pcm16(-32768, -16384, 0, 16384, 32767))));
        Assert.Equal([-1f, -0.5f, 0f, 0.5f, 32767 / 32768f], w.Samples);
        Assert.Equal(5 / 16000.0, w.DurationSeconds, 15);
        Assert.Equal("PCM 16-bit signed", w.EncodingDescription);
    }

    [Fact]
    public void Pcm24Signed()
    {
        var w = Parse(Riff(Fmt(1, 1, 48000, 24), Chunk("data", Pcm24(-8388608, -4194304, 0, 1, 8388607))));
        Assert.Equal([-1f, -0.5f, 0f, 1 / 8388608f, 8388607 / 8388608f], w.Samples);
    }

    [Fact]
    public void Pcm32SignedStaysBelowOne()
    {
        var w = Parse(Riff(Fmt(1, 1, 44100, 32), Chunk("data", Pcm32(int.MinValue, -1 << 30, 0, int.MaxValue))));
        Assert.Equal([-1f, -0.5f, 0f, WavReader.MaxBelowOne], w.Samples);
        Assert.True(w.Samples.Max() < 1f);
        Assert.Equal(0, w.ClippedSamples);
    }

    [Fact]
    public void Float32AndFloat64WithClipping()
    {
        var w32 = Parse(Riff(Fmt(3, 1, 22050, 32, withCbSize: true), Chunk("fact", U32(4)), Chunk("data", F32(-1f, -0.25f, 0f, 0.5f, 0.999f))));
        Assert.Equal([-1f, -0.25f, 0f, 0.5f, 0.999f], w32.Samples);
        Assert.Equal("IEEE float 32-bit", w32.EncodingDescription);
        var w64 = Parse(Riff(Fmt(3, 1, 22050, 64), Chunk("data", F64(0.125, 1.5, -2.0, 1.0, -1.0))));
        Assert.Equal([0.125f, WavReader.MaxBelowOne, -1f, WavReader.MaxBelowOne, -1f], w64.Samples);
        Assert.Equal(3, w64.ClippedSamples); // 1.5, -2 and 1.0 lie outside [-1, 1)
        Assert.Equal(WavSampleEncoding.Float64, w64.Info.Encoding);
    }

    [Fact]
    public void ExtensiblePcmFloatAndNarrowValidBits()
    {
        var p = Parse(Riff(FmtExt(1, 1, 16000, 16, 16), Chunk("data", Pcm16(16384, -8192))));
        Assert.Equal([0.5f, -0.25f], p.Samples);
        Assert.True(p.Info.Extensible);
        Assert.Equal("PCM 16-bit signed (WAVE_FORMAT_EXTENSIBLE)", p.EncodingDescription);
        var f = Parse(Riff(FmtExt(3, 2, 96000, 32, 32), Chunk("data", F32(0.5f, 0.25f, -1f, 0f))));
        Assert.Equal([0.375f, -0.5f], f.Samples);
        Assert.Equal(WavSampleEncoding.Float32, f.Info.Encoding);
        // 20 valid bits, left-justified in a 24-bit container: scaled by the container
        var v = Parse(Riff(FmtExt(1, 1, 16000, 24, 20), Chunk("data", Pcm24(0x400000 & ~0xF, -0x800000))));
        Assert.Equal([0.5f, -1f], v.Samples);
        Assert.Equal(20, v.Info.ValidBitsPerSample);
        Assert.Contains("20 valid bits", v.EncodingDescription);
    }

    [Fact]
    public void StereoAndMultichannelAreAveraged()
    {
        var s = Parse(Riff(Fmt(1, 2, 16000, 16), Chunk("data", Pcm16(16384, -8192, -32768, -32768, 100, 300))));
        Assert.Equal([0.125f, -1f, 200 / 32768f], s.Samples);
        Assert.Equal((2, 3L), (s.Channels, s.FrameCount));
        short[] six = [6000, -3000, 1200, 0, 0, 9000];
        var m = Parse(Riff(Fmt(1, 6, 16000, 16), Chunk("data", Pcm16(six))));
        Assert.Equal([(float)(13200 / 6.0 / 32768)], m.Samples);
    }

    [Fact]
    public void OddChunksPadBytesUnknownChunksAndDataBeforeFmt()
    {
        // JUNK with 3 bytes + pad, data (odd, 8-bit, 3 frames) + pad, then fmt and a LIST after the data
        var bytes = Riff(Chunk("JUNK", [1, 2, 3]), Chunk("data", [128, 255, 0]), Fmt(1, 1, 8000, 8), Chunk("LIST", Encoding.ASCII.GetBytes("INFOISFT")), Chunk("bext", new byte[5]));
        var w = Parse(bytes);
        Assert.Equal([0f, 127 / 128f, -1f], w.Samples);
        Assert.Equal(20L + 12, w.Info.DataOffset);
        // the pad byte of an odd last chunk may be missing
        var noPad = Riff(Fmt(1, 1, 8000, 8), Chunk("data", [128, 128, 128], padByte: false));
        Assert.Equal(3, Parse(noPad).Samples.Length);
        // bytes after the RIFF size (e.g. an appended tag) are ignored
        Assert.Equal(3, Parse([.. noPad, .. Encoding.ASCII.GetBytes("ID3 trailing tag")]).Samples.Length);
    }

    [Fact]
    public void WriterRoundTrips()
    {
        float[] stereo = [0.5f, -0.25f, 1 / 32768f, -1f, 0.999f, 0.001f];
        var pcm = Parse(WavWriter.ToBytes(stereo, 44100, WavWriteFormat.Pcm16, channels: 2));
        Assert.Equal((44100, 2, 3L, WavSampleEncoding.PcmSigned16), (pcm.SampleRate, pcm.Channels, pcm.FrameCount, pcm.Info.Encoding));
        Assert.Equal(0.125f, pcm.Samples[0]);
        Assert.Equal((1 / 32768f - 1f) / 2, pcm.Samples[1], 7);
        Assert.Equal((0.999f + 0.001f) / 2, pcm.Samples[2], 4);
        var mono = Enumerable.Range(0, 1001).Select(i => (float)Math.Sin(i * 0.01) * 0.9f).ToArray(); // odd sample count
        var f32 = Parse(WavWriter.ToBytes(mono, 16000, WavWriteFormat.Float32));
        Assert.Equal(mono, f32.Samples);
        var p16 = Parse(WavWriter.ToBytes(mono, 16000));
        Assert.All(mono.Zip(p16.Samples), t => Assert.True(Math.Abs(t.First - t.Second) <= 0.5 / 32768 + 1e-9));
        string path = Path.Combine(Path.GetTempPath(), $"serengine_wav_{Environment.ProcessId}.wav");
        try
        {
            WavWriter.Write(path, mono, 8000, WavWriteFormat.Float32);
            Assert.Equal(mono, WavReader.Read(path).Samples);
            var info = WavReader.ReadInfo(path);
            Assert.Equal((8000, 1001L, path), (info.SampleRate, info.FrameCount, info.Source));
            Assert.Equal(1001 / 8000.0, info.DurationSeconds, 12);
        }
        finally
        {
            File.Delete(path);
        }
        Assert.Throws<ArgumentException>(() => WavWriter.ToBytes(new float[3], 8000, channels: 2));
        // a stream positioned after other bytes: offsets count from the RIFF header
        using var ms = new MemoryStream([.. new byte[5], .. WavWriter.ToBytes(mono, 16000, WavWriteFormat.Float32)]);
        ms.Position = 5;
        Assert.Equal(mono, WavReader.Read(ms, "offset.wav").Samples);
    }

    // ---- broken input ------------------------------------------------------------------------------

    private static AudioFormatException Refused(byte[] bytes, long offset, params string[] parts)
    {
        var ex = Assert.Throws<AudioFormatException>(() => WavReader.Parse(bytes, "broken.wav"));
        Assert.StartsWith($"broken.wav: at byte {offset}: ", ex.Message);
        Assert.Equal(offset, ex.Offset);
        Assert.DoesNotContain('\n', ex.Message);
        foreach (var p in parts) Assert.Contains(p, ex.Message);
        return ex;
    }

    private static readonly byte[] Good = Riff(Fmt(1, 1, 16000, 16), Chunk("data", Pcm16(1, 2, 3, 4)));

    [Fact]
    public void TruncatedFilesAreRefused()
    {
        Refused([], 0, "expected a 12-byte RIFF/WAVE header", "found 0 bytes");
        Refused(Good[..10], 0, "found 10 bytes");
        Refused(Good[..^3], 4, "RIFF size says the file has 52 bytes, found 49", "truncated");
        // RIFF size adjusted to the cut file: the data chunk itself claims too much
        var cut = Good[..^2];
        BinaryPrimitives.WriteUInt32LittleEndian(cut.AsSpan(4), (uint)(cut.Length - 8));
        Refused(cut, 40, "chunk 'data' claims 8 bytes, only 6 remain");
        // a partial chunk header at the end
        Refused(Riff(Fmt(1, 1, 16000, 16), Chunk("data", Pcm16(1)), [(byte)'L', (byte)'I', (byte)'S']), 46, "expected an 8-byte chunk header, found 3 bytes");
    }

    [Fact]
    public void GigabyteClaimsAreRefusedWithoutAllocating()
    {
        // 1 GiB is a plausible real size (below the streaming placeholders): the file is truncated
        var huge = Riff(Fmt(1, 2, 48000, 16), Chunk("data", new byte[100], size: 0x40000000));
        long before = GC.GetAllocatedBytesForCurrentThread();
        Refused(huge, 40, "claims 1073741824 bytes, only 100 remain", "truncated file");
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 1 << 20, "the reader allocated for a size it never checked");
        var hugeRiff = RiffWith(0x40000000, "RIFF", "WAVE", Fmt(1, 1, 8000, 8), Chunk("data", [1, 2]));
        Refused(hugeRiff, 4, "RIFF size says the file has 1073741832 bytes");
        // 0xFFFFFFF0 is a streaming placeholder: read to the end of the file, still without allocating for the claim
        before = GC.GetAllocatedBytesForCurrentThread();
        var streamed = WavReader.Parse(Riff(Fmt(1, 2, 48000, 16), Chunk("data", new byte[100], size: 0xFFFFFFF0)), "huge.wav");
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 1 << 20, "the reader allocated for a placeholder size");
        Assert.Equal(25L, streamed.FrameCount);
    }

    [Fact]
    public void MissingChunksAndEmptyAudioAreRefused()
    {
        Refused(Riff(Chunk("data", Pcm16(1, 2))), 24, "no 'fmt ' chunk", "chunks found: 'data'");
        Refused(Riff(Fmt(1, 1, 8000, 16), Chunk("LIST", [1, 2, 3, 4])), 48, "no 'data' chunk", "'fmt ', 'LIST'");
        Refused(Riff(), 12, "no 'fmt ' chunk", "chunks found: none");
        Refused(Riff(Fmt(1, 1, 8000, 16), Chunk("data", [])), 40, "data chunk is empty");
        Refused(Riff(Fmt(1, 1, 8000, 16), Chunk("data", [1, 2, 3])), 40, "data chunk has 3 bytes", "block align 2", "partial frame");
    }

    [Fact]
    public void NotWavIsRefused()
    {
        Refused(RiffWith(null, "OggS", "WAVE", Fmt(1, 1, 8000, 8)), 0, "expected 'RIFF', found 'OggS'");
        Refused(RiffWith(null, "RIFX", "WAVE", Fmt(1, 1, 8000, 8)), 0, "RIFX", "big-endian");
        Refused(RiffWith(null, "RF64", "WAVE", Fmt(1, 1, 8000, 8)), 0, "RF64 is not supported");
        Refused(RiffWith(null, "RIFF", "AVI ", Fmt(1, 1, 8000, 8)), 8, "expected 'WAVE', found 'AVI '");
        Refused([0xFF, 0xFB, 0x90, 0x64, 0, 0, 0, 0, 0, 0, 0, 0], 0, "found 0xFFFB9064");
    }

    [Theory]
    [InlineData(0x0007, "mu-law")]
    [InlineData(0x0006, "A-law")]
    [InlineData(0x0002, "Microsoft ADPCM")]
    [InlineData(0x0011, "IMA ADPCM")]
    [InlineData(0x0055, "MPEG Layer 3")]
    [InlineData(0x0031, "GSM 6.10")]
    [InlineData(0x1234, "not a known WAV encoding")]
    public void UnsupportedEncodingsAreNamed(int tag, string name)
    {
        Refused(Riff(Fmt(tag, 1, 8000, 8), Chunk("data", [1, 2])), 20, $"unsupported encoding 0x{tag:X4} ({name})", "expected PCM (0x0001) or IEEE float (0x0003)");
        Refused(Riff(FmtExt(tag, 1, 8000, 8, 8), Chunk("data", [1, 2])), 44, $"0x{tag:X4} ({name})");
    }

    [Fact]
    public void BadFormatFieldsAreRefused()
    {
        Refused(Riff(Fmt(1, 1, 8000, 12, blockAlign: 2), Chunk("data", [1, 2])), 34, "PCM with 12 bits per sample, expected 8, 16, 24 or 32");
        Refused(Riff(Fmt(3, 1, 8000, 16), Chunk("data", [1, 2])), 34, "IEEE float with 16 bits per sample, expected 32 or 64");
        Refused(Riff(Fmt(1, 2, 8000, 16, blockAlign: 2), Chunk("data", [1, 2])), 32, "block align 2, expected 2 channels x 2 bytes = 4");
        Refused(Riff(Fmt(1, 0, 8000, 16, blockAlign: 2), Chunk("data", [1, 2])), 22, "channel count 0");
        Refused(Riff(Fmt(1, 1, 0, 16), Chunk("data", [1, 2])), 24, "sample rate 0");
        Refused(Riff(Chunk("fmt ", new byte[14]), Chunk("data", [1, 2])), 16, "'fmt ' chunk has 14 bytes, expected at least 16");
        Refused(Riff(FmtExt(1, 1, 8000, 16, 16, guidTail: new byte[14]), Chunk("data", [1, 2])), 44, "sub-format GUID 00000001-0000-0000-0000-000000000000");
        Refused(Riff(FmtExt(1, 1, 8000, 16, 24), Chunk("data", [1, 2])), 38, "valid bits per sample 24, expected at most the container's 16");
        var shortExt = Riff(Chunk("fmt ", [.. U16(0xFFFE), .. U16(1), .. U32(8000), .. U32(16000), .. U16(2), .. U16(16), .. U16(0)]), Chunk("data", [1, 2]));
        Refused(shortExt, 20, "WAVE_FORMAT_EXTENSIBLE 'fmt ' chunk has 18 bytes, expected 40");
        Refused(Riff(Fmt(3, 1, 8000, 32), Chunk("data", F32(0.5f, float.NaN))), 48, "frame 1, channel 0 is NaN, expected a finite value");
    }

    // ---- files written by sox ------------------------------------------------------------------------

    [SoxFact]
    public void ReadsFilesWrittenBySox()
    {
        string dir = Path.Combine(Path.GetTempPath(), $"serengine_sox_{Environment.ProcessId}");
        Directory.CreateDirectory(dir);
        try
        {
            (string Args, WavSampleEncoding Enc)[] encodings =
            [
                ("-e unsigned-integer -b 8", WavSampleEncoding.PcmUnsigned8),
                ("-e signed-integer -b 16", WavSampleEncoding.PcmSigned16),
                ("-e signed-integer -b 24", WavSampleEncoding.PcmSigned24),
                ("-e signed-integer -b 32", WavSampleEncoding.PcmSigned32),
                ("-e floating-point -b 32", WavSampleEncoding.Float32),
                ("-e floating-point -b 64", WavSampleEncoding.Float64),
            ];
            int[] rates = [8000, 11025, 16000, 22050, 32000, 44100, 48000];
            int i = 0;
            foreach (var (args, enc) in encodings)
            {
                foreach (int rate in rates)
                {
                    int channels = 1 + i++ % 3; // 1, 2 and 3 channels (3 makes sox write WAVE_FORMAT_EXTENSIBLE)
                    string path = Path.Combine(dir, $"s_{rate}_{enc}_{channels}.wav");
                    Sox($"-n -r {rate} -c {channels} {args} {path} synth 0.5 sine 440 vol 0.5");
                    var w = WavReader.Read(path);
                    string what = $"{Path.GetFileName(path)} ({w.EncodingDescription})";
                    Assert.True(w.SampleRate == rate, $"{what}: rate {w.SampleRate}");
                    Assert.True(w.Channels == channels, $"{what}: channels {w.Channels}");
                    Assert.True(w.Info.Encoding == enc, $"{what}: encoding {w.Info.Encoding}");
                    Assert.True(Math.Abs(w.DurationSeconds - 0.5) <= 1.0 / rate, $"{what}: duration {w.DurationSeconds}");
                    double peak = w.Samples.Max(Math.Abs);
                    Assert.True(Math.Abs(peak - 0.5) < 0.02, $"{what}: peak {peak}, expected 0.5");
                }
            }
            string ulaw = Path.Combine(dir, "ulaw.wav");
            Sox($"-n -r 8000 -e u-law {ulaw} synth 0.1 sine 440");
            var ex = Assert.Throws<AudioFormatException>(() => WavReader.Read(ulaw));
            Assert.Contains("0x0007 (mu-law)", ex.Message);
            Assert.Contains(ulaw, ex.Message);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static void Sox(string args)
    {
        using var p = Process.Start(new ProcessStartInfo("sox", args) { RedirectStandardError = true, UseShellExecute = false })!;
        string err = p.StandardError.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, $"sox {args} failed: {err}");
    }
}

/// <summary>A fact that is skipped, with the reason, when <c>sox</c> is not on PATH.</summary>
public sealed class SoxFactAttribute : FactAttribute
{
    /// <summary>Sets <see cref="FactAttribute.Skip"/> when sox is absent.</summary>
    public SoxFactAttribute(
        [System.Runtime.CompilerServices.CallerFilePath] string? sourceFilePath = null,
        [System.Runtime.CompilerServices.CallerLineNumber] int sourceLineNumber = -1)
        : base(sourceFilePath, sourceLineNumber)
    {
        bool found = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator)
            .Any(d => d.Length > 0 && File.Exists(Path.Combine(d, "sox")));
        if (!found) Skip = "sox not found on PATH: install it (apt-get install -y sox) to check WAV files written by sox";
    }
}
