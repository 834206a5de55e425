using SerEngine.Audio;
using SerEngine.Audio.Conformance;
using SerEngine.Backends;
using SerEngine.Backends.Cuda;
using SerEngine.Backends.Gpu;
using SerEngine.Conformance;

namespace SerEngine.Tests.Gpu;

/// <summary>
/// kernels/spectrogram.cl on the GPU backends against the CPU reference: every spectrogram variant
/// at powers-of-two and other DFT sizes, one frame, odd frame counts, several work-groups per
/// dimension, powers 1, 2 and ½, fewer bins than n_fft/2 + 1; amplitude to dB with and without
/// top_db, aliased, over several work-groups; the fft variant at its mixed-radix and Bluestein sizes
/// and past its local-memory limit; and the device feature path (DeviceFeatures) against
/// the double-precision DSP for Paper A's spectrogram and Paper B's mel spectrogram and MFCC, and
/// the audio fixtures through the conformance runner on the device.
/// </summary>
[Collection(ProcessWideCollection.Name)] // switches the shared backend's kernel variants
public class AudioKernelTests(ITestOutputHelper output)
{
    // (nFft, window length inside it, hop, frames, nFreq, power): one frame; odd sizes; one bin past a
    // 32-bin tile and frames past 64-frame tiles (33 × 150: three groups); several groups per dimension
    // (257 bins × 70 frames, 401 × 45); Paper A's 200 of 401 bins; a long DFT with few frames; a power
    // that is neither 1 nor 2
    private static readonly (int NFft, int Win, int Hop, int Frames, int NFreq, float Power)[] SpectrogramCases =
    [
        (64, 64, 16, 1, 33, 2f), (100, 81, 37, 7, 51, 1f), (64, 48, 10, 150, 33, 0.5f), (400, 400, 160, 41, 201, 2f),
        (512, 512, 128, 70, 257, 1f), (800, 640, 160, 45, 401, 1f), (800, 640, 160, 9, 200, 2f), (2048, 2048, 512, 3, 1025, 2f),
        (1024, 1024, 256, 5, 513, 1f), (418, 400, 100, 11, 210, 2f), (77, 77, 20, 4, 39, 1f),
    ];

    // spectrogram_fft's paths: (nFft, hop, frames, nFreq): mixed radix 8·5·5 (400), 2^8 (512), 2^4·5^2
    // (800), 2^9 (1024), 2^10 (2048), 2^11 (4096: the largest local FFT), odd smooth 225 = 3²·5² (no
    // real-input trick), Bluestein for 418 = 2·11·19 (M 512), odd 77 = 7·11 (M 256) and 2046 = 2·3·11·31
    // (M 2048); one frame, odd frame counts, all bins and fewer; 4098 (M 4096) falls back to tiled
    private static readonly (int NFft, int Hop, int Frames, int NFreq)[] FftCases =
    [
        (400, 160, 1, 201), (400, 160, 37, 120), (512, 128, 9, 257), (800, 160, 13, 401), (800, 160, 3, 64),
        (1024, 256, 7, 513), (2048, 512, 3, 1025), (2048, 512, 1, 700), (4096, 1024, 3, 2049), (225, 50, 5, 113),
        (418, 100, 11, 210), (418, 100, 1, 77), (77, 20, 4, 39), (2046, 512, 3, 1024), (4098, 1000, 2, 2050),
    ];

