using System.Buffers;
using System.Collections.Concurrent;
using SerEngine.Backends;
using SerEngine.Backends.Cpu;

namespace SerEngine.Audio;

/// <summary>
/// The front end on a backend's primitives, in float32, with results left on the backend as
/// tensors: |STFT|^power by <see cref="Backend.SpectrogramForward"/>; the mel spectrogram and the MFCC
/// by <see cref="Backend.MelFeatures"/> (the spectrogram, the mel projection, log or decibels and the
/// DCT in one primitive, which GPU backends fuse into one or two launches). The
/// host does what is cheap and exact: the <c>pad</c> and centring pads, the window, the filterbank
/// and the DCT matrix (the same double-precision code as <see cref="Stft"/>, <see cref="MelFilterbank"/>
/// and <see cref="Cepstrum"/>, rounded once to float and uploaded). Same settings and shapes as those
/// double-precision functions, which stay the oracle. On the fast CPU backend the host's SIMD front
/// end computes the features (the spectrogram in float32 as <see cref="Stft.ComputeSingle"/>, the mel
/// spectrogram and MFCC in double as <see cref="Cepstrum"/>, rounded once) straight into tensors of the
/// backend's buffer pool, so repeated calls reuse memory as PyTorch's allocator does.
/// </summary>
public static class DeviceFeatures
{
    /// <summary>
    /// torchaudio.transforms.Spectrogram of <paramref name="samples"/> on <paramref name="backend"/>:
    /// <c>[n_fft/2 + 1, frames]</c>. Throws <see cref="ArgumentException"/> when the signal is too short
    /// for one frame or for reflect padding.
    /// </summary>
    public static Tensor Spectrogram(Backend backend, ReadOnlySpan<float> samples, StftSettings stft)
    {
        ArgumentNullException.ThrowIfNull(backend);
        if (UsesHostFft(backend, stft))
        {
            // the host's float32 SIMD STFT (Stft.ComputeSingle's), written straight into the tensor's pooled storage
            Tensor? result = null;
            try
            {
                StftBatch.Run<float>(samples, stft, frames =>
                {
                    result = Tensor.Empty(new Shape(stft.FreqBins, frames), DType.Float32, backend); // [bins, frames]
                    return new SpectrogramSink<float>(((CpuStorage)result.Storage).F, stft.FreqBins, frames);
                });
                return result!;
            }
            catch
            {
                result?.Dispose();
                throw;
            }
        }
        var (signal, window, frames) = Frames(backend, samples, stft);
        using (signal)
        using (window)
        {
            var y = Tensor.Empty(new Shape(stft.FreqBins, frames), DType.Float32, backend); // [bins, frames]
            try
            {
                backend.SpectrogramForward(signal.Storage, window.Storage, y.Storage, stft.NFft, stft.HopLengthOrDefault, frames, stft.FreqBins, (float)stft.Power);
            }
            catch
            {
                y.Dispose();
                throw;
            }
            return y;
        }
    }

    /// <summary>
    /// torchaudio.transforms.MelSpectrogram on <paramref name="backend"/>:
    /// <c>mel [n_mels, frames] = fbᵀ [n_mels, n_freqs] · |STFT|^power [n_freqs, frames]</c>.
    /// </summary>
    public static Tensor MelSpectrogram(Backend backend, ReadOnlySpan<float> samples, StftSettings stft, MelSettings mel)
    {
        ArgumentNullException.ThrowIfNull(mel);
        if (UsesHostFft(backend, stft))
        {
            return HostToTensor(backend, samples, mel.NMels, (s, rent) => Cepstrum.MelSpectrogramFast(s, stft, mel, rent, out _));
        }
        var plan = Plan(new PlanKey(stft.FreqBins, mel, 0, true, MelFeatureScale.Power, null));
        return Features(backend, samples, stft, plan);
    }

    /// <summary>
    /// torchaudio.transforms.MFCC on <paramref name="backend"/> (see <see cref="Cepstrum.Mfcc"/> for
    /// the settings): the mel spectrogram; amplitude_to_DB(10, amin 1e-10, ref 1, top_db) over the
    /// whole matrix, or log(mel + 1e-6) when <paramref name="logMels"/>; then
    /// <c>[n_mfcc, frames] = dctᵀ [n_mfcc, n_mels] · [n_mels, frames]</c>.
    /// </summary>
    public static Tensor Mfcc(Backend backend, ReadOnlySpan<float> samples, StftSettings stft, MelSettings mel, int nMfcc,
        double? topDb = 80.0, bool logMels = false, bool orthoDct = true)
    {
        ArgumentNullException.ThrowIfNull(mel);
        if (nMfcc > mel.NMels) throw new ArgumentException($"n_mfcc ({nMfcc}) cannot exceed n_mels ({mel.NMels})");
        if (topDb is { } t && !(t >= 0)) throw new ArgumentException($"top_db must be >= 0, got {t}");
        if (UsesHostFft(backend, stft))
        {
            return HostToTensor(backend, samples, nMfcc, (s, rent) => Cepstrum.MfccInto(s, stft, mel, nMfcc, topDb, logMels, orthoDct, rent));
        }
        var plan = Plan(new PlanKey(stft.FreqBins, mel, nMfcc, orthoDct, logMels ? MelFeatureScale.Log : MelFeatureScale.Decibels, logMels ? null : topDb));
        return Features(backend, samples, stft, plan);
    }

