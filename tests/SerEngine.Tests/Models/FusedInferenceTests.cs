using SerEngine.Autograd;
using SerEngine.Backends;
using SerEngine.Backends.Cpu;
using SerEngine.Models;
using SerEngine.Models.Attention;
using SerEngine.Optim;
using SerEngine.Tests.Gpu;

namespace SerEngine.Tests.Models;

/// <summary>
/// FocusCalibrationNet's fused eval-mode forward (BatchNorm folded into the convs, conv + ReLU as one
/// primitive, Q/K/V as one projection, projections with packed weights, at batch 1 and 2) against the layer-by-layer forward of the same model, and its
/// cache of folded weights following parameter changes (an optimizer step, a load).
/// </summary>
public class FusedInferenceTests(ITestOutputHelper output)
{
    private readonly ITestOutputHelper _output = output;

    [Theory]
    [InlineData("cpu-reference", true, true, 2)]
    [InlineData("cpu-reference", true, true, 1)]
    [InlineData("cpu", true, true, 2)]
    [InlineData("cpu", true, true, 1)]
    [InlineData("cpu", false, true, 2)]
    [InlineData("cpu", false, true, 1)]
    [InlineData("cpu", true, false, 2)]
    [InlineData("cpu", false, false, 2)]
    [InlineData("ilgpu-cpu", true, true, 1)]
    [InlineData("ilgpu-cpu", false, false, 2)]
    public void FusedForwardMatchesPlainForward(string backendName, bool focus, bool calibration, int batch) =>
        CheckFusedMatchesPlain(BackendRegistry.Get(backendName), focus, calibration, batch);

    /// <summary>
    /// The same on OpenCL (PoCL in CI), where the fused path runs the backends' default
    /// Conv2dForwardRelu (conv, then ReLU) and PackGemmA/GemmPackedA (plain Gemm plus a broadcast row bias).
    /// </summary>
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void FusedForwardMatchesPlainForwardOnOpenCl(int batch)
    {
        var be = GpuTestDevices.OpenCl(_output);
        if (be is null) return;
        CheckFusedMatchesPlain(be, focus: true, calibration: true, batch);
    }

    private static void CheckFusedMatchesPlain(Backend be, bool focus, bool calibration, int batch)
    {
        var rng = new Generator(41);
        var model = new FocusCalibrationNet(new FocusCalibrationNetConfig(4, 26, 3, 8, focus, calibration), rng, be);
        RandomiseBatchNorms(model, rng);
        model.Eval();
        var x = Tensor.RandomNormal(new Shape(batch, 1, 26, 37), rng, backend: be);
        var (fused, plain) = BothForwards(model, x);
        Assert.Equal(1, model.FusedForwards);
        // the fast CPU backend keeps conv2 … conv5 as Winograd panels (its own form), the others as given
        Assert.Equal(4, model.PackedConvWeights.Length);
        foreach (var packed in model.PackedConvWeights)
            Assert.Equal(be is CpuBackend, packed.GetType() != typeof(PackedConv2dWeight));
        Close(plain.Logits, fused.Logits, "logits");
        Close(plain.Internals.Attention, fused.Internals.Attention, "attention");
        Assert.Equal(focus, fused.Internals.Centres is not null);
        Assert.Equal(calibration, fused.Internals.HeadWeights is not null);
        if (focus)
        {
            Close(plain.Internals.Centres!, fused.Internals.Centres!, "centres");
            Close(plain.Internals.Widths!, fused.Internals.Widths!, "widths");
        }
        if (calibration) Close(plain.Internals.HeadWeights!, fused.Internals.HeadWeights!, "head weights");
    }

    [Fact]
    public void FusedPathIsOnlyTakenInEvalModeWithoutGradients()
    {
        var be = BackendRegistry.Get("cpu");
        var rng = new Generator(42);
        var model = new FocusCalibrationNet(new FocusCalibrationNetConfig(4, 26, 2, 8, Dropout: 0f), rng, be);
        var x = Tensor.RandomNormal(new Shape(1, 1, 26, 20), rng, backend: be);
        model.Eval();
        Assert.True(model.Forward(x).Logits.RequiresGrad); // gradients on: the plain path records the graph
        using (Graph.NoGrad())
        {
            model.Train();
            model.Forward(x);
            model.Eval();
            model.Bn3.Train();
            model.Forward(x);
        }
        Assert.Equal(0, model.FusedForwards);
    }