    [Theory]
    [InlineData("opencl")]
    [InlineData("cuda")]
    public void SpectrogramVariantsMatchReference(string device)
    {
        if (KernelPair.Device(device, output) is not { } be) return;
        var cpu = KernelTwin.Reference;
        string saved = be.SpectrogramVariant;
        try
        {
            foreach (var variant in GpuBackend.SpectrogramVariants)
            {
                be.SpectrogramVariant = variant;
                foreach (var (nFft, win, hop, frames, nFreq, power) in SpectrogramCases)
                {
                    string what = $"{variant} nFft {nFft} win {win} hop {hop} frames {frames} nFreq {nFreq} power {power}";
                    int samples = (frames - 1) * hop + nFft + 5; // a few samples past the last frame, never read
                    var window = new float[nFft]; // [nFft]: a Hann window of win samples centred in nFft
                    var hann = Windows.Hann(win);
                    for (int i = 0; i < win; i++) window[(nFft - win) / 2 + i] = (float)hann[i];
                    using var signal = KernelTwin.Of(be, KernelTwin.Normal(samples, nFft + frames, scale: 0.3f));
                    using var w = KernelTwin.Of(be, window);
                    using var y = KernelTwin.Output(be, nFreq * frames);
                    be.SpectrogramForward(signal.Gpu, w.Gpu, y.Gpu, nFft, hop, frames, nFreq, power);
                    cpu.SpectrogramForward(signal.Cpu, w.Cpu, y.Cpu, nFft, hop, frames, nFreq, power);
                    int size = nFreq * frames;
                    var want = y.CpuFloats()[..size];
                    var got = y.GpuFloats();
                    Assert.All(got[size..], v => Assert.Equal(777.25f, v)); // nothing written past y
                    got = got[..size];
                    // Float accumulation over nFft products: the error of |X| scales with the frame, not
                    // the bin, so compare magnitudes |X| = y^(1/power) with an atol from the largest one.
                    var wantMag = Array.ConvertAll(want, v => MathF.Pow(v, 1f / power));
                    var gotMag = Array.ConvertAll(got, v => MathF.Pow(v, 1f / power));
                    KernelTwin.AssertClose(wantMag, gotMag, 1e-4, 2e-6 * wantMag.Max(), what + " |X|");
                    double score = NormScore(got, want, 1e-4, 1e-6);
                    output.WriteLine($"{what}: norm-wise score {score:E2}");
                    Assert.True(score <= 0.1, $"{what}: norm-wise score {score:E3}");
                }
            }
        }
        finally
        {
            be.SpectrogramVariant = saved;
        }
    }

    [Theory]
    [InlineData("opencl")]
    [InlineData("cuda")]
    public void SpectrogramFftMatchesReferenceAtFftAndBluesteinSizes(string device)
    {
        if (KernelPair.Device(device, output) is not { } be) return;
        var cpu = KernelTwin.Reference;
        string saved = be.SpectrogramVariant;
        try
        {
            be.SpectrogramVariant = "fft";
            foreach (var (nFft, hop, frames, nFreq) in FftCases)
            {
                Assert.Equal(nFft <= 4096 ? "spectrogram_fft" : "spectrogram_tiled", be.SpectrogramKernelFor(nFft));
                foreach (float power in new[] { 1f, 2f })
                {
                    string what = $"fft nFft {nFft} hop {hop} frames {frames} nFreq {nFreq} power {power}";
                    int samples = (frames - 1) * hop + nFft;
                    var hann = Windows.Hann(nFft);
                    using var signal = KernelTwin.Of(be, KernelTwin.Normal(samples, nFft + 3 * frames, scale: 0.3f, offset: 0.05f));
                    using var w = KernelTwin.Of(be, Array.ConvertAll(hann, v => (float)v));
                    using var y = KernelTwin.Of(be, Enumerable.Repeat(float.NaN, nFreq * frames).ToArray()); // NaN: an unwritten element fails
                    be.SpectrogramForward(signal.Gpu, w.Gpu, y.Gpu, nFft, hop, frames, nFreq, power);
                    cpu.SpectrogramForward(signal.Cpu, w.Cpu, y.Cpu, nFft, hop, frames, nFreq, power);
                    var want = y.CpuFloats();
                    var got = y.GpuFloats();
                    Assert.All(got, v => Assert.True(float.IsFinite(v), $"{what}: unwritten or non-finite element"));
                    var wantMag = Array.ConvertAll(want, v => MathF.Pow(v, 1f / power));
                    var gotMag = Array.ConvertAll(got, v => MathF.Pow(v, 1f / power));
                    KernelTwin.AssertClose(wantMag, gotMag, 1e-4, 2e-6 * wantMag.Max(), what + " |X|");
                    double score = NormScore(got, want, 1e-4, 1e-6);
                    output.WriteLine($"{what} ({be.SpectrogramKernelFor(nFft)}): norm-wise score {score:E2}");
                    Assert.True(score <= 0.1, $"{what}: norm-wise score {score:E3}");
                }
            }
        }
        finally
        {
            be.SpectrogramVariant = saved;
        }
    }

