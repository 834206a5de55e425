using System.Globalization;
using System.Text;
using SerEngine.Audio;
using SerEngine.Audio.Conformance;
using SerEngine.Conformance;
using static SerEngine.Audio.Conformance.AudioFixtureParams;

namespace SerEngine.Tests.Audio;

/// <summary>
/// NWaves 0.9.6 measured piece by piece against torchaudio's fixtures and our front end (issue 21, item 1).
/// <see cref="Report"/> prints the table README's "Audio front end" section carries; the other tests keep
/// NWaves as a cross-check where it computes the same quantity, at the tolerance measured, and pin the
/// places where it does not (so a new NWaves that changes either shows up here).
/// </summary>
public partial class NWavesComparisonTests(ITestOutputHelper output)
{
    private static Fixture Load(string name) => AudioFixtureTests.LoadFixture(Path.Combine(AudioFixtureTests.FixtureDir(), name + ".safetensors"));

    private static float[] F(DoubleMatrix m) => Array.ConvertAll(m.Values, v => (float)v);

    /// <summary>Max |a − e| and max |a − e| / max |e| (relative to the tensor's peak).</summary>
    internal static (double Abs, double Rel) Diff(IReadOnlyList<double> a, IReadOnlyList<double> e)
    {
        Assert.Equal(e.Count, a.Count);
        double abs = 0, peak = 0;
        for (int i = 0; i < e.Count; i++) { abs = Math.Max(abs, Math.Abs(a[i] - e[i])); peak = Math.Max(peak, Math.Abs(e[i])); }
        return (abs, peak == 0 ? abs : abs / peak);
    }

    internal static (double Abs, double Rel) Diff(float[] a, float[] e) => Diff(Array.ConvertAll(a, v => (double)v), Array.ConvertAll(e, v => (double)v));

    private static string G(double v) => v.ToString("0.0E+0", CultureInfo.InvariantCulture);

    /// <summary>One fixture's result: the fixture score (≤ 1 passes) and max abs / peak-relative difference, or why none.</summary>
    private static string Judge(Fixture f, string tensor, Func<DoubleMatrix> compute)
    {
        var e = f.Tensors[tensor];
        DoubleMatrix a;
        try { a = compute(); }
        catch (Exception ex) { return $"cannot: {ex.GetType().Name}: {ex.Message.Split('\n')[0]}"; }
        int rows = e.Shape[^2], cols = e.Shape[^1];
        if (a.Rows != rows || a.Columns != cols)
        {
            // compare the frames both have (NWaves' framing may give another count)
            int c = Math.Min(a.Columns, cols);
            var ae = new float[rows * c];
            var ee = new float[rows * c];
            for (int r = 0; r < Math.Min(rows, a.Rows); r++)
                for (int t = 0; t < c; t++) { ae[r * c + t] = (float)a[r, t]; ee[r * c + t] = e.Floats![r * cols + t]; }
            var (ab, rl) = Diff(ae, ee);
            return $"shape [{a.Rows}, {a.Columns}] vs [{rows}, {cols}]; on the first {c} frames score {G(AudioFixtureTests.Score(ae, ee, f.Rtol, f.Atol))}, max abs {G(ab)}, rel {G(rl)}";
        }
        var av = F(a);
        var (abs, rel) = Diff(av, e.Floats!);
        return $"score {G(AudioFixtureTests.Score(av, e.Floats!, f.Rtol, f.Atol))}, max abs {G(abs)}, rel {G(rel)}";
    }

    private static readonly string[] MelFbankFixtures = ["mel_fbanks_htk_none_201_40", "mel_fbanks_htk_slaney_257_64", "mel_fbanks_slaney_slaney_1025_128"];
    private static readonly string[] MelSpecFixtures = ["melspec_htk_400_160", "melspec_nocenter_800_160", "melspec_slaney_2048_512"];

