using System.Globalization;
using SerEngine.IO;
using SerEngine.Models.Data;
using SerEngine.Models.Reports;
using SerEngine.Optim;

namespace SerEngine.Models.Training;

/// <summary>
/// One training step written out for a tensor-by-tensor comparison with another engine
/// (<c>ser train --dump-step FILE</c>; benchmarks/peer/train_parity.py --check-step FILE). Tensors:
/// <c>w0.NAME</c> every parameter and buffer before the step, <c>x</c> [B, 1, F, T] the network input,
/// <c>valid</c> [B] its valid frames (fcn), <c>y</c> [B] class indices, <c>logits</c> [B, classes],
/// <c>loss</c> [1], <c>grad.NAME</c> each parameter's gradient (before clipping), <c>w1.NAME</c> every
/// parameter and buffer after the optimizer step. Metadata: the model, the batch (utterance ids and
/// segment starts) and every setting the step depends on.
/// </summary>
public sealed class StepDump
{
    private readonly Dictionary<string, HostTensor> _tensors = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _metadata = new(StringComparer.Ordinal);

    private StepDump() { }

    /// <summary>Starts the dump: the weights before the step and the batch.</summary>
    public static StepDump Before(SerModel model, Dataset data, IReadOnlyList<Example> batch, TrainOptions options, float lr, Optimizer optimizer)
    {
        var dump = new StepDump();
        dump.AddState("w0.", model);
        dump._metadata["model"] = model.Kind;
        dump._metadata["config"] = model.ConfigJson();
        dump._metadata["labels"] = JsonUtil.Build(w =>
        {
            w.WriteStartArray();
            foreach (var l in model.Labels) w.WriteStringValue(l);
            w.WriteEndArray();
        });
        dump._metadata["batch"] = JsonUtil.Build(w =>
        {
            w.WriteStartArray();
            foreach (var e in batch)
            {
                if (model.Kind != "fca")
                {
                    w.WriteStringValue(data.Utterances[e.Utterance].Id);
                    continue;
                }
                w.WriteStartArray(); // [id, segment start frame]
                w.WriteStringValue(data.Utterances[e.Utterance].Id);
                w.WriteNumberValue(e.Start);
                w.WriteEndArray();
            }
            w.WriteEndArray();
        });
        dump._metadata["features"] = FeatureSettingsJson.Serialize(model.Features.Settings);
        var adam = optimizer as Adam;
        foreach (var (key, value) in new (string, double)[]
        {
            ("lr", lr), ("weight_decay", options.EffectiveWeightDecay), ("clip", options.EffectiveClipNorm),
            ("beta1", adam?.Betas.Beta1 ?? double.NaN), ("beta2", adam?.Betas.Beta2 ?? double.NaN), ("eps", adam?.Eps ?? double.NaN),
        })
            dump._metadata[key] = value.ToString("R", CultureInfo.InvariantCulture);
        dump._metadata["optimizer"] = options.AdamW ? "adamw" : "adam";
        dump._metadata["norm"] = model.Features.Settings.Normalization switch
        {
            Audio.FeatureNormalization.PerBin => "perbin",
            Audio.FeatureNormalization.Global => "global",
            _ => "none",
        };
        return dump;
    }

    /// <summary>Adds the forward pass: input, targets, logits and loss.</summary>
    public void Forward(Tensor x, int[]? valid, int[] y, Tensor logits, Tensor loss)
    {
        _tensors["x"] = HostTensor.FromTensor(x);
        if (valid is not null) _tensors["valid"] = new HostTensor(new Shape(valid.Length), [.. valid.Select(v => (float)v)]);
        _tensors["y"] = new HostTensor(new Shape(y.Length), [.. y.Select(v => (float)v)]);
        _tensors["logits"] = HostTensor.FromTensor(logits);
        _tensors["loss"] = new HostTensor(new Shape(1), [loss.Item()]);
    }

    /// <summary>Adds the gradients (call after backward, before clipping).</summary>
    public void Gradients(SerModel model)
    {
        foreach (var (name, p) in model.Network.NamedParameters())
            if (p.Grad is { } g) _tensors["grad." + name] = HostTensor.FromTensor(g);
    }

    /// <summary>Adds the weights after the step and writes the file atomically.</summary>
    public void After(SerModel model, string path)
    {
        AddState("w1.", model);
        ReportFiles.WriteAtomic(path, SafeTensors.Serialize(_tensors, _metadata));
    }

    private void AddState(string prefix, SerModel model)
    {
        foreach (var (name, t) in model.Network.StateDict()) _tensors[prefix + name] = HostTensor.FromTensor(t);
    }
}
