using System.Globalization;
using SerEngine.Audio;
using SerEngine.Backends;
using SerEngine.IO;
using SerEngine.Models.Data;
using SerEngine.Optim;

namespace SerEngine.Models.Training;

/// <summary>A checkpoint the program refuses (not ours, another model, missing tensors, ...): a one-line message naming the file.</summary>
public sealed class CheckpointException(string message) : Exception(message);

/// <summary>
/// A model checkpoint as one safetensors file: the network's state dict under its PyTorch names,
/// optionally the optimizer state under <c>optimizer.state.{i}.{buffer}</c>, and metadata
/// <c>format</c>, <c>model</c> (fcn|fca), <c>config</c> (JSON), <c>labels</c> (JSON array),
/// <c>features</c> (front-end JSON), <c>pad_to_samples</c> and, in training checkpoints,
/// <c>training</c> (<see cref="TrainingState"/> JSON). Written atomically (temp file + rename).
/// </summary>
public sealed class Checkpoint
{
    /// <summary>The <c>format</c> metadata value.</summary>
    public const string FormatTag = "serengine-ser-checkpoint-1";

    private const string OptimizerPrefix = "optimizer.";

    private Checkpoint(string path, string kind, string configJson, IReadOnlyList<string> labels, FeatureSpec features,
        Dictionary<string, HostTensor> weights, Dictionary<string, HostTensor> optimizer, TrainingState? training)
    {
        Path = path;
        Kind = kind;
        ConfigJson = configJson;
        Labels = labels;
        Features = features;
        Weights = weights;
        OptimizerState = optimizer;
        Training = training;
    }

    /// <summary>The file.</summary>
    public string Path { get; }

    /// <summary><c>fcn</c> or <c>fca</c>.</summary>
    public string Kind { get; }

    /// <summary>The model's settings (JSON).</summary>
    public string ConfigJson { get; }

    /// <summary>Class names.</summary>
    public IReadOnlyList<string> Labels { get; }

    /// <summary>The front end.</summary>
    public FeatureSpec Features { get; }

    /// <summary>Network tensors by state-dict name.</summary>
    public IReadOnlyDictionary<string, HostTensor> Weights { get; }

    /// <summary>Optimizer tensors (<c>state.{i}.{buffer}</c>), empty in weights-only checkpoints.</summary>
    public IReadOnlyDictionary<string, HostTensor> OptimizerState { get; }

    /// <summary>Training progress (null in weights-only checkpoints).</summary>
    public TrainingState? Training { get; }

    /// <summary>The <c>held_out</c> metadata (<see cref="HeldOutSet"/> JSON: the fold's test speakers), or null.</summary>
    public string? HeldOutJson { get; private init; }

    /// <summary>Writes <paramref name="model"/> (and the optimizer and training state, and the held-out set, when given) to <paramref name="path"/>.</summary>
    public static void Save(string path, SerModel model, Optimizer? optimizer = null, TrainingState? training = null, string? heldOutJson = null) =>
        Prepare(path, model, optimizer, training, heldOutJson)();

