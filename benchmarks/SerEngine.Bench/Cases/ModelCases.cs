using SerEngine.Autograd;
using SerEngine.Backends;
using SerEngine.Models;
using SerEngine.Nn;
using SerEngine.Optim;

namespace SerEngine.Bench;

/// <summary>Inputs shared by the model cases: random normal x [N, 1, F, T] and random labels [N].</summary>
internal static class BenchInputs
{
    /// <summary>Random normal x [n, 1, f, t] and labels in 0..classes−1, outside every scope.</summary>
    public static (Tensor X, Tensor Labels) Batch(Backend backend, int n, int f, int t, int classes, ulong seed)
    {
        var rng = new Generator(seed);
        using (TensorScope.Suspend())
        {
            var x = Tensor.RandomNormal(new Shape(n, 1, f, t), rng, backend: backend);
            var labels = Tensor.FromArray(Enumerable.Range(0, n).Select(_ => rng.NextInt(classes)).ToArray(), new Shape(n), backend);
            return (x, labels);
        }
    }

    /// <summary>One training step: zero grads, forward, cross-entropy, backward, optimizer step; the loss is read back.</summary>
    public static void TrainStep(Module model, Optimizer opt, Func<Tensor> logits, Tensor labels)
    {
        using var scope = TensorScope.Begin();
        opt.ZeroGrad();
        var loss = Ops.CrossEntropy(logits(), labels);
        loss.Backward();
        opt.Step();
        _ = model;
        _ = loss.Item();
    }

    /// <summary>One inference: eval mode, no gradient tracking; one value read back.</summary>
    public static void Infer(Func<Tensor> logits)
    {
        using var scope = TensorScope.Begin();
        using var noGrad = Graph.NoGrad();
        ReadOne(logits());
    }

    /// <summary>Reads one element (so device backends finish the step before the clock stops).</summary>
    public static void ReadOne(Tensor t)
    {
        Span<float> one = stackalloc float[1];
        t.Backend.Read(t.Storage, one);
    }
}

/// <summary>
/// <c>attention_fcn.train_step.bN.FxT</c>: AttentionFcn, default widths, 4 classes, x [N, 1, F, T];
/// zero grads, forward, cross-entropy, backward, Adam step (lr 1e-4).
/// </summary>
/// <param name="batch">N.</param>
/// <param name="freq">F.</param>
/// <param name="frames">T.</param>
public sealed class AttentionFcnTrainStepCase(int batch, int freq, int frames) : BenchCase
{
    /// <inheritdoc/>
    public override string Name => $"attention_fcn.train_step.b{batch}.{freq}x{frames}";

    /// <inheritdoc/>
    public override string Description => $"AttentionFcn training step on [{batch}, 1, {freq}, {frames}]: zero grads, forward, cross-entropy, backward, Adam (lr 1e-4)";

    /// <inheritdoc/>
    public override BenchStep Prepare(Backend backend)
    {
        var model = new AttentionFcn(new AttentionFcnConfig(4), new Generator(1), backend);
        var opt = new Adam(model.Parameters(), lr: 1e-4f);
        var (x, labels) = BenchInputs.Batch(backend, batch, freq, frames, 4, 2);
        return new BenchStep(() => BenchInputs.TrainStep(model, opt, () => model.Forward(x).Logits, labels),
            Cleanup: () => { x.Dispose(); labels.Dispose(); });
    }
}

/// <summary><c>attention_fcn.infer.bN.FxT</c>: AttentionFcn in eval mode without gradient tracking on x [N, 1, F, T].</summary>
/// <param name="batch">N.</param>
/// <param name="freq">F.</param>
/// <param name="frames">T.</param>
public sealed class AttentionFcnInferCase(int batch, int freq, int frames) : BenchCase
{
    /// <inheritdoc/>
    public override string Name => $"attention_fcn.infer.b{batch}.{freq}x{frames}";

    /// <inheritdoc/>
    public override string Description => $"AttentionFcn inference (eval, no grad) on [{batch}, 1, {freq}, {frames}]";

    /// <inheritdoc/>
    public override BenchStep Prepare(Backend backend)
    {
        var model = new AttentionFcn(new AttentionFcnConfig(4), new Generator(1), backend);
        model.Eval();
        var (x, labels) = BenchInputs.Batch(backend, batch, freq, frames, 4, 2);
        return new BenchStep(() => BenchInputs.Infer(() => model.Forward(x).Logits),
            Cleanup: () => { x.Dispose(); labels.Dispose(); });
    }
}

