using SerEngine.Audio;

namespace SerEngine.Tests.Audio;

public class ResamplerTests
{
    private static float[] Sine(double freq, int rate, int n, double amp = 0.5) =>
        Enumerable.Range(0, n).Select(i => (float)(amp * Math.Sin(2 * Math.PI * freq * i / rate))).ToArray();

    /// <summary>Signal-to-error ratio in dB against the ideal sine, away from the edges.</summary>
    private static double SignalToErrorDb(float[] y, double freq, int rate, int margin, double amp = 0.5)
    {
        double sig = 0, err = 0;
        for (int n = margin; n < y.Length - margin; n++)
        {
            double e = amp * Math.Sin(2 * Math.PI * freq * n / rate);
            sig += e * e;
            err += (y[n] - e) * (y[n] - e);
        }
        return 10 * Math.Log10(sig / err);
    }

    [Theory]
    [InlineData(44100, 16000)]
    [InlineData(48000, 16000)]
    [InlineData(22050, 16000)]
    [InlineData(8000, 16000)]
    [InlineData(16000, 44100)]
    [InlineData(11025, 16000)]
    public void SineKeepsSixtyDbSignalToError(int from, int to)
    {
        var x = Sine(1000, from, from / 2);
        var r = new Resampler(from, to);
        var y = r.Process(x);
        Assert.Equal((long)Math.Ceiling(x.Length * (double)to / from), y.Length);
        double snr = SignalToErrorDb(y, 1000, to, margin: to / 20);
        Console.WriteLine($"resample {from} -> {to}: {snr:F1} dB");
        Assert.True(snr >= 60, $"{from} -> {to}: signal-to-error {snr:F1} dB, expected >= 60 (L={r.Up}, M={r.Down}, taps={r.TapsPerOutput})");
    }

    [Fact]
    public void Downsampling441To16KeepsSixtyDbAtSeveralFrequencies()
    {
        foreach (double f in new[] { 100.0, 1000.0, 3000.0, 6000.0 })
        {
            var y = new Resampler(44100, 16000).Process(Sine(f, 44100, 22050));
            double snr = SignalToErrorDb(y, f, 16000, margin: 800);
            Assert.True(snr >= 60, $"{f} Hz: {snr:F1} dB");
        }
    }

    [Fact]
    public void AliasesAreRemoved()
    {
        // 12 kHz at 44.1 kHz would fold to 4 kHz at 16 kHz; it must be attenuated by >= 60 dB
        var y = new Resampler(44100, 16000).Process(Sine(12000, 44100, 22050));
        double rms = Math.Sqrt(y.Skip(800).Take(y.Length - 1600).Average(v => (double)v * v));
        double db = 20 * Math.Log10(rms / (0.5 / Math.Sqrt(2)));
        Assert.True(db < -60, $"alias level {db:F1} dB");
    }

    [Fact]
    public void UntabulatedPhasesAgreeWithTable()
    {
        // 96000 -> 16001: L = 16001 phases x 408 taps exceeds the table limit, so taps are computed per sample
        var x = Sine(1000, 96000, 4800);
        var r = new Resampler(96000, 16001);
        Assert.False(r.IsTabulated);
        Assert.True(new Resampler(44100, 16000).IsTabulated);
        var y = r.Process(x);
        double snr = SignalToErrorDb(y, 1000, 16001, margin: 200);
        Assert.True(snr >= 60, $"{snr:F1} dB");
    }

    [Fact]
    public void SameRateIsACopyAndRatiosReduce()
    {
        var x = Sine(440, 16000, 100);
        Assert.Equal(x, Resampler.Resample(x, 16000, 16000));
        var r = new Resampler(44100, 16000);
        Assert.Equal((160, 441), (r.Up, r.Down));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Resampler(0, 16000));
    }

    [Fact]
    public void BesselI0MatchesKnownValues()
    {
        Assert.Equal(1.0, Resampler.BesselI0(0), 15);
        Assert.Equal(1.2660658777520082, Resampler.BesselI0(1), 14);
        Assert.Equal(1.0, Resampler.BesselI0(10) / 2815.716628466254, 12);
    }
}
