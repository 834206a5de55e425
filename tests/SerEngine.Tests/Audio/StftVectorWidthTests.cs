using SerEngine.Audio;

namespace SerEngine.Tests.Audio;

/// <summary>
/// The batched STFT and the MFCC's DCT give the same bits with 512-bit vectors (16 float or 8 double
/// frames per group) as with 256-bit ones (8 or 4): every lane runs the same operations, and the
/// groups' edges (frames past the last full group, n_fft not a multiple of 8) take the same values.
/// On a machine without AVX-512 both runs use 256-bit vectors.
/// </summary>
public class StftVectorWidthTests
{
    private static float[] Wave(int n, ulong seed)
    {
        var rng = new Generator(seed);
        var w = new float[n];
        for (int i = 0; i < n; i++) w[i] = 0.1f * rng.NextNormal() + 0.3f * MathF.Sin(2 * MathF.PI * 440 * i / 16000f);
        return w;
    }

    private static T Narrow<T>(Func<T> f)
    {
        StftBatch.NarrowVectors = true;
        try
        {
            return f();
        }
        finally
        {
            StftBatch.NarrowVectors = false;
        }
    }

    public static TheoryData<int, int, int, bool, double> Settings => new()
    {
        { 800, 640, 160, false, 1.0 }, // the spectrogram bench case (radix 5 stages)
        { 400, 400, 160, true, 2.0 },  // the melspec bench case
        { 90, 90, 30, true, 1.5 },     // radix 3 and 5, n_fft not a multiple of 8, a general power
        { 2048, 2048, 512, true, 2.0 }, // Paper B
    };

    [Theory]
    [MemberData(nameof(Settings))]
    public void SpectrogramsAreBitIdenticalWith256And512BitVectors(int nFft, int win, int hop, bool center, double power)
    {
        var s = new StftSettings { NFft = nFft, WinLength = win, HopLength = hop, Center = center, Window = WindowKind.Hamming, Power = power };
        var wave = Wave(16000 + 37, (ulong)nFft); // frame counts that leave a partial last group
        var wide = Stft.ComputeSingle(wave, s);
        var narrow = Narrow(() => Stft.ComputeSingle(wave, s));
        Assert.Equal(narrow.Values.Select(BitConverter.SingleToInt32Bits), wide.Values.Select(BitConverter.SingleToInt32Bits));
        var wideD = Stft.Compute(wave, s);
        var narrowD = Narrow(() => Stft.Compute(wave, s));
        Assert.Equal(narrowD.Values.Select(BitConverter.DoubleToInt64Bits), wideD.Values.Select(BitConverter.DoubleToInt64Bits));
    }

    [Fact]
    public void MelSpectrogramAndMfccAreBitIdenticalWith256And512BitVectors()
    {
        var wave = Wave(3 * 16000 + 101, 5);
        var b = FeatureSettings.PaperB;
        var mel = b.Mel with { SampleRate = b.SampleRate };
        var htk = new StftSettings { NFft = 400, HopLength = 160 };
        var htkMel = new MelSettings { NMels = 40 };
        Assert.Equal(Narrow(() => Cepstrum.MelSpectrogram(wave, htk, htkMel)).Values.Select(BitConverter.DoubleToInt64Bits),
            Cepstrum.MelSpectrogram(wave, htk, htkMel).Values.Select(BitConverter.DoubleToInt64Bits));
        Assert.Equal(Narrow(() => Cepstrum.Mfcc(wave, b.Stft, mel, b.NMfcc, b.TopDb)).Values.Select(BitConverter.DoubleToInt64Bits),
            Cepstrum.Mfcc(wave, b.Stft, mel, b.NMfcc, b.TopDb).Values.Select(BitConverter.DoubleToInt64Bits));
        Assert.Equal(Narrow(() => AudioFeatures.Mfcc(wave)).Values.Select(BitConverter.SingleToInt32Bits),
            AudioFeatures.Mfcc(wave).Values.Select(BitConverter.SingleToInt32Bits));
    }
}
