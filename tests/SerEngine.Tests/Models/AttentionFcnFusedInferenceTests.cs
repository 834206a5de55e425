using SerEngine.Autograd;
using SerEngine.Backends;
using SerEngine.Backends.Cpu;
using SerEngine.Models;
using SerEngine.Nn;
using SerEngine.Optim;
using SerEngine.Tests.Gpu;
using static SerEngine.Tests.Models.FusedInferenceTests;

namespace SerEngine.Tests.Models;

/// <summary>
/// AttentionFcn's fused eval-mode encoder (conv + ReLU as one primitive with packed filters, an eval batch
/// norm folded into the conv) against the layer-by-layer encoder of the same model, with and without
/// batch norms, padded batches, at batch 1 and 3; and its cache following parameter changes.
/// </summary>
public class AttentionFcnFusedInferenceTests(ITestOutputHelper output)
{
    private readonly ITestOutputHelper _output = output;

    [Theory]
    [InlineData("cpu-reference", false, 1)]
    [InlineData("cpu-reference", true, 3)]
    [InlineData("cpu", false, 1)]
    [InlineData("cpu", true, 1)]
    [InlineData("cpu", false, 3)]
    [InlineData("cpu", true, 3)]
    [InlineData("ilgpu-cpu", true, 3)]
    public void FusedForwardMatchesPlainForward(string backendName, bool batchNorm, int batch) =>
        CheckFusedMatchesPlain(BackendRegistry.Get(backendName), batchNorm, batch);

    /// <summary>The same on OpenCL (PoCL in CI), where packed filters are the backend's default (the plain conv + ReLU primitive).</summary>
    [Fact]
    public void FusedForwardMatchesPlainForwardOnOpenCl()
    {
        var be = GpuTestDevices.OpenCl(_output);
        if (be is null) return;
        CheckFusedMatchesPlain(be, batchNorm: true, batch: 3);
    }

    private static void CheckFusedMatchesPlain(Backend be, bool batchNorm, int batch)
    {
        var rng = new Generator(51);
        var model = Build(be, batchNorm, rng);
        int[] lengths = [.. new[] { 150, 97, 121 }.Take(batch)];
        var x = Tensor.RandomNormal(new Shape(batch, 1, 70, lengths[0]), rng, backend: be);
        var ((fusedLogits, fusedAlpha), (plainLogits, plainAlpha)) = BothForwards(model, x, lengths);
        Assert.Equal(1, model.FusedForwards);
        // the fast CPU backend keeps the 5×5 and 3×3 filters (16-channel multiples) as Winograd panels, the 11×11 ones as given
        var packed = model.PackedConvWeights;
        Assert.Equal(5, packed.Length);
        for (int j = 0; j < packed.Length; j++)
            Assert.Equal(be is CpuBackend && j > 0, packed[j].GetType() != typeof(PackedConv2dWeight));
        Close(plainLogits, fusedLogits, "logits");
        Close(plainAlpha, fusedAlpha, "attention");
    }

    [Fact]
    public void FusedPathIsOnlyTakenInEvalModeWithoutGradients()
    {
        var be = BackendRegistry.Get("cpu");
        var rng = new Generator(52);
        var model = Build(be, batchNorm: true, rng);
        var x = Tensor.RandomNormal(new Shape(1, 1, 70, 90), rng, backend: be);
        Assert.True(model.Forward(x).Logits.RequiresGrad); // gradients on: the plain path records the graph
        using (Graph.NoGrad())
        {
            model.Train();
            model.Forward(x);
            model.Eval();
            model.NormAfter(6)!.Train();                   // one layer left in training mode
            model.Forward(x);
        }
        Assert.Equal(0, model.FusedForwards);
    }

    [Fact]
    public void FusedForwardFollowsATrainingStepAWriteAndARelease()
    {
        var be = BackendRegistry.Get("cpu");
        var rng = new Generator(53);
        var model = Build(be, batchNorm: true, rng);
        var x = Tensor.RandomNormal(new Shape(2, 1, 70, 90), rng, backend: be);
        var before = BothForwards(model, x, null).Fused.Logits.ToArray();

        // one Adam step in training mode: the parameters and the running statistics change
        model.Train();
        var opt = new Adam(model.Parameters(), lr: 1e-2f);
        Ops.CrossEntropy(model.Forward(x).Logits, Tensor.FromArray([1, 3], new Shape(2), be)).Backward();
        opt.Step();
        model.Eval();
        var (fused, plain) = BothForwards(model, x, null);
        Close(plain.Logits, fused.Logits, "after a step");
        Assert.NotEqual(before, fused.Logits.ToArray());

        // values written from the host (as a checkpoint load does): a packed 3×3 filter, the 11×11 one, a running variance, a bias
        var convs = model.Features.Layers.OfType<Conv2d>().ToArray();
        foreach (var t in new[] { convs[3].Weight, convs[0].Weight, model.NormAfter(8)!.RunningVar, convs[4].Bias! })
        {
            var v = t.ToArray();
            for (int i = 0; i < v.Length; i++) v[i] = Math.Abs(v[i]) * 1.5f + 0.01f;
            t.CopyFrom(v);
            (fused, plain) = BothForwards(model, x, null);
            Close(plain.Logits, fused.Logits, $"after a write to {t.Name}");
        }
        model.ReleaseFusedWeights(); // released: the next fused forward builds them again
        (fused, plain) = BothForwards(model, x, null);
        Close(plain.Logits, fused.Logits, "after a release");
        Assert.Equal(7, model.FusedForwards);
    }

    /// <summary>Widths on 16-channel multiples (Winograd panels on the fast CPU backend), batch norms off their identity defaults.</summary>
    private static AttentionFcn Build(Backend be, bool batchNorm, Generator rng)
    {
        var model = new AttentionFcn(new AttentionFcnConfig(4, Widths: [16, 32, 48, 32, 16], Dropout: 0f, BatchNorm: batchNorm), rng, be);
        foreach (var (_, module) in model.Norms?.NamedChildren() ?? [])
        {
            var bn = (BatchNorm2d)module;
            int c = bn.Weight.Size;
            bn.Weight.CopyFrom(Values(c, _ => 0.5f + rng.NextSingle()));
            bn.Bias.CopyFrom(Values(c, _ => 0.3f * rng.NextNormal()));
            bn.RunningMean.CopyFrom(Values(c, _ => 0.2f * rng.NextNormal()));
            bn.RunningVar.CopyFrom(Values(c, _ => 0.2f + rng.NextSingle()));
        }
        model.Eval();
        return model;
    }

    private static ((Tensor Logits, Tensor Alpha) Fused, (Tensor Logits, Tensor Alpha) Plain) BothForwards(AttentionFcn model, Tensor x, int[]? lengths)
    {
        using var _ = Graph.NoGrad();
        model.FusedInference = true;
        var fused = model.Forward(x, lengths);
        model.FusedInference = false;
        var plain = model.Forward(x, lengths);
        model.FusedInference = true;
        return (fused, plain);
    }
}
