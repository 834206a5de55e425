using System.Collections.Concurrent;
using SerEngine.Backends.Cpu;

namespace SerEngine.Backends.Gpu;

// Spectrogram launch code (kernels/spectrogram.cl). Dimension legend: N = nFft, T = frames,
// K = nFreq; signal [(T − 1)·hop + N], window [N], y [K, T]. The twiddle table [2, N] (cos, sin of
// 2πj/N, computed in double and rounded once) is built on the host per N and uploaded once per
// backend: the device copies of the first MaxCachedTwiddleTables sizes stay until Dispose (outside
// LiveBytes, inside PoolStats.InUseBytes); further sizes get a pooled buffer per call. The fft
// variant's plan table (SpectrogramFftPlan: twiddles, and for Bluestein the chirp and its spectrum)
// is cached the same way, in its own dictionary.
public abstract partial class GpuBackend
{
    /// <summary>Environment variable choosing the spectrogram variant (one of <see cref="SpectrogramVariants"/>).</summary>
    public const string SpectrogramVariantEnvironmentVariable = "SERENGINE_SPECTROGRAM_VARIANT";

    /// <summary>Spectrogram variants of kernels/spectrogram.cl, simplest to fastest.</summary>
    public static IReadOnlyList<string> SpectrogramVariants { get; } = ["naive", "tiled", "fft"];

    /// <summary>The default spectrogram variant: the fastest one that is correct on every device tested.</summary>
    public const string DefaultSpectrogramVariant = "fft";

    /// <summary>Largest nFft the kernels take: (k·n) mod nFft is formed in unsigned 32-bit arithmetic.</summary>
    public const int MaxSpectrogramNFft = 65536;

    private string? _spectrogramVariant;

    /// <summary>
    /// The kernel used by <see cref="SpectrogramForward"/>: <c>naive</c>, <c>tiled</c> or <c>fft</c>
    /// (see <see cref="SpectrogramKernelFor"/>). Starts as
    /// <c>$SERENGINE_SPECTROGRAM_VARIANT</c>, else <see cref="DefaultSpectrogramVariant"/>.
    /// </summary>
    /// <exception cref="ArgumentException">An unknown variant name.</exception>
    public string SpectrogramVariant
    {
        get => _spectrogramVariant ??= VariantFromEnvironment(SpectrogramVariantEnvironmentVariable, SpectrogramVariants, DefaultSpectrogramVariant, "spectrogram");
        set => _spectrogramVariant = CheckVariant(value, SpectrogramVariants, "spectrogram");
    }

    // spectrogram_tiled's tiles (SPEC_TK bins × SPEC_TT frames per work-group, SPEC_TN-deep slabs,
    // SPEC_WK × SPEC_WT outputs per work-item: 16 × 8 work-items).
    // 32×32 tiles with 4×2 per work-item were slower on PoCL (timed by hand; no bench case times this kernel yet).
    private const int SpecTileK = 32, SpecTileT = 64, SpecTileN = 32, SpecWorkK = 4, SpecWorkT = 4;
    private const int SpecNaiveGroupT = 16, SpecNaiveGroupK = 8;

    // spectrogram_fft's work-group: one frame per group; its widest pass (radix 2 over 2048 points) has 1024 butterflies.
    private const int SpecFftGroup = 64;

    // One option string for every variant, so spectrogram.cl is built once per device.
    internal static readonly string SpectrogramOptions =
        $"-DSPEC_TK={SpecTileK} -DSPEC_TT={SpecTileT} -DSPEC_TN={SpecTileN} -DSPEC_WK={SpecWorkK} -DSPEC_WT={SpecWorkT} -DFFT_MAX={SpectrogramFftPlan.MaxPoints}";

    /// <summary>Host twiddle tables [2, N] by N (a handful of sizes in practice).</summary>
    private static readonly ConcurrentDictionary<int, float[]> TwiddleTables = new();

    /// <summary>Most nFft sizes whose device twiddle tables a backend keeps (at most 512 KiB each).</summary>
    internal const int MaxCachedTwiddleTables = 16;

    /// <summary>Device twiddle tables [2, N] by N, uploaded once (Lazy: one upload when threads race).</summary>
    private readonly ConcurrentDictionary<int, Lazy<Storage>> _deviceTwiddles = new();

    /// <summary>Device FFT plans (SpectrogramFftPlan.Table) by N, uploaded once, under the same limit.</summary>
    private readonly ConcurrentDictionary<int, Lazy<Storage>> _deviceFftPlans = new();