    /// <summary>
    /// Copies what <see cref="Save"/> writes (tensors, metadata) now and returns the file write, which may run later
    /// on another thread (<see cref="CheckpointWriter"/>): the training may change the model meanwhile;
    /// <paramref name="buffers"/>, when given, supplies the snapshot's float arrays and gets them back once the file is written.
    /// </summary>
    internal static Action Prepare(string path, SerModel model, Optimizer? optimizer = null, TrainingState? training = null, string? heldOutJson = null,
        SnapshotBuffers? buffers = null)
    {
        var tensors = new List<KeyValuePair<string, HostTensor>>();
        Func<Tensor, HostTensor> copy = buffers is null ? HostTensor.FromTensor : buffers.Copy;
        foreach (var (name, t) in model.Network.StateDict()) tensors.Add(new(name, copy(t)));
        if (optimizer is not null)
        {
            using var scope = TensorScope.Begin();
            foreach (var (name, t) in optimizer.StateDict().OrderBy(kv => kv.Key, StringComparer.Ordinal))
                tensors.Add(new(OptimizerPrefix + name, copy(t)));
        }
        var metadata = new Dictionary<string, string>
        {
            ["format"] = FormatTag,
            ["model"] = model.Kind,
            ["config"] = model.ConfigJson(),
            ["labels"] = JsonUtil.Build(w =>
            {
                w.WriteStartArray();
                foreach (var l in model.Labels) w.WriteStringValue(l);
                w.WriteEndArray();
            }),
            ["features"] = FeatureSettingsJson.Serialize(model.Features.Settings),
            ["pad_to_samples"] = model.Features.PadToSamples.ToString(CultureInfo.InvariantCulture),
        };
        if (training is not null) metadata["training"] = training.ToJson();
        if (heldOutJson is not null) metadata["held_out"] = heldOutJson;
        var dir = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path));
        if (dir is not null) Directory.CreateDirectory(dir);
        if (buffers is null) return () => SafeTensors.Write(path, tensors, metadata);
        return () =>
        {
            try { SafeTensors.Write(path, tensors, metadata); }
            finally
            {
                foreach (var (_, t) in tensors)
                    if (t.Floats is { } f) buffers.Return(f);
            }
        };
    }

    /// <summary>
    /// Reads a checkpoint and checks everything in it before it is used: every metadata field's type
    /// and range (config, features, pad_to_samples, training), labels (printable, distinct, as many as
    /// the classifier's rows) and every tensor finite. Throws <see cref="CheckpointException"/>, naming
    /// the file and the field, label or tensor, for anything else.
    /// </summary>
    public static Checkpoint Load(string path)
    {
        if (!File.Exists(path)) throw new CheckpointException($"checkpoint '{path}' does not exist");
        SafeTensorsFile file;
        try { file = SafeTensors.Read(path); }
        catch (SafeTensorsFormatException ex) { throw new CheckpointException($"checkpoint {ex.Message}"); }
        var md = file.Metadata;
        if (!md.TryGetValue("format", out var format) || format != FormatTag || !md.TryGetValue("model", out var kind))
            throw new CheckpointException($"{path} is not a SerEngine model checkpoint (no '{FormatTag}' metadata)");
        if (kind is not ("fcn" or "fca")) throw new CheckpointException($"{path} is a checkpoint for an unknown model {PrintableText.Quote(kind)} (known: fcn, fca)");
        try
        {
            var labels = CheckpointChecks.Labels(Need(md, "labels", path), path);
            var settings = FeatureSettingsJson.Deserialize(Need(md, "features", path), path);
            int pad = PadToSamples(md, settings, path);
            var weights = new Dictionary<string, HostTensor>(StringComparer.Ordinal);
            var optimizer = new Dictionary<string, HostTensor>(StringComparer.Ordinal);
            foreach (var (name, t) in file.Tensors)
            {
                if (name.StartsWith(OptimizerPrefix, StringComparison.Ordinal)) optimizer[name[OptimizerPrefix.Length..]] = t;
                else weights[name] = t;
            }
            CheckpointChecks.LabelCount(weights, labels.Count, path);
            CheckpointChecks.Finite(weights, path, "");
            CheckpointChecks.Finite(optimizer, path, OptimizerPrefix);
            var training = md.TryGetValue("training", out var tj) ? TrainingState.FromJson(tj, path) : null;
            string config = Need(md, "config", path);
            if (kind == "fcn") FcnModel.ParseConfig(config, path); // types and ranges now; shapes when the model is built
            else FcaModel.ParseConfig(config, path);
            return new Checkpoint(path, kind, config, labels, new FeatureSpec(settings, pad), weights, optimizer, training)
            {
                HeldOutJson = md.GetValueOrDefault("held_out"),
            };
        }
        catch (FormatException ex) { throw new CheckpointException(ex.Message); } // the field readers' messages already name the file and field
    }

    /// <summary>The <c>pad_to_samples</c> metadata: 0 (absent) up to ten minutes of audio at the stored rate.</summary>
    private static int PadToSamples(IReadOnlyDictionary<string, string> md, FeatureSettings settings, string path)
    {
        if (!md.TryGetValue("pad_to_samples", out var text)) return 0;
        long max = 600L * settings.SampleRate;
        if (!long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out long pad) || pad > max)
            throw new CheckpointException(string.Create(CultureInfo.InvariantCulture,
                $"{path}: metadata 'pad_to_samples' must be an integer in 0..{max} (ten minutes at {settings.SampleRate} Hz), found {PrintableText.Quote(text)}"));
        return (int)pad;
    }

    /// <summary>
    /// Builds the network this checkpoint describes on <paramref name="backend"/> and loads its weights.
    /// The config is compared with the stored tensor shapes first, so nothing larger than the file is
    /// allocated, and parameters are not randomly initialised; <paramref name="rng"/> only draws dropout seeds.
    /// </summary>
    public SerModel CreateModel(Backend backend, Generator? rng = null)
    {
        rng ??= new Generator(0);
        SerModel model;
        try
        {
            // config checked against the stored shapes before anything is allocated; parameters start
            // as zeros (no random draws) since every one is overwritten by the stored weights
            if (Kind == "fcn")
            {
                var config = FcnModel.ParseConfig(ConfigJson, Path);
                CheckConfigMatches(config.NumClasses);
                FcnModel.CheckStoredShapes(config, Weights, Path);
                using (Nn.Init.SkipRandom()) model = new FcnModel(config, Labels, Features, rng, backend);
            }
            else
            {
                var (config, segments) = FcaModel.ParseConfig(ConfigJson, Path);
                CheckConfigMatches(config.NumClasses);
                FcaModel.CheckStoredShapes(config, Weights, Path);
                using (Nn.Init.SkipRandom()) model = new FcaModel(config, segments, Labels, Features, rng, backend);
            }
        }
        catch (FormatException ex) { throw new CheckpointException(ex.Message); }
        catch (ArgumentException ex) { throw new CheckpointException($"{Path}: the {Kind} config cannot be used: {ex.Message}"); }
        LoadWeightsInto(model);
        return model;
    }

    private void CheckConfigMatches(int classes)
    {
        if (classes != Labels.Count)
            throw new CheckpointException(string.Create(CultureInfo.InvariantCulture,
                $"{Path}: metadata 'config' field 'num_classes' is {classes}, but metadata 'labels' has {Labels.Count} labels"));
    }

    /// <summary>Copies the weights into <paramref name="model"/>; every tensor must be present with the right shape.</summary>
    public void LoadWeightsInto(SerModel model)
    {
        if (model.Kind != Kind) throw new CheckpointException($"checkpoint {Path} is for {Kind}, not {model.Kind}");
        try { model.Network.LoadStateDict(Weights, strict: true); }
        catch (ArgumentException ex) { throw new CheckpointException($"checkpoint {Path}: {ex.Message}"); }
    }

    /// <summary>Restores the optimizer state saved with the weights.</summary>
    public void LoadOptimizerInto(Optimizer optimizer)
    {
        var state = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        using var scope = TensorScope.Begin();
        foreach (var (name, t) in OptimizerState) state[name] = t.ToTensor(optimizer.Parameters.Count > 0 ? optimizer.Parameters[0].Backend : null);
        try { optimizer.LoadStateDict(state); }
        catch (ArgumentException ex) { throw new CheckpointException($"checkpoint {Path}: {ex.Message}"); }
    }

    private static string Need(IReadOnlyDictionary<string, string> md, string key, string path) =>
        md.TryGetValue(key, out var v) ? v : throw new CheckpointException($"{path}: checkpoint metadata lacks '{key}'");
}