    [Fact]
    public void FusedForwardFollowsATrainingStepAndALoad()
    {
        var be = BackendRegistry.Get("cpu");
        var rng = new Generator(43);
        var model = new FocusCalibrationNet(new FocusCalibrationNetConfig(4, 26, 2, 8, Dropout: 0f), rng, be);
        var x = Tensor.RandomNormal(new Shape(3, 1, 26, 24), rng, backend: be);
        var labels = Tensor.FromArray([0, 2, 3], new Shape(3), be);
        model.Eval();
        var before = BothForwards(model, x).Fused.Logits.ToArray();

        // one Adam step in training mode: the parameters and the BatchNorm running statistics change
        model.Train();
        var opt = new Adam(model.Parameters(), lr: 1e-2f);
        Ops.CrossEntropy(model.Forward(x).Logits, labels).Backward();
        opt.Step();
        model.Eval();
        var (fused, plain) = BothForwards(model, x);
        Close(plain.Logits, fused.Logits, "after a step");
        Assert.NotEqual(before, fused.Logits.ToArray());

        // values written from the host (as a checkpoint load does), to a conv, a BatchNorm, the value
        // projection and the packed output and focus-query projections
        var attn = model.Attn;
        foreach (var t in new[] { model.Conv3.Weight, model.Bn4.RunningVar, attn.Value.Bias!, attn.Out.Weight, attn.Out.Bias!,
            attn.FocusQuery!.Weight, attn.FocusQuery.Bias!, attn.Query.Weight })
        {
            var v = t.ToArray();
            for (int i = 0; i < v.Length; i++) v[i] = Math.Abs(v[i]) * 1.5f + 0.01f;
            t.CopyFrom(v);
            (fused, plain) = BothForwards(model, x);
            Close(plain.Logits, fused.Logits, $"after a write to {t.Name}");
        }
        model.ReleaseFusedWeights(); // released: the next fused forward builds them again
        (fused, plain) = BothForwards(model, x);
        Close(plain.Logits, fused.Logits, "after a release");
        Assert.Equal(11, model.FusedForwards);
    }

    [Theory]
    [InlineData("cpu")]
    [InlineData("cpu-reference")]
    public void TheWorkspaceKeptBetweenForwardsChangesNoResult(string backendName)
    {
        // the fused path keeps its intermediates between calls (FusedWorkspace): forwards of alternating batch sizes and
        // lengths on one model give the bits a model's first forward gives, and what a forward returned survives the next
        var be = BackendRegistry.Get(backendName);
        var rng = new Generator(47);
        var config = new FocusCalibrationNetConfig(4, 26, 2, 8, Dropout: 0f);
        var model = new FocusCalibrationNet(config, new Generator(5), be);
        model.Eval();
        Tensor[] inputs = [Tensor.RandomNormal(new Shape(1, 1, 26, 24), rng, backend: be), Tensor.RandomNormal(new Shape(2, 1, 26, 24), rng, backend: be),
            Tensor.RandomNormal(new Shape(1, 1, 26, 31), rng, backend: be)];
        using var _ = Graph.NoGrad();
        var first = inputs.Select(x =>
        {
            var fresh = new FocusCalibrationNet(config, new Generator(5), be);
            fresh.Eval();
            var (logits, internals) = fresh.Forward(x);
            return (Logits: logits.ToArray(), Attention: internals.Attention.ToArray());
        }).ToArray();
        var kept = model.Forward(inputs[0]);
        for (int round = 0; round < 3; round++)
            for (int i = 0; i < inputs.Length; i++)
            {
                var (logits, internals) = model.Forward(inputs[i]);
                Assert.Equal(first[i].Logits, logits.ToArray());
                Assert.Equal(first[i].Attention, internals.Attention.ToArray());
            }
        Assert.Equal(first[0].Logits, kept.Logits.ToArray());
        Assert.Equal(first[0].Attention, kept.Internals.Attention.ToArray());
    }

    private static ((Tensor Logits, FocusCalibrationAttention.Internals Internals) Fused, (Tensor Logits, FocusCalibrationAttention.Internals Internals) Plain)
        BothForwards(FocusCalibrationNet model, Tensor x)
    {
        using var _ = Graph.NoGrad();
        model.FusedInference = true;
        var fused = model.Forward(x);
        model.FusedInference = false;
        var plain = model.Forward(x);
        model.FusedInference = true;
        return (fused, plain);
    }

    /// <summary>Running statistics and affine parameters away from their identity defaults, so the folding matters.</summary>
    private static void RandomiseBatchNorms(FocusCalibrationNet model, Generator rng)
    {
        foreach (var bn in new[] { model.Bn1a, model.Bn1b, model.Bn2, model.Bn3, model.Bn4, model.Bn5 })
        {
            int c = bn.Weight.Size;
            bn.Weight.CopyFrom(Values(c, i => 0.5f + rng.NextSingle()));
            bn.Bias.CopyFrom(Values(c, i => 0.3f * rng.NextNormal()));
            bn.RunningMean.CopyFrom(Values(c, i => 0.2f * rng.NextNormal()));
            bn.RunningVar.CopyFrom(Values(c, i => 0.2f + rng.NextSingle()));
        }
    }

    internal static float[] Values(int n, Func<int, float> f) => [.. Enumerable.Range(0, n).Select(f)];

    /// <summary>Norm-wise: ‖fused − plain‖ ≤ 1e-5·‖plain‖ + 1e-6·√n.</summary>
    internal static void Close(Tensor expected, Tensor actual, string what)
    {
        Assert.Equal(expected.Shape, actual.Shape);
        float[] e = expected.ToArray(), a = actual.ToArray();
        double diff = 0, norm = 0;
        for (int i = 0; i < e.Length; i++)
        {
            diff += ((double)a[i] - e[i]) * ((double)a[i] - e[i]);
            norm += (double)e[i] * e[i];
        }
        Assert.True(Math.Sqrt(diff) <= 1e-5 * Math.Sqrt(norm) + 1e-6 * Math.Sqrt(e.Length), $"{what}: ‖fused − plain‖ = {Math.Sqrt(diff):G4}, ‖plain‖ = {Math.Sqrt(norm):G4}");
    }
}
