using System.Globalization;
using SerEngine.IO;
using SerEngine.IO.Torch;

namespace SerEngine.Models.Training;

/// <summary>
/// Starts an AttentionFcn from ImageNet weights (MODELS.md, A): the <c>features.*</c> tensors of a
/// file with torchvision's AlexNet names are copied in (<c>classifier.*</c> and anything else is
/// ignored); for one input channel, <c>features.0.weight [w0, 3, 11, 11]</c> is summed over its
/// three input channels. The file may be a PyTorch checkpoint (<c>torch.save</c> of a state dict,
/// .pth/.pt, zip or legacy format, read without Python by <see cref="TorchCheckpoint"/>) or
/// safetensors; the kind is recognised by content, not by extension. A state dict saved from
/// <c>nn.DataParallel</c> (every name prefixed <c>module.</c>) is accepted too.
/// </summary>
public static class PretrainedWeights
{
    /// <summary>The <c>features.N</c> indices of the encoder's five convolutions (torchvision AlexNet's).</summary>
    public static IReadOnlyList<string> ConvIndices { get; } = ["0", "3", "6", "8", "10"];

    /// <summary>Kernel sizes of the five convolutions, in the order of <see cref="ConvIndices"/>.</summary>
    private static readonly int[] KernelSizes = [11, 5, 3, 3, 3];

    /// <summary>
    /// What <see cref="Read"/> accepts before it copies a tensor: the <c>features.*</c> tensors it loads
    /// must have AlexNet's rank and kernel sizes (<c>[*, *, k, k]</c> weights, <c>[*]</c> biases; the
    /// widths are checked against the model later), and no tensor may exceed the hard element cap.
    /// </summary>
    public static TensorLimits Limits { get; } = new() { ExpectedShape = ExpectedShape };

    /// <summary>The shape a loaded tensor must have (-1: any width), or null for a name that is not loaded.</summary>
    private static int[]? ExpectedShape(string name)
    {
        if (name.StartsWith("module.", StringComparison.Ordinal)) name = name["module.".Length..]; // nn.DataParallel names
        for (int i = 0; i < ConvIndices.Count; i++)
        {
            if (name == $"features.{ConvIndices[i]}.weight") return [-1, -1, KernelSizes[i], KernelSizes[i]];
            if (name == $"features.{ConvIndices[i]}.bias") return [-1];
        }
        return null;
    }

    /// <summary>Loads the encoder weights of <paramref name="weights"/> (read once by <see cref="Read"/>) into <paramref name="model"/>; returns what <see cref="LoadInto(AttentionFcn, PretrainedFile)"/> returns.</summary>
    public static string Load(SerModel model, PretrainedFile weights)
    {
        if (model is not FcnModel fcn) throw new ArgumentException("--pretrained applies to fcn (AttentionFcn) only");
        return LoadInto(fcn.Net, weights);
    }

    /// <summary>Reads <paramref name="path"/> and loads its encoder weights into <paramref name="net"/>.</summary>
    public static string LoadInto(AttentionFcn net, string path) => LoadInto(net, Read(path));

    /// <summary>
    /// Loads the encoder weights of <paramref name="weights"/> into <paramref name="net"/>; returns a
    /// one-line summary (file kind, tensors loaded, channel summing, tensors ignored).
    /// </summary>
    public static string LoadInto(AttentionFcn net, PretrainedFile weights)
    {
        ArgumentNullException.ThrowIfNull(weights);
        var (path, file, kind) = (weights.Path, weights.Tensors, weights.Kind);
        bool summed = false;
        var own = net.StateDict().Where(kv => kv.Key.StartsWith("features.", StringComparison.Ordinal)).ToList();
        if (!file.Keys.Any(k => k.StartsWith("features.", StringComparison.Ordinal)))
            throw new CheckpointException($"pretrained weights {path} have no features.* tensors (found {Names(file.Keys)}; torchvision AlexNet names expected)");
        foreach (var (name, t) in own)
        {
            if (!file.TryGetValue(name, out var src))
                throw new CheckpointException($"pretrained weights {path} lack '{name}' (torchvision AlexNet names expected; the file has {Names(file.Keys.Where(k => k.StartsWith("features.", StringComparison.Ordinal)))})");
            if (src.Floats is null)
                throw new CheckpointException($"pretrained '{name}' in {path} is an integer tensor, expected floating point");
            var values = src.Floats;
            if (src.Shape != t.Shape)
            {
                bool sumChannels = name == "features.0.weight" && src.Shape.Rank == 4 && t.Shape.Rank == 4 && t.Shape[1] == 1
                    && src.Shape[0] == t.Shape[0] && src.Shape[2] == t.Shape[2] && src.Shape[3] == t.Shape[3];
                if (!sumChannels)
                    throw new CheckpointException($"pretrained '{name}' has shape {src.Shape}, the model expects {t.Shape}{WidthsHint(file, net)}");
                values = SumInputChannels(src);
                summed = true;
            }
            t.CopyFrom(values);
        }
        return string.Create(CultureInfo.InvariantCulture,
            $"{path} ({kind}): {own.Count} features.* tensors loaded{(summed ? ", features.0.weight summed over its input channels" : "")}, {file.Count - own.Count} others ignored");
    }

