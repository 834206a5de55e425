using SerEngine.Audio;

namespace SerEngine.Models.Data;

/// <summary>
/// One labelled recording of a data set: a WAV file on disk, or audio a generator makes on demand
/// (the built-in corpus).
/// </summary>
/// <param name="Id">A name unique in its data set (the path relative to the data folder, or the generator's name).</param>
/// <param name="Label">The emotion label (already mapped to the data set's label names).</param>
/// <param name="Speaker">Who speaks.</param>
/// <param name="Group">What speaker-independent folds split on: the speaker, or the session for IEMOCAP.</param>
/// <param name="Path">The WAV file, or null for generated audio.</param>
/// <param name="Generate">Makes the samples at a sample rate (generated audio only).</param>
/// <param name="SourceKey">Identifies generated audio for the feature cache (everything its samples depend on).</param>
public sealed record Utterance(string Id, string Label, string Speaker, string Group, string? Path, Func<int, float[]>? Generate = null, string? SourceKey = null)
{
    /// <summary>Mono samples at <paramref name="sampleRate"/> (WAV files are read and resampled when needed).</summary>
    public float[] LoadSamples(int sampleRate)
    {
        if (Generate is not null) return Generate(sampleRate);
        if (Path is null) throw new InvalidOperationException($"utterance '{Id}' has neither a file nor a generator");
        return AudioFeatures.PrepareSamples(WavReader.Read(Path), sampleRate);
    }

    /// <summary>
    /// What identifies the audio for the feature cache: the generator's id, or the full path with the
    /// file's size and modification time (so an edited file is recomputed).
    /// </summary>
    public string CacheKey()
    {
        if (Path is null) return "gen:" + (SourceKey ?? Id);
        var info = new FileInfo(Path);
        return info.Exists
            ? $"file:{info.FullName}|{info.Length}|{info.LastWriteTimeUtc.Ticks}"
            : "file:" + System.IO.Path.GetFullPath(Path);
    }

    /// <summary>The path to show in messages (the file, or the id of generated audio).</summary>
    public string DisplayName => Path ?? Id;
}
