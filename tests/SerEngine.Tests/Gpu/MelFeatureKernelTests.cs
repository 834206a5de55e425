using SerEngine.Audio;
using SerEngine.Backends;
using SerEngine.Backends.Gpu;
using SerEngine.Backends.OpenCl;

namespace SerEngine.Tests.Gpu;

/// <summary>
/// Backend.MelFeatures on the GPU backends (composed and fused variants) against the cpu-reference
/// composition: one frame, odd frame counts, more frames than one floor work-group, n_mels 1/40/128,
/// n_mfcc 1/13/26/40, top_db on and off, log vs dB vs plain mel, powers 1 and 2, HTK and Slaney
/// filterbanks, mixed-radix, odd and Bluestein FFT sizes, and a size past the FFT's limit (composed);
/// outputs pre-filled with NaN and sentinels after them. On OpenCL the launches are counted too.
/// </summary>
[Collection(ProcessWideCollection.Name)] // switches the shared backend's kernel variants
public class MelFeatureKernelTests(ITestOutputHelper output)
{
    // (nFft, hop, frames, power, nMels, slaney, nMfcc, scale, topDb; negative: none)
    private static readonly (int NFft, int Hop, int Frames, float Power, int NMels, bool Slaney, int NMfcc, MelFeatureScale Scale, float TopDb)[] Cases =
    [
        (400, 160, 1, 2f, 40, false, 0, MelFeatureScale.Power, -1f),       // one frame, plain mel
        (400, 160, 37, 2f, 40, false, 13, MelFeatureScale.Decibels, 80f),  // MFCC with top_db: two launches
        (400, 160, 37, 2f, 40, false, 13, MelFeatureScale.Decibels, -1f),  // MFCC without top_db: one launch
        (400, 160, 150, 2f, 40, false, 0, MelFeatureScale.Decibels, 80f),  // dB mel floored in place, 3 floor groups
        (512, 128, 9, 2f, 1, false, 1, MelFeatureScale.Decibels, 80f),     // n_mels 1, n_mfcc 1
        (512, 128, 9, 1f, 1, true, 0, MelFeatureScale.Log, -1f),           // one log band of a magnitude spectrogram
        (2048, 512, 5, 2f, 128, true, 26, MelFeatureScale.Decibels, 80f),  // mfcc.60s's settings
        (2048, 512, 3, 2f, 128, true, 40, MelFeatureScale.Log, -1f),       // log-mel MFCC, n_mfcc 40
        (2048, 512, 7, 2f, 128, false, 0, MelFeatureScale.Log, -1f),       // log-mel, 128 HTK bands
        (800, 160, 13, 1f, 40, false, 40, MelFeatureScale.Decibels, 10f),  // n_mfcc = n_mels, a tight floor
        (418, 100, 11, 2f, 40, false, 13, MelFeatureScale.Decibels, 80f),  // Bluestein FFT (418 = 2·11·19)
        (77, 20, 4, 2f, 13, false, 13, MelFeatureScale.Log, -1f),          // odd N, Bluestein
        (225, 50, 5, 2f, 40, false, 0, MelFeatureScale.Power, -1f),        // odd smooth N, some empty bands
        (4098, 1000, 2, 2f, 40, false, 13, MelFeatureScale.Decibels, 80f), // past the FFT's limit: composed
    ];

    [Theory]
    [InlineData("opencl")]
    [InlineData("cuda")]
    public void MelFeaturesMatchReference(string device)
    {
        if (KernelPair.Device(device, output) is not { } be) return;
        var cpu = KernelTwin.Reference;
        string saved = be.MelFeaturesVariant;
        try
        {
            foreach (var variant in GpuBackend.MelFeaturesVariants)
            {
                be.MelFeaturesVariant = variant;
                foreach (var c in Cases)
                {
                    var plan = Plan(c.NFft, c.NMels, c.Slaney, c.NMfcc, c.Scale, c.TopDb);
                    string chosen = be.ChooseMelFeatures(c.NFft, plan);
                    Assert.Equal(variant == "fused" && c.NFft != 4098 ? "fused" : "composed", chosen);
                    string what = $"{variant} ({chosen}) N {c.NFft} T {c.Frames} p{c.Power} mels {c.NMels}{(c.Slaney ? " slaney" : "")} mfcc {c.NMfcc} {c.Scale} top_db {c.TopDb}";
                    int samples = (c.Frames - 1) * c.Hop + c.NFft + 3; // a few samples never read
                    var window = Array.ConvertAll(Windows.Hann(c.NFft), v => (float)v); // [N]
                    using var signal = KernelTwin.Of(be, KernelTwin.Normal(samples, c.NFft + c.Frames, scale: 0.3f));
                    using var w = KernelTwin.Of(be, window);
                    int size = plan.OutputRows * c.Frames;
                    using var y = KernelTwin.Of(be, [.. Enumerable.Repeat(float.NaN, size), .. Enumerable.Repeat(777.25f, KernelTwin.OutputPadding)]);
                    long launches = CountLaunches(be, () => be.MelFeatures(signal.Gpu, w.Gpu, y.Gpu, c.NFft, c.Hop, c.Frames, c.Power, plan));
                    cpu.MelFeatures(signal.Cpu, w.Cpu, y.Cpu, c.NFft, c.Hop, c.Frames, c.Power, plan);
                    var got = y.GpuFloats();
                    Assert.All(got[size..], v => Assert.Equal(777.25f, v)); // nothing written past y
                    got = got[..size];
                    var want = y.CpuFloats()[..size];
                    Assert.All(got, v => Assert.False(float.IsNaN(v), what + ": NaN left in y"));
                    // float FFT vs double DFT, then (for dB) log10 of small mel energies: tolerance from the largest output
                    double scale = want.Max(v => Math.Abs((double)v));
                    KernelTwin.AssertClose(want, got, 2e-4, 2e-4 * scale + 1e-6, what);
                    if (launches >= 0)
                    {
                        int expected = chosen == "composed" ? -1 : plan.NeedsUtteranceMax ? 2 : 1;
                        if (expected > 0) Assert.Equal(expected, launches);
                        output.WriteLine($"{what}: {launches} launches");
                    }
                }
            }
        }
        finally
        {
            be.MelFeaturesVariant = saved;
        }
    }

