using System.Globalization;
using SerEngine.Audio;
using SerEngine.Backends;
using SerEngine.Models.Data;
using SerEngine.Models.Training;

namespace SerEngine.Models;

/// <summary>
/// Speech-emotion recognition for applications: load a checkpoint written by <c>ser train</c> once,
/// then call <see cref="Predict(float[], int)"/> with mono audio.
/// <code>
/// using var recognizer = EmotionRecognizer.Load("best.safetensors");
/// EmotionPrediction p = recognizer.Predict(samples, sampleRate: 44100);
/// Console.WriteLine($"{p.Label} {p.Confidence:P0}");
/// </code>
/// Thread safety: one instance may be shared by any number of threads; <c>Predict</c> calls run in
/// parallel without a lock (the network stays in evaluation mode and is only read; each call's
/// temporary tensors live in a scope of its own thread; the backend's buffer pool and kernel caches
/// are synchronised). Results do not depend on what other threads do: the same input gives the same
/// probabilities, bit for bit. Only <see cref="Dispose"/> must not overlap a call.
/// </summary>
public sealed class EmotionRecognizer : IDisposable
{
    private readonly SerModel _model;
    private volatile bool _disposed;

    private EmotionRecognizer(SerModel model)
    {
        _model = model;
        model.Network.Eval();
    }

    /// <summary>
    /// Loads a checkpoint (<c>ser train</c>'s <c>foldI/best.safetensors</c>) onto a backend
    /// (<c>cpu</c>, <c>cpu-reference</c>, <c>opencl</c>, <c>cuda</c>; see <c>ser devices</c>).
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="checkpointPath"/> or <paramref name="backend"/> is null.</exception>
    /// <exception cref="CheckpointException">The file is missing, is not a SerEngine model checkpoint, or is damaged or implausible: non-finite weights, a config, front end or labels out of range (the message names the file and the field).</exception>
    /// <exception cref="ArgumentException">The backend name is unknown (the message lists the known ones).</exception>
    /// <exception cref="BackendUnavailableException">The backend exists but has no device here.</exception>
    public static EmotionRecognizer Load(string checkpointPath, string backend = "cpu")
    {
        ArgumentNullException.ThrowIfNull(checkpointPath);
        ArgumentNullException.ThrowIfNull(backend);
        var checkpoint = Checkpoint.Load(checkpointPath);
        return new EmotionRecognizer(checkpoint.CreateModel(BackendRegistry.Get(backend)));
    }

    /// <summary>
    /// Loads a checkpoint onto a backend instance, e.g. <c>new CpuBackend(threads: 1)</c> so that each
    /// call uses one core when many threads predict at once.
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="checkpointPath"/> or <paramref name="backend"/> is null.</exception>
    /// <exception cref="CheckpointException">The file is missing, is not a SerEngine model checkpoint, or is damaged or implausible (the message names the file and the field).</exception>
    public static EmotionRecognizer Load(string checkpointPath, Backend backend)
    {
        ArgumentNullException.ThrowIfNull(checkpointPath);
        ArgumentNullException.ThrowIfNull(backend);
        return new EmotionRecognizer(Checkpoint.Load(checkpointPath).CreateModel(backend));
    }

    /// <summary>Class names, in the order of <see cref="EmotionPrediction.Probabilities"/>.</summary>
    public IReadOnlyList<string> Labels => _model.Labels;

    /// <summary>The sample rate the model's front end works at (other rates are resampled to it).</summary>
    public int SampleRate => _model.Features.Settings.SampleRate;

    /// <summary><c>fcn</c> (AttentionFcn) or <c>fca</c> (FocusCalibrationNet).</summary>
    public string ModelKind => _model.Kind;

    /// <summary>One line: the architecture and its size.</summary>
    public string Description => _model.Description;

    /// <summary>The backend the network runs on.</summary>
    public string BackendName => _model.Backend.Name;

