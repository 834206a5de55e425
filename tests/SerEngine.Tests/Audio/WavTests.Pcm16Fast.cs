using SerEngine.Audio;

namespace SerEngine.Tests.Audio;

public partial class WavTests
{
    // 16-bit mono/stereo take a direct path (no per-sample switch): it must give the general loop's floats,
    // (float)(Σ_c s_c / 32768.0 · (1 / channels)), over every 16-bit value and across read chunks (64 KiB)
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void Pcm16DirectPathEqualsTheGeneralFormula(int channels)
    {
        int frames = 70000; // more than one 64 KiB read chunk
        var rng = new Random(22);
        var raw = new short[frames * channels];
        for (int i = 0; i < raw.Length; i++) raw[i] = (short)rng.Next(short.MinValue, short.MaxValue + 1);
        for (int i = 0; i < 8 * channels; i++) raw[i] = (i & 1) == 0 ? short.MinValue : short.MaxValue; // the extremes, in both channels
        var w = Parse(Riff(Fmt(1, channels, 16000, 16), Chunk("data", Pcm16(raw))));
        Assert.Equal(frames, w.Samples.Length);
        for (int f = 0; f < frames; f++)
        {
            double sum = 0;
            for (int c = 0; c < channels; c++) sum += raw[f * channels + c] / 32768.0;
            float expected = (float)(sum * (1.0 / channels));
            Assert.Equal(BitConverter.SingleToInt32Bits(expected), BitConverter.SingleToInt32Bits(w.Samples[f]));
        }
        Assert.Equal(0L, w.ClippedSamples);
    }
}

public partial class WavTests
{
    // the vector form of one-channel 16-bit conversion equals the scalar one bit for bit, at every length around its 16-wide steps
    [Fact]
    public void Pcm16MonoVectorEqualsScalar()
    {
        var rng = new Random(7);
        foreach (int n in Enumerable.Range(0, 50).Append(4097))
        {
            var s = new short[n];
            for (int i = 0; i < n; i++) s[i] = (short)rng.Next(short.MinValue, short.MaxValue + 1);
            if (n > 1) (s[0], s[n - 1]) = (short.MinValue, short.MaxValue);
            var fast = new float[n];
            var reference = new float[n];
            WavReader.Pcm16MonoToFloat(s, fast);
            WavReader.Pcm16MonoToFloatReference(s, reference);
            Assert.Equal(reference.Select(BitConverter.SingleToInt32Bits), fast.Select(BitConverter.SingleToInt32Bits));
        }
    }

    // a file is read whole into a pooled buffer and decoded where it lies; a memory stream whose buffer is visible is
    // decoded in place (from any start position); both must give what the chunked stream path gives
    [Theory]
    [InlineData(1, 16)]
    [InlineData(2, 16)]
    [InlineData(1, 24)]
    [InlineData(3, 32)]
    public void WholeFileAndInPlaceReadsEqualTheStreamedRead(int channels, int bits)
    {
        var rng = new Random(channels * 100 + bits);
        int frames = 40001; // more than one 64 KiB chunk, odd
        var data = new byte[frames * channels * bits / 8];
        rng.NextBytes(data);
        byte[] file = Riff(Chunk("LIST", [1, 2, 3]), Fmt(1, channels, 16000, bits), Chunk("data", data), Chunk("junk", [9, 9, 9, 9, 9]));
        var streamed = WavReader.Read(new NonMemoryStream(file), "x.wav");
        string path = Path.Combine(Path.GetTempPath(), $"wav-whole-{Guid.NewGuid():N}.wav");
        try
        {
            File.WriteAllBytes(path, file);
            Assert.Equal(streamed.Samples, WavReader.Read(path).Samples);
        }
        finally
        {
            File.Delete(path);
        }
        byte[] shifted = [.. new byte[7], .. file];
        using var ms = new MemoryStream(shifted, 0, shifted.Length, writable: false, publiclyVisible: true) { Position = 7 };
        Assert.Equal(streamed.Samples, WavReader.Read(ms, "x.wav").Samples);
    }

    /// <summary>A seekable stream that is not a MemoryStream (the chunked decode path).</summary>
    private sealed class NonMemoryStream(byte[] bytes) : Stream
    {
        private readonly MemoryStream _inner = new(bytes, writable: false);
        public override bool CanRead => true;
        public override bool CanSeek => true;
        public override bool CanWrite => false;
        public override long Length => _inner.Length;
        public override long Position { get => _inner.Position; set => _inner.Position = value; }
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count) => _inner.Read(buffer, offset, count);
        public override long Seek(long offset, SeekOrigin origin) => _inner.Seek(offset, origin);
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
