using System.Collections.Concurrent;
using ILGPU;
using ILGPU.Runtime;
using SerEngine.Backends;
using SerEngine.Backends.Cpu;
using SerEngine.Backends.Gpu;
using SerEngine.Ilgpu.Kernels;

namespace SerEngine.Ilgpu;

// Spectrogram and AmplitudeToDb launch code (Kernels/SpectrogramKernels.cs). Dimension legend: N = nFft,
// T = frames, K = nFreq; signal [(T − 1)·hop + N], window [N], y [K, T]. The twiddle table [2, N] is
// built on the host once per N (double, rounded once) and uploaded once per backend (up to 16 sizes).
public sealed partial class IlgpuBackend
{
    /// <summary>Spectrogram variants, simplest to fastest (the dialect's names: naive, tiled; its fft is not ported).</summary>
    public static IReadOnlyList<string> SpectrogramVariants { get; } = ["naive", "tiled"];

    /// <summary>The default spectrogram variant here (the dialect's default, fft, has no ILGPU kernel).</summary>
    public const string DefaultSpectrogramVariant = "tiled";

    private string? _spectrogramVariant;

    /// <summary>The kernel of <see cref="SpectrogramForward"/>: <c>naive</c> or <c>tiled</c> (default); starts as <c>$SERENGINE_SPECTROGRAM_VARIANT</c> when set.</summary>
    /// <exception cref="ArgumentException">An unknown variant name.</exception>
    public string SpectrogramVariant
    {
        get => _spectrogramVariant ??= VariantFromEnvironment(GpuBackend.SpectrogramVariantEnvironmentVariable, SpectrogramVariants, DefaultSpectrogramVariant, "spectrogram");
        set => _spectrogramVariant = CheckVariant(value, SpectrogramVariants, "spectrogram");
    }

    private const int MaxCachedTwiddleTables = 16;
    private readonly ConcurrentDictionary<int, Lazy<Storage>> _deviceTwiddles = new();

    private Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, SpectrogramArgs>? _spectrogramNaive, _spectrogramTiled;
    private Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, float, float, float>? _amplitudeToDb;
    private Action<KernelConfig, ArrayView<float>, ArrayView<float>, int, int, float>? _amplitudeToDbFloor;

    /// <inheritdoc/>
    public override void SpectrogramForward(Storage signal, Storage window, Storage y, int nFft, int hop, int frames, int nFreq, float power)
    {
        CpuReferenceBackend.CheckSpectrogramArgs(signal, window, y, nFft, hop, frames, nFreq, power);
        if (nFft > GpuBackend.MaxSpectrogramNFft)
            throw new ArgumentOutOfRangeException(nameof(nFft), $"SpectrogramForward: nFft = {nFft} exceeds the GPU kernels' limit of {GpuBackend.MaxSpectrogramNFft}");
        if (frames == 0 || nFreq == 0) return;
        using var perCall = _deviceTwiddles.Count >= MaxCachedTwiddleTables && !_deviceTwiddles.ContainsKey(nFft) ? UploadTwiddles(nFft, Allocate) : null;
        var twiddle = perCall ?? _deviceTwiddles.GetOrAdd(nFft, n => new Lazy<Storage>(() => UploadTwiddles(n, AllocateCore))).Value; // [2, N]
        ArrayView<float> sv = F(signal), wv = F(window), tv = F(twiddle), yv = F(y);
        var args = new SpectrogramArgs(nFft, hop, frames, nFreq, power);
        if (SpectrogramVariant == "naive")
        {
            const int gt = SpectrogramKernels.NaiveGroupT, gk = SpectrogramKernels.NaiveGroupK;
            var naive = new KernelConfig(new Index2D((frames + gt - 1) / gt, (nFreq + gk - 1) / gk), new Index2D(gt, gk));
            Run(ref _spectrogramNaive, a => a.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, SpectrogramArgs>(SpectrogramKernels.Naive),
                k => k(naive, sv, wv, tv, yv, args));
            return;
        }
        // one group per TK × TT tile of y
        var config = new KernelConfig(
            new Index2D((frames + SpectrogramKernels.TT - 1) / SpectrogramKernels.TT, (nFreq + SpectrogramKernels.TK - 1) / SpectrogramKernels.TK),
            new Index2D(SpectrogramKernels.RT, SpectrogramKernels.RK));
        Run(ref _spectrogramTiled, a => a.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, SpectrogramArgs>(SpectrogramKernels.Tiled),
            k => k(config, sv, wv, tv, yv, args));
    }

    /// <inheritdoc/>
    public override void AmplitudeToDb(Storage x, Storage y, int n, float multiplier, float amin, float dbMultiplier, float topDb)
    {
        CpuReferenceBackend.CheckAmplitudeToDbArgs(x, y, n, amin);
        if (n == 0) return;
        int group = GroupSize;
        int groups = (int)Math.Clamp(((long)n + group * 8L - 1) / (group * 8L), 1, Math.Min(MaxGroup, Groups1D(n)));
        using var partialMax = Allocate(groups, DType.Float32); // [groups]
        ArrayView<float> xv = F(x), yv = F(y), pv = F(partialMax); // x, y [n]
        var config = new KernelConfig(groups, group);
        float offset = multiplier * dbMultiplier;
        Run(ref _amplitudeToDb, a => a.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, int, float, float, float>(SpectrogramKernels.AmplitudeToDb),
            k => k(config, xv, yv, pv, n, multiplier, amin, offset));
        if (topDb >= 0)
            Run(ref _amplitudeToDbFloor, a => a.LoadStreamKernel<ArrayView<float>, ArrayView<float>, int, int, float>(SpectrogramKernels.AmplitudeToDbFloor),
                k => k(config, yv, pv, n, groups, topDb));
    }

    /// <summary>A device twiddle table [2, N] in a buffer from <paramref name="allocate"/> (Allocate: counted live; AllocateCore: a cache entry).</summary>
    private Storage UploadTwiddles(int nFft, Func<int, DType, Storage> allocate)
    {
        var table = new float[2 * nFft]; // [2, N]: cos(2πj/N), then sin(2πj/N), in double rounded to float
        for (int j = 0; j < nFft; j++)
        {
            double theta = 2.0 * Math.PI * j / nFft;
            table[j] = (float)Math.Cos(theta);
            table[nFft + j] = (float)Math.Sin(theta);
        }
        var s = allocate(table.Length, DType.Float32);
        Write(s, table);
        return s;
    }

    /// <summary>Returns the cached device twiddle tables to the pool (on dispose).</summary>
    private void ReleaseTwiddleTables()
    {
        foreach (var lazy in _deviceTwiddles.Values)
            if (lazy.IsValueCreated) FreeCore(lazy.Value);
        _deviceTwiddles.Clear();
    }
}