    /// <summary>
    /// The emotion in <paramref name="samples"/>: mono audio, nominally in [-1, 1], at
    /// <paramref name="sampleRate"/> Hz (resampled to <see cref="SampleRate"/> as the front end does
    /// for WAV files). The array is not modified.
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="samples"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="sampleRate"/> is outside <see cref="SampleRates.Min"/>..<see cref="SampleRates.Max"/> Hz (what the WAV reader accepts).</exception>
    /// <exception cref="ArgumentException">No samples, a sample that is NaN or infinite, or audio too short for the model (the message gives the minimum).</exception>
    /// <exception cref="NonFiniteOutputException">The model's output for this audio is NaN or infinite.</exception>
    /// <exception cref="ObjectDisposedException">The recognizer was disposed.</exception>
    public EmotionPrediction Predict(float[] samples, int sampleRate)
    {
        ArgumentNullException.ThrowIfNull(samples);
        SampleRates.ThrowIfUnsupported(sampleRate, nameof(sampleRate)); // a 1 Hz rate would resample to gigabytes
        if (samples.Length == 0) throw new ArgumentException("no samples: the audio is empty", nameof(samples));
        int bad = Array.FindIndex(samples, v => !float.IsFinite(v));
        if (bad >= 0) throw new ArgumentException($"sample {bad} is {samples[bad]}: audio must be finite", nameof(samples));
        ObjectDisposedException.ThrowIf(_disposed, this);
        var audio = sampleRate == SampleRate ? samples : Resampler.Resample(samples, sampleRate, SampleRate);
        return Run(audio, "samples");
    }

    /// <summary>The emotion in a WAV file (PCM or float; channels are mixed down, the rate resampled).</summary>
    /// <exception cref="ArgumentNullException"><paramref name="wavPath"/> is null.</exception>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="AudioFormatException">The file is not a WAV file this reader understands.</exception>
    /// <exception cref="ArgumentException">The audio is too short for the model.</exception>
    /// <exception cref="NonFiniteOutputException">The model's output for this audio is NaN or infinite (the message names the file).</exception>
    /// <exception cref="ObjectDisposedException">The recognizer was disposed.</exception>
    public EmotionPrediction Predict(string wavPath)
    {
        ArgumentNullException.ThrowIfNull(wavPath);
        if (!File.Exists(wavPath)) throw new FileNotFoundException($"{wavPath} does not exist", wavPath);
        ObjectDisposedException.ThrowIf(_disposed, this);
        return Run(AudioFeatures.PrepareSamples(WavReader.Read(wavPath), SampleRate), wavPath);
    }

    /// <summary>Releases the network's weights (device memory on GPU backends). Calls after this throw.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        foreach (var t in _model.Network.StateDict().Values) t.Dispose();
        if (_model.Network is FocusCalibrationNet fca) fca.ReleaseFusedWeights();
        if (_model.Network is AttentionFcn fcn) fcn.ReleaseFusedWeights();
    }

    private EmotionPrediction Run(float[] audio, string name)
    {
        var spec = _model.Features; // fca pads short audio to one segment first, so any length works there
        int minimum = _model is FcnModel ? FcnModel.MinimumSamples(spec.Settings) : spec.PadToSamples > 0 ? 1 : spec.Settings.MinSamples;
        if (audio.Length < minimum)
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture,
                $"{audio.Length / (double)SampleRate:0.###} s of audio is too short for this {_model.Kind} model: it needs at least {minimum / (double)SampleRate:0.###} s"),
                name == "samples" ? "samples" : "wavPath");
        FeatureMatrix features;
        try
        {
            features = _model.Features.Compute(audio);
            _model.CheckInput(features, name);
        }
        catch (DatasetException ex)
        {
            throw new ArgumentException(ex.Message, name == "samples" ? "samples" : "wavPath", ex);
        }
        var probabilities = SerModel.Softmax(_model.PredictLogits([features], [name]))[0];
        return new EmotionPrediction(_model.Labels, probabilities);
    }
}