    [Theory]
    [InlineData("opencl")]
    [InlineData("cuda")]
    public void SpectrogramRejectsBadArguments(string device)
    {
        if (KernelPair.Device(device, output) is not { } be) return;
        using var signal = KernelTwin.Of(be, new float[100]);
        using var window = KernelTwin.Of(be, new float[64]);
        using var y = KernelTwin.Output(be, 33 * 3);
        // 3 frames of hop 20 need 2·20 + 64 = 104 samples
        var ex = Assert.Throws<ArgumentException>(() => be.SpectrogramForward(signal.Gpu, window.Gpu, y.Gpu, 64, 20, 3, 33, 2f));
        Assert.Contains("signal", ex.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentOutOfRangeException>(() => be.SpectrogramForward(signal.Gpu, window.Gpu, y.Gpu, 64, 10, 3, 34, 2f));
        Assert.Throws<ArgumentOutOfRangeException>(() => be.SpectrogramForward(signal.Gpu, window.Gpu, y.Gpu, 64, 10, 3, 33, 0f));
    }

    [Theory]
    [InlineData("opencl")]
    [InlineData("cuda")]
    public void AmplitudeToDbMatchesReferenceWithAndWithoutTopDb(string device)
    {
        if (KernelPair.Device(device, output) is not { } be) return;
        var cpu = KernelTwin.Reference;
        // one element; odd; several groups; more than the largest grid holds in one sweep (256 groups × 256 × 8)
        foreach (int n in new[] { 1, 37, 5000, 600_001 })
        {
            var rng = new Random(n);
            var x = new float[n]; // power-like: many decades, some exact zeros (→ amin), one huge peak
            for (int i = 0; i < n; i++) x[i] = rng.Next(10) == 0 ? 0f : MathF.Exp((float)(rng.NextDouble() * 40 - 25));
            x[rng.Next(n)] = 3e7f;
            // (multiplier, amin, dbMultiplier, topDb): MFCC's power dB with top_db 80; magnitude dB
            // with ref 2 and no floor; a floor at the maximum itself (top_db 0)
            foreach (var (mult, amin, dbMul, topDb) in new[] { (10f, 1e-10f, 0f, 80f), (20f, 1e-5f, (float)Math.Log10(2), -1f), (10f, 1e-10f, 0f, 0f) })
            {
                string what = $"amplitude_to_db n {n} multiplier {mult} amin {amin} db_multiplier {dbMul} top_db {topDb}";
                using var xt = KernelTwin.Of(be, x);
                using var y = KernelTwin.Output(be, n);
                be.AmplitudeToDb(xt.Gpu, y.Gpu, n, mult, amin, dbMul, topDb);
                cpu.AmplitudeToDb(xt.Cpu, y.Cpu, n, mult, amin, dbMul, topDb);
                y.AssertClose(2e-6, 2e-5, what);
                var got = y.GpuFloats()[..n];
                if (topDb >= 0)
                {
                    float floor = got.Max() - topDb;
                    Assert.True(got.Min() >= floor - 1e-3f, $"{what}: min {got.Min()} below the floor {floor}");
                    if (n > 1) Assert.Contains(got, v => MathF.Abs(v - floor) <= 1e-3f); // something was floored
                }

                // in place (y aliases x), as the MFCC path runs it
                be.AmplitudeToDb(xt.Gpu, xt.Gpu, n, mult, amin, dbMul, topDb);
                KernelTwin.AssertClose(y.CpuFloats()[..n], xt.GpuFloats(), 2e-6, 2e-5, what + " in place");
            }
        }
    }

    [Theory]
    [InlineData("opencl")]
    [InlineData("cuda")]
    public void DeviceFeaturesMatchTheDoublePrecisionFrontEnd(string device)
    {
        if (KernelPair.Device(device, output) is not { } be) return;
        var wave = KernelTwin.Normal(8000, 11, scale: 0.1f); // 0.5 s at 16 kHz
        for (int i = 0; i < wave.Length; i++) wave[i] += 0.3f * MathF.Sin(2 * MathF.PI * 440 * i / 16000f); // a tone over noise
        var a = FeatureSettings.PaperA;
        var b = FeatureSettings.PaperB;
        var htk = new StftSettings { NFft = 400, HopLength = 160 }; // torchaudio defaults: centred, reflect padding
        var htkMel = new MelSettings { NMels = 40 };
        (string What, DoubleMatrix Want, Func<Tensor> Got, double Rtol)[] cases =
        [
            ("Paper A spectrogram", Stft.Compute(wave, a.Stft), () => DeviceFeatures.Spectrogram(be, wave, a.Stft), 1e-4),
            ("Paper B mel spectrogram", Cepstrum.MelSpectrogram(wave, b.Stft, b.Mel), () => DeviceFeatures.MelSpectrogram(be, wave, b.Stft, b.Mel), 1e-4),
            ("Paper B MFCC", Cepstrum.Mfcc(wave, b.Stft, b.Mel, b.NMfcc, b.TopDb), () => DeviceFeatures.Mfcc(be, wave, b.Stft, b.Mel, b.NMfcc, b.TopDb), 1e-4),
            ("HTK mel spectrogram (reflect)", Cepstrum.MelSpectrogram(wave, htk, htkMel), () => DeviceFeatures.MelSpectrogram(be, wave, htk, htkMel), 1e-4),
            ("MFCC log_mels", Cepstrum.Mfcc(wave, htk, htkMel, 13, logMels: true), () => DeviceFeatures.Mfcc(be, wave, htk, htkMel, 13, logMels: true), 1e-4),
        ];
        foreach (var (what, want, got, rtol) in cases)
        {
            using var t = got();
            Assert.Same(be, t.Backend);
            Assert.Equal(new Shape(want.Rows, want.Columns), t.Shape);
            var expected = Array.ConvertAll(want.Values, v => (float)v);
            double score = NormScore(t.ToArray(), expected, rtol, 1e-6);
            output.WriteLine($"{what} [{want.Rows}, {want.Columns}]: score {score:E2} (rtol {rtol}, atol 1e-6)");
            Assert.True(score <= 1, $"{what}: score {score:E3} > 1");
        }
    }

    [Theory]
    [InlineData("opencl")]
    [InlineData("cuda")]
    public void AudioFixturesPassOnTheDevicePath(string device)
    {
        if (KernelPair.Device(device, output) is not { } be) return;
        Assert.False(AudioFixtureHandlers.UsesHostDsp(be));
        var fixtures = SharedFixtures.Files.Select(FixtureLoader.Load).Where(f => f.Kind == "audio").ToList();
        Assert.Contains(fixtures, f => f.Op == "mfcc");
        foreach (var f in fixtures)
        {
            var handler = AudioFixtureHandlers.All.Single(h => h.Op == f.Op);
            FixtureResult r;
            using (TensorScope.Begin()) r = ConformanceRunner.Score(f, handler.Run(f, be)); // what RunOne does, without the global registry
            output.WriteLine(r.ToString());
            Assert.True(r.Passed, r.ToString());
            // the double-precision DSP scores exactly 0 here; float kernels never do
            if (f.Op != "mel_fbanks") Assert.True(r.Worst > 0, $"{f.Name}: score 0 on {device}: the handler did not run the device path");
        }
    }

    [Fact]
    public void SpectrogramKernelFileCompilesToPtx()
    {
        string[] kernels = ["spectrogram_naive", "spectrogram_tiled", "spectrogram_fft", "amplitude_to_db", "amplitude_to_db_floor"];
        var src = KernelSource.Load("spectrogram.cl", KernelDialect.Cuda, kernelDirectory: "");
        foreach (var k in kernels) Assert.Contains($"KERNEL void {k}(", src.Body, StringComparison.Ordinal);
        if (NvrtcNative.Instance is null)
        {
            output.WriteLine($"SKIPPED (returned early): NVRTC not found, PTX not compiled.\n{NvrtcNative.SearchReport}");
            return;
        }
        var ptx = CuModuleCache.CompileToPtx(src, options: GpuBackend.SpectrogramOptions);
        foreach (var k in kernels) Assert.Contains($".entry {k}(", ptx, StringComparison.Ordinal);
    }

    /// <summary>‖a − e‖₂ / (rtol‖e‖₂ + atol√n), the fixtures' rule (shared/fixtures/README.md).</summary>
    private static double NormScore(float[] actual, float[] expected, double rtol, double atol) =>
        ConformanceRunner.Ratio(Array.ConvertAll(actual, v => (double)v), Array.ConvertAll(expected, v => (double)v), rtol, atol);
}
