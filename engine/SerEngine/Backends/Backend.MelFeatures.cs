using System.Collections.Concurrent;

namespace SerEngine.Backends;

// The mel feature tail of the audio front end: |STFT|^power → mel → log or dB → optional DCT.
// Dimension legend: N = nFft, T = frames, K = plan.NFreq bins, M = plan.NMels, C = plan.NMfcc.
//   spec [K, T] = SpectrogramForward(signal, window)
//   mel  [M, T] = fbᵀ [M, K] · spec [K, T]
//   scaled       = mel | log(mel + logOffset) | amplitude_to_DB(mel) (top_db floor over all M·T)
//   y    [C, T] = dctᵀ [C, M] · scaled   (or y = scaled [M, T] without a DCT)
// The primitive starts from the signal, not the spectrogram, so a GPU backend can fuse the mel
// projection and the scaling into its FFT launch (GpuBackend.MelFeatures.cs). The default below
// composes the existing primitives (SpectrogramForward, Gemm, Unary, AmplitudeToDb), so cpu, ilgpu
// and cpu-reference run it unchanged, and on cpu-reference it is the oracle of the fused kernels.
public abstract partial class Backend
{
    /// <summary>Most plans whose device tables a backend keeps (further plans upload per call).</summary>
    internal const int MaxCachedMelPlans = 16;

    /// <summary>Device copies of a plan's tables (filterbank, DCT, packed), uploaded once per plan object.</summary>
    private readonly ConcurrentDictionary<(MelFeaturePlan Plan, int Table), Lazy<Storage>> _melTables = new();

    /// <summary>
    /// Mel features of one real signal: y [plan.OutputRows, frames] = the DCT (when the plan has one)
    /// of the scaled mel projection of the power spectrogram |STFT|^power, as torchaudio's
    /// MelSpectrogram (scale <see cref="MelFeatureScale.Power"/>, no DCT) and MFCC compute them.
    /// signal, window, nFft, hop, frames and power as in <see cref="SpectrogramForward"/> (with
    /// nFreq = plan.NFreq ≤ nFft/2 + 1). The default composes SpectrogramForward, two GEMMs and the
    /// scaling primitives; y must not alias the signal.
    /// </summary>
    public virtual void MelFeatures(Storage signal, Storage window, Storage y, int nFft, int hop, int frames, float power, MelFeaturePlan plan)
    {
        CheckMelFeatures(y, nFft, frames, plan);
        if (frames == 0) return;
        int k = plan.NFreq, m = plan.NMels, c = plan.NMfcc;
        using var spec = Allocate(k * frames, DType.Float32); // [K, T]
        SpectrogramForward(signal, window, spec, nFft, hop, frames, k, power);
        using var owned = c > 0 ? Allocate(m * frames, DType.Float32) : null; // [M, T] before the DCT
        var mel = owned ?? y;
        using (var fb = MelTable(plan, 0, out var fbTable)) // [K, M]
            Gemm(transA: true, transB: false, batch: 1, m: m, n: frames, k: k, alpha: 1f, fbTable, 0, spec, 0, beta: 0f, mel, 0);
        int n = m * frames;
        if (plan.Scale == MelFeatureScale.Log)
        {
            Unary(UnaryOp.AddScalar, mel, mel, n, plan.LogOffset);
            Unary(UnaryOp.Log, mel, mel, n, 0f);
        }
        else if (plan.Scale == MelFeatureScale.Decibels)
            AmplitudeToDb(mel, mel, n, plan.Multiplier, plan.Amin, plan.DbMultiplier, plan.TopDb);
        if (c == 0) return;
        using var dct = MelTable(plan, 1, out var dctTable); // [M, C]
        Gemm(transA: true, transB: false, batch: 1, m: c, n: frames, k: m, alpha: 1f, dctTable, 0, mel, 0, beta: 0f, y, 0);
    }

    /// <summary>The implementation <see cref="MelFeatures"/> runs for this shape (the default: <c>composed</c>).</summary>
    public virtual string MelFeaturesImplementation(int nFft, MelFeaturePlan plan) => "composed";

    /// <summary>The argument checks of <see cref="MelFeatures"/> (the spectrogram's own are SpectrogramForward's).</summary>
    protected static void CheckMelFeatures(Storage y, int nFft, int frames, MelFeaturePlan plan)
    {
        ArgumentNullException.ThrowIfNull(plan);
        ArgumentNullException.ThrowIfNull(y);
        if (plan.NFreq > nFft / 2 + 1)
            throw new ArgumentOutOfRangeException(nameof(plan), $"MelFeatures: the plan's {plan.NFreq} bins exceed nFft/2 + 1 = {nFft / 2 + 1}");
        if (frames < 0) throw new ArgumentOutOfRangeException(nameof(frames), $"MelFeatures: frames = {frames} is negative");
        long outputs = (long)plan.OutputRows * frames, inner = (long)Math.Max(plan.NFreq, plan.NMels) * frames;
        if (inner > int.MaxValue) throw new ArgumentOutOfRangeException(nameof(frames), $"MelFeatures: {frames} frames exceed int indexing");
        if (y.DType != DType.Float32 || y.Length < outputs)
            throw new ArgumentException($"MelFeatures: y must be Float32 [{plan.OutputRows}, {frames}] ({outputs} elements), got {y.DType} of {y.Length}");
    }

    /// <summary>
    /// The device copy of one of <paramref name="plan"/>'s tables (0 filterbank [K, M], 1 DCT [M, C],
    /// 2 packed): cached per plan while fewer than MaxCachedMelPlans plans are held, else uploaded for
    /// this call and returned for the caller to dispose (null when cached).
    /// </summary>
    protected Storage? MelTable(MelFeaturePlan plan, int table, out Storage storage)
    {
        float[] values = table switch { 0 => plan.Filterbank, 1 => plan.Dct!, _ => plan.PackedTable };
        var key = (plan, table);
        if (_melTables.Count >= 3 * MaxCachedMelPlans && !_melTables.ContainsKey(key))
        {
            storage = Allocate(values.Length, DType.Float32);
            Write(storage, values);
            return storage;
        }
        storage = _melTables.GetOrAdd(key, _ => new Lazy<Storage>(() =>
        {
            var s = AllocateCore(values.Length, DType.Float32); // a cache entry: outside LiveBytes
            Write(s, values);
            return s;
        })).Value;
        return null;
    }

    /// <summary>Frees the cached mel tables (a GPU backend calls this on dispose, before its memory goes).</summary>
    protected void ReleaseMelTables()
    {
        foreach (var lazy in _melTables.Values)
            if (lazy.IsValueCreated) FreeCore(lazy.Value);
        _melTables.Clear();
    }
}