    /// <inheritdoc/>
    public override void SpectrogramForward(Storage signal, Storage window, Storage y, int nFft, int hop, int frames, int nFreq, float power)
    {
        CpuReferenceBackend.CheckSpectrogramArgs(signal, window, y, nFft, hop, frames, nFreq, power);
        if (nFft > MaxSpectrogramNFft)
            throw new ArgumentOutOfRangeException(nameof(nFft), $"SpectrogramForward: nFft = {nFft} exceeds the GPU kernels' limit of {MaxSpectrogramNFft}");
        if (frames == 0 || nFreq == 0) return;
        string kernel = SpectrogramKernelFor(nFft);
        if (kernel == "spectrogram_fft")
        {
            var fftPlan = SpectrogramFftPlan.For(nFft);
            using var perCallPlan = DeviceTable(_deviceFftPlans, nFft, _ => fftPlan.Table, out var planTable); // [plan length]
            // one work-group per frame; the FFT's passes stride over the group's work-items
            Launch(SpectrogramFile, kernel, SpectrogramOptions, [(long)frames * SpecFftGroup], [SpecFftGroup],
                [signal, window, planTable, y, nFft, hop, frames, nFreq, power, fftPlan.BluesteinM,
                 planTable, y, 0, 0, 0, 0, 0f, 0f, 0f, 0]); // nMels 0: no mel epilogue (GpuBackend.MelFeatures.cs)
            return;
        }
        using var perCall = DeviceTable(_deviceTwiddles, nFft, n => TwiddleTables.GetOrAdd(n, Twiddles), out var twiddle); // [2, N]
        ReadOnlySpan<KernelArg> args = [signal, window, twiddle, y, nFft, hop, frames, nFreq, power];
        if (kernel == "spectrogram_naive")
        {
            Launch(SpectrogramFile, kernel, SpectrogramOptions, [frames, nFreq], [SpecNaiveGroupT, SpecNaiveGroupK], args);
            return;
        }
        // one work-group per SPEC_TK × SPEC_TT tile of y
        const int lx = SpecTileT / SpecWorkT, ly = SpecTileK / SpecWorkK;
        long gx = (frames + SpecTileT - 1) / SpecTileT * lx, gy = (nFreq + SpecTileK - 1) / SpecTileK * ly;
        Launch(SpectrogramFile, kernel, SpectrogramOptions, [gx, gy], [lx, ly], args);
    }

    /// <summary>
    /// The kernel that <see cref="SpectrogramForward"/> runs for <paramref name="nFft"/> under
    /// <see cref="SpectrogramVariant"/>: the variant's own kernel, except that <c>fft</c> runs
    /// <c>spectrogram_tiled</c> for sizes whose FFT does not fit one work-group's local memory
    /// (<see cref="SpectrogramFftPlan.Fits"/>: complex length above FFT_MAX).
    /// </summary>
    public string SpectrogramKernelFor(int nFft) => SpectrogramVariant switch
    {
        "naive" => "spectrogram_naive",
        "fft" when SpectrogramFftPlan.Fits(nFft) => "spectrogram_fft",
        _ => "spectrogram_tiled", // tiled, or fft past its local-memory limit: the DFT as a GEMM takes any N
    };

    private const string SpectrogramFile = "spectrogram.cl";

    /// <summary>
    /// The device copy of the host table <paramref name="build"/> gives for <paramref name="nFft"/>: from
    /// <paramref name="cache"/> (uploaded once) while it holds fewer than MaxCachedTwiddleTables sizes,
    /// else a pooled buffer for this call, returned for the caller to dispose (null when cached).
    /// </summary>
    private Storage? DeviceTable(ConcurrentDictionary<int, Lazy<Storage>> cache, int nFft, Func<int, float[]> build, out Storage table)
    {
        if (cache.Count >= MaxCachedTwiddleTables && !cache.ContainsKey(nFft))
        {
            table = Upload(build(nFft), Allocate);
            return table;
        }
        table = cache.GetOrAdd(nFft, n => new Lazy<Storage>(() => Upload(build(n), AllocateCore))).Value;
        return null;
    }

    /// <summary>A device copy of <paramref name="values"/> in a buffer from <paramref name="allocate"/> (Allocate: counted live; AllocateCore: a cache entry).</summary>
    private Storage Upload(float[] values, Func<int, DType, Storage> allocate)
    {
        var s = allocate(values.Length, DType.Float32);
        Write(s, values);
        return s;
    }

    /// <summary>Returns the cached device twiddle tables to the pool (on dispose).</summary>
    private void ReleaseTwiddleTables()
    {
        foreach (var cache in new[] { _deviceTwiddles, _deviceFftPlans })
        {
            foreach (var lazy in cache.Values)
                if (lazy.IsValueCreated) FreeCore(lazy.Value);
            cache.Clear();
        }
    }

    /// <summary>cos(2πj/N) for j &lt; N, then sin(2πj/N), in double rounded to float.</summary>
    private static float[] Twiddles(int nFft)
    {
        var t = new float[2 * nFft]; // [2, N]
        for (int j = 0; j < nFft; j++)
        {
            double theta = 2.0 * Math.PI * j / nFft;
            t[j] = (float)Math.Cos(theta);
            t[nFft + j] = (float)Math.Sin(theta);
        }
        return t;
    }
}
