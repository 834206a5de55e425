using SerEngine.IO;

namespace SerEngine.Models.Training;

/// <summary>
/// <c>ser train --init FILE</c>: every weight of the model from a safetensors file under the model's
/// own names (MODELS.md; PyTorch's state_dict names), so two engines can start from the same point.
/// A <c>ser train --dump-step</c> file also works: its <c>w0.*</c> tensors are the weights before the step.
/// </summary>
public static class InitialWeights
{
    /// <summary>Loads <paramref name="path"/> into <paramref name="model"/>; every parameter and buffer must be there with its shape.</summary>
    public static void Load(SerModel model, string path)
    {
        if (!File.Exists(path)) throw new CheckpointException($"--init {path}: no such file");
        SafeTensorsFile file;
        try { file = SafeTensors.Read(path); }
        catch (FormatException ex) { throw new CheckpointException($"--init {path}: {ex.Message}"); }
        var state = file.Tensors;
        if (state.Keys.Any(k => k.StartsWith("w0.", StringComparison.Ordinal)))
            state = state.Where(kv => kv.Key.StartsWith("w0.", StringComparison.Ordinal)).ToDictionary(kv => kv.Key[3..], kv => kv.Value);
        CheckpointChecks.Finite(state, $"--init {path}", "");
        try { model.Network.LoadStateDict(state); }
        catch (ArgumentException ex) { throw new CheckpointException($"--init {path}: {ex.Message} ({model.Description})"); }
    }
}
