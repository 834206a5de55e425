using System.Buffers.Binary;
using SerEngine.Audio;

namespace SerEngine.Tests.Audio;

/// <summary>Issue 15: sample-rate range, bounded derived lengths, streamed WAVs, and a sweep of broken headers.</summary>
public partial class WavTests
{
    // ---- sample rate range ---------------------------------------------------------------------

    [Theory]
    [InlineData(1u)]
    [InlineData(999u)]
    [InlineData(768_001u)]
    [InlineData(0xFFFFFFFFu)]
    public void SampleRatesOutsideTheRangeAreRefusedAtTheFmtField(uint rate)
    {
        // the rate field is at byte 24 (fmt body at 20, rate 4 bytes in)
        var bytes = Riff(Fmt(1, 1, 16000, 16), Chunk("data", Pcm16(1, 2, 3, 4)));
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(24), rate);
        Refused(bytes, 24, $"fmt sample rate {rate} Hz, expected 1000..768000 Hz");
    }

    [Fact]
    public void TheRangeEndsAreAccepted()
    {
        Assert.Equal(SampleRates.Min, Parse(Riff(Fmt(1, 1, SampleRates.Min, 16), Chunk("data", Pcm16(1, 2)))).SampleRate);
        Assert.Equal(SampleRates.Max, Parse(Riff(Fmt(1, 1, SampleRates.Max, 16), Chunk("data", Pcm16(1, 2)))).SampleRate);
    }

    [Fact]
    public void ResamplerRefusesRatesOutsideTheRangeAndBoundsItsFilter()
    {
        Assert.Equal("fromRate", Assert.Throws<ArgumentOutOfRangeException>(() => new Resampler(1, 16000)).ParamName);
        Assert.Equal("toRate", Assert.Throws<ArgumentOutOfRangeException>(() => new Resampler(16000, 768_001)).ParamName);
        Assert.Equal("rateFrom", Assert.Throws<ArgumentOutOfRangeException>(() => Resampler.Resample(new float[4], 1, 1)).ParamName);
        // the extreme ratios of the range build small filters
        var down = new Resampler(SampleRates.Max, SampleRates.Min);
        var up = new Resampler(SampleRates.Min, SampleRates.Max);
        Assert.True(down.TapsPerOutput <= 60_000, $"{down.TapsPerOutput} taps");
        Assert.True(up.TapsPerOutput <= 100, $"{up.TapsPerOutput} taps");
        Assert.Equal(768L * 2000, up.OutputLength(2000));
        // a filter size that would wrap an int is refused, not allocated
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => new Resampler(SampleRates.Max, SampleRates.Min, zeroCrossings: int.MaxValue));
        Assert.Equal("zeroCrossings", ex.ParamName);
        Assert.Contains("filter taps per output sample", ex.Message, StringComparison.Ordinal);
        // the output length never overflows
        Assert.Equal(long.MaxValue, new Resampler(16000, 44100).OutputLength(long.MaxValue));
    }

    [Fact]
    public void StftFrameCountsAreBoundedBeforeAllocating()
    {
        var s = new StftSettings { NFft = 400, HopLength = 1 };
        long before = GC.GetAllocatedBytesForCurrentThread();
        var ex = Assert.Throws<ArgumentException>(() => s.FrameCount(int.MaxValue / 2));
        Assert.Contains("201 bins x", ex.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => (s with { Pad = int.MaxValue / 2 }).FrameCount(16000));
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 1 << 20, "frame counts allocated");
        Assert.Equal(1 + 16000 / 160, new StftSettings { NFft = 400, HopLength = 160 }.FrameCount(16000));
    }

    // ---- streamed WAVs (written to a pipe: the sizes are placeholders) ---------------------------

    private static readonly short[] StreamSamples = [100, -200, 300, -400, 500, -600, 700];

    /// <summary>A 16-bit mono file with the given RIFF and data size fields (null: the real size) and extra bytes after the samples.</summary>
    private static byte[] Streamed(uint? riffSize, uint? dataSize, byte[]? tail = null) =>
        RiffWith(riffSize, "RIFF", "WAVE", Fmt(1, 1, 22050, 16), Chunk("data", [.. Pcm16(StreamSamples), .. tail ?? []], padByte: false, size: dataSize));

    public static TheoryData<uint?, uint?, string> StreamedHeaders => new()
    {
        { 0x7FFFF024u, 0x7FFFF000u, "RIFF size 0x7FFFF024, data size 0x7FFFF000" }, // espeak-ng --stdout, sox to a pipe
        { 0xFFFFFFFFu, 0xFFFFFFFFu, "RIFF size 0xFFFFFFFF, data size 0xFFFFFFFF" }, // ffmpeg to a pipe
        { 0u, 0u, "RIFF size 0x00000000, data size 0x00000000" },
        { 36u, 0u, "data size 0x00000000" }, // the header written before any sample, never updated
        { null, 0xFFFFFFFFu, "data size 0xFFFFFFFF" },
        { 0x7FFFFFFFu, null, "RIFF size 0x7FFFFFFF" }, // only the RIFF size left open
    };

    [Theory]
    [MemberData(nameof(StreamedHeaders))]
    public void StreamedWavsAreReadToTheEndOfTheFile(uint? riffSize, uint? dataSize, string which)
    {
        var proper = Parse(Streamed(null, null));
        Assert.Null(proper.Info.Streamed);
        var w = Parse(Streamed(riffSize, dataSize));
        Assert.Equal(proper.Samples, w.Samples);
        Assert.Equal((22050, 7L), (w.SampleRate, w.FrameCount));
        Assert.Equal($"streamed WAV ({which} in the header): read to end of file, 7 frames", w.Info.Streamed);
    }

    [Fact]
    public void AStreamedFileCutMidFrameKeepsItsWholeFrames()
    {
        var w = Parse(Streamed(0x7FFFF024, 0x7FFFF000, tail: [0x12]));
        Assert.Equal(Parse(Streamed(null, null)).Samples, w.Samples);
        Assert.EndsWith("7 frames, 1 trailing bytes of a partial frame dropped", w.Info.Streamed);
        // a placeholder with no whole frame after it is still empty audio
        Refused(RiffWith(0xFFFFFFFF, "RIFF", "WAVE", Fmt(1, 2, 8000, 16), Chunk("data", [1, 2, 3], padByte: false, size: 0xFFFFFFFF)), 40,
            "streamed WAV (data size 0xFFFFFFFF)", "holds 3 bytes to the end of the file, expected at least one 4-byte sample frame");
    }

    [Fact]
    public void TruncatedFilesWithPlausibleSizesAreStillRefused()
    {
        // real sizes larger than the file (below 0x7FFF0000) are a cut file, not a stream
        Refused(Streamed(null, 1000), 40, "chunk 'data' claims 1000 bytes, only 14 remain (truncated file; a streamed WAV's placeholder would be 0 or >= 0x7FFF0000)");
        Refused(Streamed(1000, null), 4, "RIFF size says the file has 1008 bytes, found 58 (truncated file");
        Refused(Streamed(0x7FFFF024, 0x7FFEFFFF), 40, "chunk 'data' claims 2147418111 bytes");
        // a zero-sized data chunk that the RIFF size closes, followed by other chunks, is empty audio, not a stream
        Refused(Riff(Fmt(1, 1, 8000, 16), Chunk("data", []), Chunk("LIST", [1, 2, 3, 4])), 40, "data chunk is empty");
    }

    [Fact]
    public void ReadInfoOnAStreamedFileCountsTheFramesThatAreThere()
    {
        string path = Path.Combine(Path.GetTempPath(), $"serengine_streamed_{Environment.ProcessId}.wav");
        try
        {
            File.WriteAllBytes(path, Streamed(0x7FFFF024, 0x7FFFF000));
            var info = WavReader.ReadInfo(path);
            Assert.Equal(7L, info.FrameCount);
            Assert.StartsWith("streamed WAV (RIFF size 0x7FFFF024, data size 0x7FFFF000 in the header)", info.Streamed);
        }
        finally
        {
            File.Delete(path);
        }
    }

    // ---- missing files and a sweep of broken headers ---------------------------------------------

    [Fact]
    public void MissingFilesAndFoldersAreOneLineNamingThePath()
    {
        string missing = Path.Combine(Path.GetTempPath(), $"serengine_missing_{Environment.ProcessId}.wav");
        Assert.Equal($"{missing} does not exist", Assert.Throws<FileNotFoundException>(() => WavReader.ReadInfo(missing)).Message);
        Assert.Equal($"{missing} does not exist", Assert.Throws<FileNotFoundException>(() => WavReader.Read(missing)).Message);
        string folder = Path.GetTempPath().TrimEnd('/');
        Assert.Equal($"{folder} is a folder, expected a WAV file", Assert.Throws<IOException>(() => WavReader.ReadInfo(folder)).Message);
    }

    public static TheoryData<byte[], long, string> BrokenHeaders => new()
    {
        { Riff(Chunk("fmt ", new byte[15]), Chunk("data", [1, 2])), 16, "'fmt ' chunk has 15 bytes, expected at least 16" },
        { Riff(Chunk("fmt ", []), Chunk("data", [1, 2])), 16, "'fmt ' chunk has 0 bytes" },
        { Riff(Fmt(1, 0, 8000, 8, blockAlign: 0), Chunk("data", [1, 2])), 22, "channel count 0, expected at least 1" },
        { Riff(Fmt(1, 1, 8000, 0, blockAlign: 0), Chunk("data", [1, 2])), 34, "PCM with 0 bits per sample, expected 8, 16, 24 or 32" },
        { Riff(Fmt(1, 1, 8000, 7, blockAlign: 1), Chunk("data", [1, 2])), 34, "PCM with 7 bits per sample" },
        { Riff(Fmt(1, 1, 8000, 12, blockAlign: 2), Chunk("data", [1, 2])), 34, "PCM with 12 bits per sample" },
        { Riff(Fmt(1, 1, 8000, 64), Chunk("data", new byte[8])), 34, "PCM with 64 bits per sample" },
        { Riff(Fmt(3, 1, 8000, 8), Chunk("data", [1, 2])), 34, "IEEE float with 8 bits per sample, expected 32 or 64" },
        { Riff(Fmt(1, 1, 8000, 16, blockAlign: 4), Chunk("data", [1, 2, 3, 4])), 32, "block align 4, expected 1 channels x 2 bytes = 2" },
        { Riff(Fmt(1, 65535, 8000, 32, blockAlign: 65535), Chunk("data", [1, 2])), 32, "block align 65535, expected 65535 channels x 4 bytes = 262140" },
        { Riff(Fmt(1, 65535, 8000, 8, blockAlign: 65535), Chunk("data", new byte[6])), 40, "data chunk has 6 bytes, expected a multiple of the block align 65535" },
        { Riff(Fmt(1, 1, 8000, 16), Chunk("data", [1, 2, 3])), 40, "partial frame" },
        { Riff(Fmt(1, 1, 8000, 16), Chunk("data", Pcm16(1)), [0x4C]), 46, "expected an 8-byte chunk header, found 1 bytes" },
        { Riff(Fmt(1, 1, 8000, 16), Chunk("LIST", [1, 2], size: 0x10000)), 40, "chunk 'LIST' claims 65536 bytes, only 2 remain (truncated file)" },
        { Riff(Chunk("fmt ", new byte[16], size: 0x7FFFF000)), 16, "chunk 'fmt ' claims 2147479552 bytes" },
        { RiffWith(4, "RIFF", "WAVE"), 12, "no 'fmt ' chunk" },
        { RiffWith(0xFFFFFFFF, "RIFF", "WAVE"), 12, "no 'fmt ' chunk, expected one (chunks found: none)" },
        { RiffWith(0xFFFFFFFF, "RIFF", "WAVE", Fmt(1, 1, 8000, 16)), 36, "no 'data' chunk" },
        { Riff(Fmt(0xFFFE, 1, 8000, 16), Chunk("data", [1, 2])), 20, "WAVE_FORMAT_EXTENSIBLE 'fmt ' chunk has 16 bytes, expected 40" },
        { Riff(FmtExt(3, 1, 8000, 16, 16), Chunk("data", new byte[4])), 34, "IEEE float with 16 bits per sample" },
        { Riff(FmtExt(1, 1, 8000, 16, 16), Chunk("data", [])), 64, "data chunk is empty" },
        { Riff(Fmt(1, 2, 100, 16), Chunk("data", new byte[4])), 24, "fmt sample rate 100 Hz" },
    };

    [Theory]
    [MemberData(nameof(BrokenHeaders))]
    public void BrokenHeadersAreOneLineWithTheOffset(byte[] bytes, long offset, string problem) => Refused(bytes, offset, problem);

    [Fact]
    public void MutatedHeadersLoadOrGiveTheFormatExceptionNothingElse()
    {
        var good = Riff(Fmt(1, 2, 16000, 16), Chunk("LIST", [1, 2, 3]), Chunk("data", Pcm16(1, 2, 3, 4, 5, 6, 7, 8)));
        var rng = new Random(15);
        int refused = 0;
        for (int iter = 0; iter < 3000; iter++)
        {
            var b = (byte[])good.Clone();
            for (int k = 1 + rng.Next(3); k > 0; k--)
            {
                int at = rng.Next(b.Length);
                b[at] = rng.Next(3) switch { 0 => (byte)(b[at] ^ (1 << rng.Next(8))), 1 => 0xFF, _ => 0 };
            }
            if (iter % 7 == 0) b = b[..rng.Next(b.Length)];
            try
            {
                var w = WavReader.Parse(b, "fuzz.wav");
                Assert.True(w.Samples.Length <= b.Length, "more samples than bytes");
            }
            catch (AudioFormatException ex)
            {
                Assert.StartsWith("fuzz.wav: at byte ", ex.Message);
                Assert.DoesNotContain('\n', ex.Message);
                refused++;
            }
        }
        Assert.True(refused > 500, $"only {refused} of 3000 mutations were refused");
    }

    [Fact]
    public void AnEndlessPipeIsRefusedAtTheByteLimit()
    {
        var ex = Assert.Throws<AudioFormatException>(() => WavReader.Read(new EndlessPipe("RIFF\0\0\0\0WAVE"u8.ToArray()), "stdin", maxUnseekableBytes: 1 << 20));
        Assert.Equal("stdin: at byte 1048576: a WAV read from a pipe may hold at most 1048576 bytes, this one has more; save it to a file", ex.Message);
        // what is not a WAV is refused after its first bytes, not after the limit
        ex = Assert.Throws<AudioFormatException>(() => WavReader.Read(new EndlessPipe("y\ny\ny\ny\ny\ny\n"u8.ToArray()), "stdin"));
        Assert.StartsWith("stdin: at byte 0: expected 'RIFF'", ex.Message);
    }

    /// <summary>A stream that cannot seek and never ends: <paramref name="head"/>, then zeros (a pipe from a live source).</summary>
    private sealed class EndlessPipe(byte[] head) : Stream
    {
        private long _position;

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override int Read(byte[] buffer, int offset, int count)
        {
            for (int i = 0; i < count; i++, _position++) buffer[offset + i] = _position < head.Length ? head[_position] : (byte)0;
            return count;
        }
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
