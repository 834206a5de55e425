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
