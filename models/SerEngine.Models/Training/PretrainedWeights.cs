using SerEngine.IO;

namespace SerEngine.Models.Training;

/// <summary>
/// Starts an AttentionFcn from ImageNet weights (MODELS.md, A): the <c>features.*</c> tensors of a
/// safetensors file with torchvision's AlexNet names are copied in; for one input channel,
/// <c>features.0.weight [w0, 3, 11, 11]</c> is summed over its three input channels.
/// </summary>
public static class PretrainedWeights
{
    /// <summary>Loads the encoder weights of <paramref name="path"/> into <paramref name="model"/>.</summary>
    public static void Load(SerModel model, string path)
    {
        if (model is not FcnModel) throw new ArgumentException("--pretrained applies to fcn (AttentionFcn) only");
        if (!File.Exists(path)) throw new CheckpointException($"pretrained weights '{path}' do not exist");
        SafeTensorsFile file;
        try { file = SafeTensors.Read(path); }
        catch (SafeTensorsFormatException ex) { throw new CheckpointException($"pretrained weights: {ex.Message}"); }
        var own = model.Network.StateDict().Where(kv => kv.Key.StartsWith("features.", StringComparison.Ordinal)).ToList();
        foreach (var (name, t) in own)
        {
            if (!file.Tensors.TryGetValue(name, out var src) || src.Floats is null)
                throw new CheckpointException($"pretrained weights {path} lack Float32 '{name}' (torchvision AlexNet names expected)");
            var values = src.Floats;
            if (src.Shape != t.Shape)
            {
                bool sumChannels = name == "features.0.weight" && src.Shape.Rank == 4 && t.Shape.Rank == 4 && t.Shape[1] == 1
                    && src.Shape[0] == t.Shape[0] && src.Shape[2] == t.Shape[2] && src.Shape[3] == t.Shape[3];
                if (!sumChannels) throw new CheckpointException($"pretrained '{name}' has shape {src.Shape}, the model expects {t.Shape} (use the default widths)");
                int k = src.Shape[0], c = src.Shape[1], hw = src.Shape[2] * src.Shape[3];
                values = new float[k * hw]; // [K, 1, 11, 11] = Σ_c [K, c, 11, 11]
                for (int o = 0; o < k; o++)
                    for (int ci = 0; ci < c; ci++)
                        for (int p = 0; p < hw; p++) values[o * hw + p] += src.Floats[(o * c + ci) * hw + p];
            }
            t.CopyFrom(values);
        }
    }
}