    /// <summary>
    /// True on the fast CPU backend for settings the host's SIMD STFT handles: there the features are
    /// the host's (the double-precision mel/MFCC path, the float32 spectrogram), written into tensors
    /// of the backend's buffer pool, instead of its reference spectrogram primitive (a direct DFT).
    /// </summary>
    private static bool UsesHostFft(Backend backend, StftSettings stft)
    {
        ArgumentNullException.ThrowIfNull(backend);
        ArgumentNullException.ThrowIfNull(stft);
        stft.Validate();
        return backend is CpuBackend && StftBatch.Supports(stft);
    }

    /// <summary>A host feature function: writes its double <c>[rows, frames]</c> result into the array <c>allocate</c>(n) gives; returns the frame count.</summary>
    private delegate int HostFeatures(ReadOnlySpan<float> samples, Func<int, double[]> allocate);

    /// <summary>
    /// <paramref name="compute"/>'s double-precision <c>[rows, frames]</c> result in a pooled array, rounded once
    /// into a new float tensor on the backend.
    /// </summary>
    private static Tensor HostToTensor(Backend backend, ReadOnlySpan<float> samples, int rows, HostFeatures compute)
    {
        double[]? rented = null;
        try
        {
            int frames = compute(samples, n => rented = ArrayPool<double>.Shared.Rent(n));
            var y = Tensor.Empty(new Shape(rows, frames), DType.Float32, backend); // [rows, frames]
            var f = ((CpuStorage)y.Storage).F;
            for (int i = 0; i < rows * frames; i++) f[i] = (float)rented![i];
            return y;
        }
        finally
        {
            if (rented is not null) ArrayPool<double>.Shared.Return(rented);
        }
    }

    /// <summary>The mel feature tail on the backend in one primitive (<see cref="Backend.MelFeatures"/>): [plan rows, frames].</summary>
    private static Tensor Features(Backend backend, ReadOnlySpan<float> samples, StftSettings stft, MelFeaturePlan plan)
    {
        ArgumentNullException.ThrowIfNull(backend);
        var (signal, window, frames) = Frames(backend, samples, stft);
        using (signal)
        using (window)
        {
            var y = Tensor.Empty(new Shape(plan.OutputRows, frames), DType.Float32, backend); // [n_mels or n_mfcc, frames]
            try
            {
                backend.MelFeatures(signal.Storage, window.Storage, y.Storage, stft.NFft, stft.HopLengthOrDefault, frames, (float)stft.Power, plan);
            }
            catch
            {
                y.Dispose();
                throw;
            }
            return y;
        }
    }

    /// <summary>The padded signal (the samples the frames read) and the full-length window on the backend, and the frame count.</summary>
    private static (Tensor Signal, Tensor Window, int Frames) Frames(Backend backend, ReadOnlySpan<float> samples, StftSettings stft)
    {
        stft.Validate();
        int nFft = stft.NFft, hop = stft.HopLengthOrDefault;
        var padded = Stft.PadSignal(samples, stft, static n => new double[n], static v => v); // [padded]
        if (padded.Length < nFft)
            throw new ArgumentException($"signal of {samples.Length} samples is shorter than n_fft = {nFft} (center = {stft.Center}): no frame fits");
        int frames = 1 + (padded.Length - nFft) / hop;
        int used = (frames - 1) * hop + nFft; // samples the frames read
        var signal = Tensor.FromArray(ToFloat(padded.AsSpan(0, used)), new Shape(used), backend); // [used]
        var window = Tensor.FromArray(ToFloat(Stft.PaddedWindow(stft)), new Shape(nFft), backend); // [n_fft]
        return (signal, window, frames);
    }

    /// <summary>What a <see cref="MelFeaturePlan"/> is built from (MelSettings is a record: value equality).</summary>
    private readonly record struct PlanKey(int NFreq, MelSettings Mel, int NMfcc, bool Ortho, MelFeatureScale Scale, double? TopDb);

    /// <summary>Plans by settings, so each backend uploads a plan's tables once (a few settings in practice).</summary>
    private static readonly ConcurrentDictionary<PlanKey, MelFeaturePlan> Plans = new();

    private const int MaxCachedPlans = 64;

    /// <summary>The plan for <paramref name="key"/>: the filterbank and DCT in double (the oracle's code), rounded once to float.</summary>
    private static MelFeaturePlan Plan(PlanKey key)
    {
        if (Plans.TryGetValue(key, out var cached)) return cached;
        var fb = MelFilterbank.Create(key.NFreq, key.Mel); // [n_freqs, n_mels], validates the settings
        float[]? dct = key.NMfcc > 0 ? ToFloat(Cepstrum.CreateDct(key.NMfcc, key.Mel.NMels, key.Ortho).Values) : null; // [n_mels, n_mfcc]
        const double amin = 1e-10, reference = 1.0;
        var plan = new MelFeaturePlan(fb.Rows, fb.Columns, ToFloat(fb.Values), dct, key.NMfcc, key.Scale,
            logOffset: 1e-6f, multiplier: 10f, amin: (float)amin, dbMultiplier: (float)Math.Log10(Math.Max(amin, reference)),
            topDb: key.TopDb is { } top ? (float)top : -1f);
        return Plans.Count < MaxCachedPlans ? Plans.GetOrAdd(key, plan) : plan;
    }

    /// <summary>Rounds doubles to float32.</summary>
    private static float[] ToFloat(ReadOnlySpan<double> v)
    {
        var f = new float[v.Length];
        for (int i = 0; i < f.Length; i++) f[i] = (float)v[i];
        return f;
    }
}