    [Fact]
    public void FusedNeedsTheFftSpectrogram()
    {
        if (KernelPair.Device("opencl", output) is not { } be) return;
        string saved = be.SpectrogramVariant;
        try
        {
            var plan = Plan(400, 40, false, 13, MelFeatureScale.Decibels, 80f);
            be.SpectrogramVariant = "tiled";
            Assert.Equal("composed", be.ChooseMelFeatures(400, plan));
            be.SpectrogramVariant = "fft";
            Assert.Equal(be.MelFeaturesVariant == "fused" ? "fused" : "composed", be.ChooseMelFeatures(400, plan));
            Assert.Equal(be.ChooseMelFeatures(400, plan), be.MelFeaturesImplementation(400, plan));
            Assert.Equal("composed", KernelTwin.Reference.MelFeaturesImplementation(400, plan));
        }
        finally
        {
            be.SpectrogramVariant = saved;
        }
    }

    [Fact]
    public void PlanPacksTheBands()
    {
        var plan = Plan(400, 40, false, 13, MelFeatureScale.Decibels, 80f);
        var packed = plan.PackedTable;
        Assert.Equal(3 * 40 + plan.BandWeights + 40 * 13, packed.Length);
        Assert.True(plan.BandWeights < 2 * plan.NFreq + 40, $"{plan.BandWeights} weights"); // about 2 per bin
        for (int m = 0; m < 40; m++)
        {
            int first = (int)packed[3 * m], count = (int)packed[3 * m + 1], offset = (int)packed[3 * m + 2];
            for (int k = 0; k < plan.NFreq; k++)
            {
                float want = plan.Filterbank[k * 40 + m];
                float got = k >= first && k < first + count ? packed[plan.WeightsOffset + offset + k - first] : 0f;
                Assert.Equal(want, got);
            }
        }
        Assert.Equal(plan.Dct!, packed[plan.DctOffset..]);
        Assert.Throws<ArgumentException>(() => new MelFeaturePlan(3, 2, new float[5], null, 0, MelFeatureScale.Power));
        Assert.Throws<ArgumentException>(() => new MelFeaturePlan(3, 2, new float[6], new float[3], 2, MelFeatureScale.Power));
    }

    /// <summary>A plan from the front end's own tables (torchaudio's filterbank and DCT, rounded to float).</summary>
    private static MelFeaturePlan Plan(int nFft, int nMels, bool slaney, int nMfcc, MelFeatureScale scale, float topDb)
    {
        var mel = new MelSettings { NMels = nMels, SampleRate = 16000, Scale = slaney ? MelScale.Slaney : MelScale.Htk, Norm = slaney ? MelNorm.Slaney : MelNorm.None };
        var fb = MelFilterbank.Create(nFft / 2 + 1, mel);
        float[]? dct = nMfcc > 0 ? Array.ConvertAll(Cepstrum.CreateDct(nMfcc, nMels).Values, v => (float)v) : null;
        return new MelFeaturePlan(fb.Rows, fb.Columns, Array.ConvertAll(fb.Values, v => (float)v), dct, nMfcc, scale,
            logOffset: 1e-6f, multiplier: 10f, amin: 1e-10f, dbMultiplier: 0f, topDb: topDb);
    }

    /// <summary>Kernel launches of <paramref name="run"/> on OpenCL (its profiling counter), else −1.</summary>
    private static long CountLaunches(GpuBackend be, Action run)
    {
        if (be is not OpenClBackend cl)
        {
            run();
            return -1;
        }
        bool saved = cl.ProfileKernels;
        long before = cl.ProfiledLaunches;
        cl.ProfileKernels = true;
        try { run(); }
        finally { cl.ProfileKernels = saved; }
        cl.Synchronize();
        return cl.ProfiledLaunches - before;
    }
}