/// <summary>
/// <c>focus_calibration_net.train_step.bN.FxT</c>: FocusCalibrationNet (H 4, dh 64, focus and
/// calibration on), 4 classes, x [N, 1, F, T]; zero grads, forward, cross-entropy, backward, Adam
/// (lr 1e-3, weight decay 1e-6).
/// </summary>
/// <param name="batch">N.</param>
/// <param name="freq">F.</param>
/// <param name="frames">T.</param>
public sealed class FocusCalibrationNetTrainStepCase(int batch, int freq, int frames) : BenchCase
{
    /// <inheritdoc/>
    public override string Name => $"focus_calibration_net.train_step.b{batch}.{freq}x{frames}";

    /// <inheritdoc/>
    public override string Description => $"FocusCalibrationNet training step on [{batch}, 1, {freq}, {frames}]: forward, cross-entropy, backward, Adam (lr 1e-3, wd 1e-6)";

    /// <inheritdoc/>
    public override BenchStep Prepare(Backend backend)
    {
        var model = new FocusCalibrationNet(new FocusCalibrationNetConfig(4, freq), new Generator(1), backend);
        var opt = new Adam(model.Parameters(), lr: 1e-3f, weightDecay: 1e-6f);
        var (x, labels) = BenchInputs.Batch(backend, batch, freq, frames, 4, 2);
        return new BenchStep(() => BenchInputs.TrainStep(model, opt, () => model.Forward(x).Logits, labels),
            Cleanup: () => { x.Dispose(); labels.Dispose(); });
    }
}

/// <summary><c>focus_calibration_net.infer.bN.FxT</c>: FocusCalibrationNet in eval mode without gradient tracking.</summary>
/// <param name="batch">N.</param>
/// <param name="freq">F.</param>
/// <param name="frames">T.</param>
public sealed class FocusCalibrationNetInferCase(int batch, int freq, int frames) : BenchCase
{
    /// <inheritdoc/>
    public override string Name => $"focus_calibration_net.infer.b{batch}.{freq}x{frames}";

    /// <inheritdoc/>
    public override string Description => $"FocusCalibrationNet inference (eval, no grad) on [{batch}, 1, {freq}, {frames}]";

    /// <inheritdoc/>
    public override BenchStep Prepare(Backend backend)
    {
        var model = new FocusCalibrationNet(new FocusCalibrationNetConfig(4, freq), new Generator(1), backend);
        model.Eval();
        var (x, labels) = BenchInputs.Batch(backend, batch, freq, frames, 4, 2);
        return new BenchStep(() => BenchInputs.Infer(() => model.Forward(x).Logits),
            Cleanup: () => { x.Dispose(); labels.Dispose(); });
    }
}

/// <summary>
/// <c>attention_fcn.scratch_step.bN.FxT</c>: one step of <c>ser train --model fcn</c>'s default (scratch)
/// recipe: widths 32, 64, 128, 128, 128, batch norm with statistics over valid frames, dropout 0.5,
/// Adam lr 1e-3, on x [N, 1, F, T] whose items are valid for T down to 3T/4 frames (zero-padded
/// after), as a batch of utterances of different lengths is. Ours only (no PyTorch twin in
/// BENCH_CASES.md); it shows where the whole training job's steps spend their time.
/// </summary>
/// <param name="batch">N.</param>
/// <param name="freq">F.</param>
/// <param name="frames">T.</param>
public sealed class AttentionFcnScratchStepCase(int batch, int freq, int frames) : BenchCase
{
    /// <inheritdoc/>
    public override string Name => $"attention_fcn.scratch_step.b{batch}.{freq}x{frames}";

    /// <inheritdoc/>
    public override string Description => $"AttentionFcn scratch-recipe training step on [{batch}, 1, {freq}, {frames}] with valid lengths {frames * 3 / 4}..{frames}: masked batch norm, dropout, Adam (lr 1e-3)";

    /// <inheritdoc/>
    public override BenchStep Prepare(Backend backend)
    {
        var config = new AttentionFcnConfig(4, Widths: [32, 64, 128, 128, 128], BatchNorm: true);
        var model = new AttentionFcn(config, new Generator(1), backend);
        var opt = new Adam(model.Parameters(), lr: 1e-3f);
        var (x, labels) = BenchInputs.Batch(backend, batch, freq, frames, 4, 2);
        // lengths spread evenly from T down to 3T/4 (the valid frames of a batch of utterances)
        var valid = Enumerable.Range(0, batch).Select(i => frames - i * (frames / 4) / Math.Max(1, batch - 1)).ToArray();
        return new BenchStep(() => BenchInputs.TrainStep(model, opt, () => model.Forward(x, valid).Logits, labels),
            Cleanup: () => { x.Dispose(); labels.Dispose(); });
    }
}