    /// <summary>[K, 1, kh, kw] = Σ_c w[K, c, kh, kw]: the first convolution for a one-channel input.</summary>
    public static float[] SumInputChannels(HostTensor w)
    {
        int k = w.Shape[0], c = w.Shape[1], hw = w.Shape[2] * w.Shape[3];
        var src = w.Floats ?? throw new ArgumentException("integer tensor");
        var values = new float[k * hw]; // [K, 1, kh, kw]
        for (int o = 0; o < k; o++)
            for (int ci = 0; ci < c; ci++)
                for (int p = 0; p < hw; p++) values[o * hw + p] += src[(o * c + ci) * hw + p];
        return values;
    }

    /// <summary>
    /// The tensors of a weights file: a PyTorch checkpoint when it starts like one (zip or pickle),
    /// else safetensors. Malformed files become one-line <see cref="CheckpointException"/>s.
    /// </summary>
    public static IReadOnlyDictionary<string, HostTensor> ReadTensors(string path) => Read(path).Tensors;

    /// <summary>Reads a weights file once (see <see cref="ReadTensors"/>), for loading into several models.</summary>
    public static PretrainedFile Read(string path)
    {
        if (!File.Exists(path)) throw new CheckpointException($"pretrained weights '{path}' do not exist");
        var head = new byte[TorchCheckpoint.SniffLength];
        int n;
        using (var fs = File.OpenRead(path)) n = fs.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
        IReadOnlyDictionary<string, HostTensor> tensors;
        string kind;
        try
        {
            if (TorchCheckpoint.IsTorchCheckpoint(head.AsSpan(0, n)))
            {
                var ckpt = TorchCheckpoint.Read(path, Limits);
                (tensors, kind) = (ckpt.Tensors, $"PyTorch {ckpt.Format} state dict{(ckpt.Key.Length > 0 ? $" under '{ckpt.Key}'" : "")}");
            }
            else
            {
                (tensors, kind) = (SafeTensors.Read(path, Limits).Tensors, "safetensors");
            }
        }
        catch (Exception ex) when (ex is TorchCheckpointFormatException or SafeTensorsFormatException)
        {
            throw new CheckpointException($"pretrained weights: {ex.Message}");
        }
        if (tensors.Count > 0 && tensors.Keys.All(k => k.StartsWith("module.", StringComparison.Ordinal)))
            return new PretrainedFile(path, kind + ", 'module.' prefix dropped", tensors.ToDictionary(kv => kv.Key["module.".Length..], kv => kv.Value, StringComparer.Ordinal));
        return new PretrainedFile(path, kind, tensors);
    }

    private static string Names(IEnumerable<string> names)
    {
        var list = names.ToList();
        if (list.Count == 0) return "none";
        return string.Join(", ", list.Take(6).Select(s => $"'{s}'")) + (list.Count > 6 ? $", ... ({list.Count} in all)" : "");
    }

    /// <summary>" (the file's widths are ...; pass --widths ...)" when all five conv weights are in the file.</summary>
    private static string WidthsHint(IReadOnlyDictionary<string, HostTensor> file, AttentionFcn net)
    {
        var widths = new List<int>();
        foreach (var i in ConvIndices)
        {
            if (!file.TryGetValue($"features.{i}.weight", out var w) || w.Shape.Rank != 4) return "";
            widths.Add(w.Shape[0]);
        }
        return string.Create(CultureInfo.InvariantCulture,
            $" (the file's encoder widths are {string.Join(",", widths)}, the model's {string.Join(",", net.Config.Widths)}; pass --widths {string.Join(",", widths)})");
    }
}

/// <summary>A pretrained weights file as read by <see cref="PretrainedWeights.Read"/>.</summary>
/// <param name="Path">The file.</param>
/// <param name="Kind">What it was read as (PyTorch zip/legacy state dict, safetensors).</param>
/// <param name="Tensors">Its tensors by name.</param>
public sealed record PretrainedFile(string Path, string Kind, IReadOnlyDictionary<string, HostTensor> Tensors);