    /// <summary>Prints every measurement, component by component (the README table is made from this output).</summary>
    [Fact]
    public void Report()
    {
        var sb = new StringBuilder();
        void Line(string s) { sb.AppendLine(s); output.WriteLine(s); }

        // windows: torch's periodic window of the lengths the fixtures and presets use
        foreach (var (kind, n) in new[] { (WindowKind.Hann, 400), (WindowKind.Hann, 640), (WindowKind.Hann, 2048), (WindowKind.Hamming, 640) })
        {
            var ours = Windows.Create(kind, n);
            var shipped = Diff(Array.ConvertAll(NWavesFrontEnd.Window(kind, n), v => (double)v), ours);
            var periodic = Diff(Array.ConvertAll(NWavesFrontEnd.PeriodicWindow(kind, n), v => (double)v), ours);
            var sym = Diff(Array.ConvertAll(NWavesFrontEnd.Window(kind, n), v => (double)v), Windows.Create(kind, n, periodic: false));
            Line($"window {kind} {n}: NWaves as shipped vs torch periodic max abs {G(shipped.Abs)}; NWaves N+1 truncated vs periodic {G(periodic.Abs)}; NWaves vs torch symmetric {G(sym.Abs)}");
        }

        // FFT on random data against ours (ours matches a naive DFT to 1e-12, FftTests)
        foreach (int n in new[] { 256, 512, 2048, 400, 800 })
        {
            var x = RandomWave(n, n);
            var (re, im) = (new double[n / 2 + 1], new double[n / 2 + 1]);
            FftPlan.Get(n).RealForward(x, re, im);
            Line($"fft {n}: {FftVsOurs(x, re, im)}");
        }

        // DCT-II ortho against ours
        {
            var x = RandomWave(128, 5);
            var ours = Cepstrum.ApplyDct(Cepstrum.CreateDct(26, 128), new DoubleMatrix(x, 128, 1));
            var nw = NWavesFrontEnd.DctColumns(x, 128, 1, 26);
            var d = Diff(nw.Values, ours.Values);
            Line($"dct-II ortho 128->26: NWaves Dct2.DirectNorm vs ours max abs {G(d.Abs)}, rel {G(d.Rel)}");
        }

        foreach (var name in MelFbankFixtures)
        {
            var f = Load(name);
            var mel = Mel(f);
            int nFreqs = Int(f, "n_freqs", 201);
            Line($"{name}: NWaves {Judge(f, "out.fbanks", () => NWavesFrontEnd.AsTorchLayout(NWavesFrontEnd.MelBank(nFreqs, mel)))}; ours {Judge(f, "out.fbanks", () => MelFilterbank.Create(nFreqs, mel))}");
        }

        {
            var f = Load("spectrogram_hamming_800");
            var s = Stft(f);
            var w = Wave(f).Rows[0];
            Line($"spectrogram_hamming_800: NWaves closest {Judge(f, "out.spec", () => NWavesFrontEnd.Spectrogram(w, s))}; NWaves Stft class {Judge(f, "out.spec", () => NWavesFrontEnd.StftClass(w, s))}; ours {Judge(f, "out.spec", () => SerEngine.Audio.Stft.Compute(w, s))}");
        }

        foreach (var name in MelSpecFixtures)
        {
            var f = Load(name);
            var (s, m, w) = (Stft(f), Mel(f), Wave(f).Rows[0]);
            Line($"{name}: NWaves closest {Judge(f, "out.mel", () => NWavesFrontEnd.MelSpectrogram(w, s, m))}; " +
                 $"NWaves Stft class + bank {Judge(f, "out.mel", () => NWavesFrontEnd.ApplyBank(NWavesFrontEnd.MelBank(s.FreqBins, m), NWavesFrontEnd.StftClass(w, s)))}; " +
                 $"ours {Judge(f, "out.mel", () => Cepstrum.MelSpectrogram(w, s, m))}");
        }

        {
            var f = Load("mfcc");
            var (s, m, w) = (Stft(f), Mel(f), Wave(f).Rows[0]);
            int n = Int(f, "n_mfcc", 40);
            Line($"mfcc: NWaves closest {Judge(f, "out.mfcc", () => NWavesFrontEnd.Mfcc(w, s, m, n, TopDb(f)))}; " +
                 $"NWaves MfccExtractor {Judge(f, "out.mfcc", () => NWavesFrontEnd.MfccExtractor(w, s, m, n))}; " +
                 $"ours {Judge(f, "out.mfcc", () => Cepstrum.Mfcc(w, s, m, n, TopDb(f), false, true))}");
        }

        // resampling: a 1 kHz sine (amplitude 0.5, 0.5 s) 44.1 → 16 kHz, and a 12 kHz sine's alias
        foreach (var (from, to) in new[] { (44100, 16000), (48000, 16000), (22050, 16000), (8000, 16000) })
            Line($"resample {from}->{to}: {ResampleLine(from, to)}");

        foreach (var l in WavLines()) Line(l);

        var path = Environment.GetEnvironmentVariable("NWAVES_REPORT");
        if (!string.IsNullOrEmpty(path)) File.WriteAllText(path, sb.ToString());
    }

    internal static double[] RandomWave(int n, int seed)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, n).Select(_ => rng.NextDouble() * 2 - 1).ToArray();
    }

    private static string FftVsOurs(double[] x, double[] re, double[] im)
    {
        int n = x.Length, bins = n / 2 + 1;
        string Try(Func<(double[] Re, double[] Im)> run)
        {
            try
            {
                var (r, i) = run();
                double err = 0, norm = 0;
                for (int k = 0; k < bins; k++) { err = Math.Max(err, Math.Max(Math.Abs(r[k] - re[k]), Math.Abs(i[k] - im[k]))); norm = Math.Max(norm, Math.Sqrt(re[k] * re[k] + im[k] * im[k])); }
                return $"max abs {G(err)}, rel {G(err / norm)}";
            }
            catch (Exception ex) { return $"{ex.GetType().Name}: {ex.Message.Split('\n')[0]}"; }
        }
        string d = Try(() => { var (r, i) = (new double[n], new double[n]); new NWaves.Transforms.RealFft64(n).Direct(x, r, i); return (r, i); });
        string s = Try(() =>
        {
            var (r, i) = (new float[n], new float[n]);
            new NWaves.Transforms.RealFft(n).Direct(Array.ConvertAll(x, v => (float)v), r, i);
            return (Array.ConvertAll(r, v => (double)v), Array.ConvertAll(i, v => (double)v));
        });
        return $"NWaves RealFft64 vs ours {d}; RealFft (float) {s}";
    }
}
