using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using SerEngine.Audio;
using SerEngine.IO;

namespace SerEngine.Models.Data;

/// <summary>What a model's front end computes for one utterance.</summary>
/// <param name="Settings">The feature map.</param>
/// <param name="PadToSamples">Audio shorter than this is zero-padded first (FocusCalibrationNet's 2 s segments); 0 for none.</param>
public sealed record FeatureSpec(FeatureSettings Settings, int PadToSamples = 0)
{
    /// <summary>A string that identifies the spec (the cache key's second half).</summary>
    public string Key => FeatureSettingsJson.Serialize(Settings) + "|pad=" + PadToSamples.ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Computes the features of <paramref name="samples"/> (already at the spec's rate).</summary>
    public FeatureMatrix Compute(float[] samples)
    {
        if (samples.Length >= PadToSamples) return AudioFeatures.Compute(samples, Settings);
        // zero-padded in a pooled buffer: a fresh large array per short clip cost page faults
        var padded = System.Buffers.ArrayPool<float>.Shared.Rent(PadToSamples); // [PadToSamples] used
        try
        {
            samples.CopyTo(padded, 0);
            Array.Clear(padded, samples.Length, PadToSamples - samples.Length);
            return AudioFeatures.Compute(padded.AsSpan(0, PadToSamples), Settings);
        }
        finally
        {
            System.Buffers.ArrayPool<float>.Shared.Return(padded);
        }
    }
}

/// <summary>
/// Features by utterance and spec, so each is computed once per process (epochs after the first,
/// and later folds, reuse them). Optionally kept on disk in one safetensors file per spec inside a
/// folder, keyed by file path, size and modification time.
/// </summary>
public sealed class FeatureCache
{
    private readonly ConcurrentDictionary<string, FeatureMatrix> _memory = new(StringComparer.Ordinal);
    private readonly HashSet<string> _diskLoaded = new(StringComparer.Ordinal);
    private int _computed;

    /// <summary>A cache; with <paramref name="diskFolder"/>, features also persist there between runs.</summary>
    public FeatureCache(string? diskFolder = null) => DiskFolder = diskFolder;

    /// <summary>The shared in-memory cache of this process.</summary>
    public static FeatureCache Shared { get; } = new();

    /// <summary>Where features persist (null: memory only).</summary>
    public string? DiskFolder { get; }

    /// <summary>How many feature maps this cache computed (the rest came from memory or disk).</summary>
    public int Computed => _computed;

    /// <summary>
    /// Features of every utterance, in order: cached ones are reused, the others computed in parallel
    /// (each independently, so the result does not depend on scheduling). <paramref name="progress"/>
    /// gets (done, total) now and then. Errors name the file.
    /// </summary>
    public FeatureMatrix[] GetAll(IReadOnlyList<Utterance> utterances, FeatureSpec spec, Action<int, int>? progress = null)
    {
        string specKey = spec.Key;
        LoadDisk(specKey);
        var result = new FeatureMatrix[utterances.Count];
        var keys = new string[utterances.Count];
        var missing = new List<int>();
        for (int i = 0; i < utterances.Count; i++)
        {
            keys[i] = utterances[i].CacheKey() + "|" + specKey;
            if (_memory.TryGetValue(keys[i], out var m)) result[i] = m;
            else missing.Add(i);
        }
        if (missing.Count == 0) return result;
        int done = 0, reportEvery = Math.Max(1, missing.Count / 10);
        Exception? failure = null;
        Parallel.For(0, missing.Count, (j, state) =>
        {
            int i = missing[j];
            try
            {
                var u = utterances[i];
                result[i] = spec.Compute(u.LoadSamples(spec.Settings.SampleRate));
            }
            catch (Exception ex) when (ex is ArgumentException or FormatException or IOException or UnauthorizedAccessException)
            {
                var u = utterances[i];
                string message = ex.Message.Contains(u.DisplayName, StringComparison.Ordinal) ? ex.Message : $"{u.DisplayName}: {ex.Message}";
                Interlocked.CompareExchange(ref failure, new DatasetException(message), null);
                state.Stop();
                return;
            }
            _memory[keys[i]] = result[i];
            Interlocked.Increment(ref _computed);
            int d = Interlocked.Increment(ref done);
            if (progress is not null && (d % reportEvery == 0 || d == missing.Count))
                lock (_memory) progress(d, missing.Count);
        });
        if (failure is not null) throw failure;
        SaveDisk(specKey);
        return result;
    }

    private string? DiskPath(string specKey) =>
        DiskFolder is null ? null : Path.Combine(DiskFolder, $"features-{Hash(specKey)[..16]}.safetensors");

    private void LoadDisk(string specKey)
    {
        var path = DiskPath(specKey);
        if (path is null || !_diskLoaded.Add(specKey) || !File.Exists(path)) return;
        var file = SafeTensors.Read(path);
        if (!file.Metadata.TryGetValue("spec", out var stored) || stored != specKey) return; // another spec with the same hash prefix
        foreach (var (name, tensor) in file.Tensors)
        {
            if (!file.Metadata.TryGetValue(name, out var key) || tensor.Floats is null || tensor.Shape.Rank != 2) continue;
            _memory.TryAdd(key, new FeatureMatrix(tensor.Floats, tensor.Shape[0], tensor.Shape[1]));
        }
    }

    private void SaveDisk(string specKey)
    {
        var path = DiskPath(specKey);
        if (path is null) return;
        Directory.CreateDirectory(DiskFolder!);
        var tensors = new List<KeyValuePair<string, HostTensor>>();
        var metadata = new Dictionary<string, string> { ["spec"] = specKey };
        foreach (var (key, m) in _memory.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            if (!key.EndsWith("|" + specKey, StringComparison.Ordinal)) continue;
            string name = "f" + Hash(key)[..24];
            tensors.Add(new(name, m.ToHostTensor()));
            metadata[name] = key;
        }
        SafeTensors.Write(path, tensors, metadata);
    }

    private static string Hash(string s) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(s)));
}
