using SerEngine.Backends;

namespace SerEngine.Audio;

/// <summary>
/// The front end on a backend's primitives, in float32, with results left on the backend as
/// tensors: |STFT|^power by <see cref="Backend.SpectrogramForward"/>, the mel projection and the DCT
/// of the MFCC as <see cref="Backend.Gemm"/>, decibels by <see cref="Backend.AmplitudeToDb"/>. The
/// host does what is cheap and exact: the <c>pad</c> and centring pads, the window, the filterbank
/// and the DCT matrix (the same double-precision code as <see cref="Stft"/>, <see cref="MelFilterbank"/>
/// and <see cref="Cepstrum"/>, rounded once to float and uploaded). Same settings and shapes as those
/// double-precision functions, which stay the oracle.
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
        stft.Validate();
        int nFft = stft.NFft, hop = stft.HopLengthOrDefault, bins = stft.FreqBins;
        var padded = Stft.PadSignal(samples, stft, static n => new double[n], static v => v); // [padded]
        if (padded.Length < nFft)
            throw new ArgumentException($"signal of {samples.Length} samples is shorter than n_fft = {nFft} (center = {stft.Center}): no frame fits");
        int frames = 1 + (padded.Length - nFft) / hop;
        int used = (frames - 1) * hop + nFft; // samples the frames read
        using var signal = Tensor.FromArray(ToFloat(padded.AsSpan(0, used)), new Shape(used), backend); // [used]
        using var window = Tensor.FromArray(ToFloat(Stft.PaddedWindow(stft)), new Shape(nFft), backend); // [n_fft]
        var y = Tensor.Empty(new Shape(bins, frames), DType.Float32, backend); // [bins, frames]
        try
        {
            backend.SpectrogramForward(signal.Storage, window.Storage, y.Storage, nFft, hop, frames, bins, (float)stft.Power);
        }
        catch
        {
            y.Dispose();
            throw;
        }
        return y;
    }

    /// <summary>
    /// torchaudio.transforms.MelSpectrogram on <paramref name="backend"/>: the spectrogram, then
    /// <c>mel [n_mels, frames] = fbᵀ [n_mels, n_freqs] · spec [n_freqs, frames]</c> as one GEMM.
    /// </summary>
    public static Tensor MelSpectrogram(Backend backend, ReadOnlySpan<float> samples, StftSettings stft, MelSettings mel)
    {
        ArgumentNullException.ThrowIfNull(mel);
        var fb = MelFilterbank.Create(stft.FreqBins, mel); // [n_freqs, n_mels], validates the settings
        using var spec = Spectrogram(backend, samples, stft); // [n_freqs, frames]
        int nFreqs = fb.Rows, nMels = fb.Columns, frames = spec.Shape[1];
        using var filters = Tensor.FromArray(ToFloat(fb.Values), new Shape(nFreqs, nMels), backend); // [n_freqs, n_mels]
        var y = Tensor.Empty(new Shape(nMels, frames), DType.Float32, backend); // [n_mels, frames]
        backend.Gemm(transA: true, transB: false, batch: 1, m: nMels, n: frames, k: nFreqs,
            alpha: 1f, filters.Storage, 0, spec.Storage, 0, beta: 0f, y.Storage, 0);
        return y;
    }

    /// <summary>
    /// torchaudio.transforms.MFCC on <paramref name="backend"/> (see <see cref="Cepstrum.Mfcc"/> for
    /// the settings): the mel spectrogram; amplitude_to_DB(10, amin 1e-10, ref 1, top_db) over the
    /// whole matrix, or log(mel + 1e-6) when <paramref name="logMels"/>; then
    /// <c>[n_mfcc, frames] = dctᵀ [n_mfcc, n_mels] · [n_mels, frames]</c> as one GEMM.
    /// </summary>
    public static Tensor Mfcc(Backend backend, ReadOnlySpan<float> samples, StftSettings stft, MelSettings mel, int nMfcc,
        double? topDb = 80.0, bool logMels = false, bool orthoDct = true)
    {
        ArgumentNullException.ThrowIfNull(mel);
        if (nMfcc > mel.NMels) throw new ArgumentException($"n_mfcc ({nMfcc}) cannot exceed n_mels ({mel.NMels})");
        if (topDb is { } t && !(t >= 0)) throw new ArgumentException($"top_db must be >= 0, got {t}");
        var dct = Cepstrum.CreateDct(nMfcc, mel.NMels, orthoDct); // [n_mels, n_mfcc]
        using var melSpec = MelSpectrogram(backend, samples, stft, mel); // [n_mels, frames]
        int nMels = melSpec.Shape[0], frames = melSpec.Shape[1], n = melSpec.Size;
        if (logMels)
        {
            backend.Unary(UnaryOp.AddScalar, melSpec.Storage, melSpec.Storage, n, 1e-6f);
            backend.Unary(UnaryOp.Log, melSpec.Storage, melSpec.Storage, n, 0f);
        }
        else
        {
            const double amin = 1e-10, reference = 1.0;
            float dbMultiplier = (float)Math.Log10(Math.Max(amin, reference));
            backend.AmplitudeToDb(melSpec.Storage, melSpec.Storage, n, 10f, (float)amin, dbMultiplier, topDb is { } top ? (float)top : -1f);
        }
        using var basis = Tensor.FromArray(ToFloat(dct.Values), new Shape(nMels, nMfcc), backend); // [n_mels, n_mfcc]
        var y = Tensor.Empty(new Shape(nMfcc, frames), DType.Float32, backend); // [n_mfcc, frames]
        backend.Gemm(transA: true, transB: false, batch: 1, m: nMfcc, n: frames, k: nMels,
            alpha: 1f, basis.Storage, 0, melSpec.Storage, 0, beta: 0f, y.Storage, 0);
        return y;
    }

    /// <summary>Rounds doubles to float32.</summary>
    private static float[] ToFloat(ReadOnlySpan<double> v)
    {
        var f = new float[v.Length];
        for (int i = 0; i < f.Length; i++) f[i] = (float)v[i];
        return f;
    }
}
