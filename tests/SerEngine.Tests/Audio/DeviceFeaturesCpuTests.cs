using SerEngine.Audio;
using SerEngine.Backends;

namespace SerEngine.Tests.Audio;

/// <summary>
/// <see cref="DeviceFeatures"/> on the fast cpu backend runs the host front end into the backend's
/// pooled tensors: the spectrogram equals <see cref="Stft.ComputeSingle"/> bit for bit, the mel
/// spectrogram and MFCC equal the double-precision <see cref="Cepstrum"/> results rounded once.
/// </summary>
public class DeviceFeaturesCpuTests
{
    [Fact]
    public void TheCpuBackendGivesTheHostFrontEndsValues()
    {
        var be = BackendRegistry.Get("cpu");
        var rng = new Generator(17);
        var wave = new float[2 * 16000 + 55];
        for (int i = 0; i < wave.Length; i++) wave[i] = 0.1f * rng.NextNormal();
        var spec = new StftSettings { NFft = 800, WinLength = 640, HopLength = 160, Window = WindowKind.Hamming, Center = false, Power = 1.0 };
        var htk = new StftSettings { NFft = 400, HopLength = 160 };
        var htkMel = new MelSettings { NMels = 40 };
        var b = FeatureSettings.PaperB;
        var mel = b.Mel with { SampleRate = b.SampleRate };
        for (int call = 0; call < 2; call++) // the second call reuses pooled buffers
        {
            var want = Stft.ComputeSingle(wave, spec);
            using (var t = DeviceFeatures.Spectrogram(be, wave, spec))
            {
                Assert.Equal(new Shape(want.Bins, want.Frames), t.Shape);
                Assert.Equal(want.Values, t.ToArray());
            }
            var wantMel = Cepstrum.MelSpectrogram(wave, htk, htkMel);
            using (var t = DeviceFeatures.MelSpectrogram(be, wave, htk, htkMel))
            {
                Assert.Equal(new Shape(wantMel.Rows, wantMel.Columns), t.Shape);
                Assert.Equal(Array.ConvertAll(wantMel.Values, v => (float)v), t.ToArray());
            }
            var wantMfcc = Cepstrum.Mfcc(wave, b.Stft, mel, b.NMfcc, b.TopDb);
            using (var t = DeviceFeatures.Mfcc(be, wave, b.Stft, mel, b.NMfcc, b.TopDb))
            {
                Assert.Equal(new Shape(wantMfcc.Rows, wantMfcc.Columns), t.Shape);
                Assert.Equal(Array.ConvertAll(wantMfcc.Values, v => (float)v), t.ToArray());
                Assert.Equal(AudioFeatures.Mfcc(wave).Values, t.ToArray());
            }
        }
    }
}
