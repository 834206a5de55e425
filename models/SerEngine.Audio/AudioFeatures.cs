namespace SerEngine.Audio;

/// <summary>
/// The models' front end: feature maps <c>[bins, frames]</c> in float32 from mono samples,
/// computed in double precision.
/// </summary>
public static class AudioFeatures
{
    /// <summary>Paper A's log spectrogram (<see cref="FeatureSettings.PaperA"/> unless given): <c>[200, frames]</c>.</summary>
    public static FeatureMatrix LogSpectrogram(ReadOnlySpan<float> samples, FeatureSettings? settings = null) =>
        Compute(samples, (settings ?? FeatureSettings.PaperA) with { Kind = FeatureKind.LogSpectrogram });

    /// <summary>Log-mel spectrogram (<see cref="FeatureSettings.PaperALogMel"/> unless given): <c>[n_mels, frames]</c>.</summary>
    public static FeatureMatrix LogMel(ReadOnlySpan<float> samples, FeatureSettings? settings = null) =>
        Compute(samples, (settings ?? FeatureSettings.PaperALogMel) with { Kind = FeatureKind.LogMel });

    /// <summary>MFCCs (<see cref="FeatureSettings.PaperB"/> unless given): <c>[n_mfcc, frames]</c>.</summary>
    public static FeatureMatrix Mfcc(ReadOnlySpan<float> samples, FeatureSettings? settings = null) =>
        Compute(samples, (settings ?? FeatureSettings.PaperB) with { Kind = FeatureKind.Mfcc });

    /// <summary>
    /// The feature map <paramref name="settings"/> describe, for <paramref name="samples"/> at
    /// <see cref="FeatureSettings.SampleRate"/>. A signal too short for one frame is refused with an
    /// <see cref="ArgumentException"/> naming the minimum length.
    /// </summary>
    public static FeatureMatrix Compute(ReadOnlySpan<float> samples, FeatureSettings settings)
    {
        var stft = settings.Stft;
        stft.Validate();
        if (samples.Length < settings.MinSamples)
            throw new ArgumentException(
                $"{samples.Length} samples ({samples.Length / (double)settings.SampleRate:0.###} s) give no {settings.Kind} frame; at least {settings.MinSamples} are needed");
        var mel = settings.Mel with { SampleRate = settings.SampleRate };
        DoubleMatrix m;
        switch (settings.Kind)
        {
            case FeatureKind.LogSpectrogram:
            {
                var spec = Stft.Compute(samples, stft); // [n_fft/2+1, frames]
                int bins = settings.Bins, frames = spec.Columns;
                var v = new double[bins * frames]; // [bins, frames]
                for (int i = 0; i < v.Length; i++) v[i] = Math.Log(1.0 + spec.Values[i]); // lowest rows are first
                m = new DoubleMatrix(v, bins, frames);
                break;
            }
            case FeatureKind.LogMel:
            {
                var melSpec = Cepstrum.MelSpectrogram(samples, stft, mel);
                m = new DoubleMatrix(melSpec.Values.Select(x => Math.Log(1.0 + x)).ToArray(), melSpec.Rows, melSpec.Columns);
                break;
            }
            case FeatureKind.Mfcc:
                m = Cepstrum.Mfcc(samples, stft, mel, settings.NMfcc, settings.TopDb);
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(settings), settings.Kind, "unknown feature kind");
        }
        if (settings.Normalization != FeatureNormalization.None)
            m = Cepstrum.MeanVarianceNormalize(m, perRow: settings.Normalization == FeatureNormalization.PerBin);
        return m.ToFeatureMatrix();
    }

    /// <summary>Features of a decoded WAV file, resampled to <see cref="FeatureSettings.SampleRate"/> first when needed.</summary>
    public static FeatureMatrix Compute(WavAudio wav, FeatureSettings settings) =>
        Compute(PrepareSamples(wav, settings.SampleRate), settings);

    /// <summary>
    /// Reads a WAV file and computes its features (see <see cref="Compute(WavAudio, FeatureSettings)"/>);
    /// audio too short (or too long) for the features is refused with an <see cref="ArgumentException"/> naming the file.
    /// </summary>
    public static FeatureMatrix FromFile(string path, FeatureSettings settings)
    {
        var wav = WavReader.Read(path);
        try
        {
            return Compute(wav, settings);
        }
        catch (ArgumentException ex) when (ex.ParamName is null)
        {
            throw new ArgumentException($"{path}: {ex.Message}", ex); // the length problems above name no file
        }
    }

    /// <summary>The file's mono samples at <paramref name="sampleRate"/> (resampled when the file's rate differs).</summary>
    public static float[] PrepareSamples(WavAudio wav, int sampleRate) =>
        wav.SampleRate == sampleRate ? wav.Samples : Resampler.Resample(wav.Samples, wav.SampleRate, sampleRate);

    /// <summary>Deltas along frames (torchaudio compute_deltas, replicate padding), in double then float32.</summary>
    public static FeatureMatrix Deltas(FeatureMatrix x, int winLength = 5)
    {
        return Cepstrum.Deltas(x.ToDoubleMatrix(), winLength).ToFeatureMatrix();
    }
}
