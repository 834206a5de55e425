using SerEngine.Autograd;
using SerEngine.Backends;
using SerEngine.Models;
using SerEngine.Tests.Gpu;

namespace SerEngine.Tests.Models;

/// <summary>
/// AttentionFcn's output for an utterance does not depend on the other utterances of its batch:
/// a batch of unequal lengths (zero-padded, valid lengths passed) gives each item the logits and
/// attention it gets alone, because the encoder zeroes every column beyond each layer's valid length.
/// </summary>
public class AttentionFcnBatchTests(ITestOutputHelper output)
{
    private readonly ITestOutputHelper _output = output;

    // valid frames of the batch items; the first one is the longest, the rest are padded to it
    private static readonly int[] Lengths = [160, 97, 131, 67];

    [Theory]
    [InlineData("cpu")]
    [InlineData("cpu-reference")]
    [InlineData("ilgpu-cpu")]
    public void BatchedEqualsOneByOne(string backendName) => CheckBatchedEqualsAlone(BackendRegistry.Get(backendName));

    [Fact]
    public void BatchedEqualsOneByOneOnOpenCl()
    {
        var be = GpuTestDevices.OpenCl(_output);
        if (be is null) return;
        CheckBatchedEqualsAlone(be);
    }

    /// <summary>The padding columns a batch carries take no gradient into the valid part either: the weight gradient of a padded batch item equals its gradient alone.</summary>
    [Fact]
    public void PaddedItemGradientEqualsItsGradientAlone()
    {
        var be = BackendRegistry.Get("cpu");
        var (model, inputs) = Build(be);
        int f = inputs[0].Length / Lengths[0];
        float[] Grad(Tensor x, int[] valid)
        {
            model.ZeroGrad();
            var (logits, _) = model.Forward(x, valid);
            Ops.Sum(Ops.Narrow(logits, 0, 1, 1)).Backward();                // only item 1 (97 of 160 frames)
            return model.Features.Layers.OfType<SerEngine.Nn.Conv2d>().First().Weight.Grad!.ToArray();
        }
        var batched = Grad(Pad(inputs, f, be), Lengths);
        // item 1 alone, twice (so that the same row is summed), cut to its own length
        var alone = Grad(Pad([inputs[1], inputs[1]], f, be, [Lengths[1], Lengths[1]], width: Lengths[1]), [Lengths[1], Lengths[1]]);
        AssertClose(alone, batched, 1e-4, "features.0.weight gradient of item 1");
    }

    /// <summary>With batch norm, eval mode (running statistics) is batch-invariant as before.</summary>
    [Fact]
    public void BatchNormBatchedEqualsOneByOne() => CheckBatchedEqualsAlone(BackendRegistry.Get("cpu"), batchNorm: true);

    /// <summary>
    /// With batch norm in training mode the statistics come from valid frames only: an utterance padded
    /// to a longer batch width gets the logits it gets unpadded.
    /// </summary>
    [Fact]
    public void BatchNormTrainingIgnoresPadding()
    {
        var be = BackendRegistry.Get("cpu");
        var (model, inputs) = Build(be, batchNorm: true);
        model.Train();
        int f = inputs[0].Length / Lengths[0];
        using var noGrad = Graph.NoGrad();
        var unpadded = model.Forward(Pad([inputs[1], inputs[3]], f, be, [Lengths[1], Lengths[3]]), [Lengths[1], Lengths[3]]).Logits.ToArray();
        var padded = model.Forward(Pad([inputs[1], inputs[3]], f, be, [Lengths[1], Lengths[3]], width: Lengths[0]), [Lengths[1], Lengths[3]]).Logits.ToArray();
        AssertClose(unpadded, padded, 2e-5, "training-mode logits, padded to 160 frames vs 97");
    }

    private void CheckBatchedEqualsAlone(Backend be, bool batchNorm = false)
    {
        var (model, inputs) = Build(be, batchNorm);
        int f = inputs[0].Length / Lengths[0];
        using var noGrad = Graph.NoGrad();
        var (logits, alpha) = model.Forward(Pad(inputs, f, be), Lengths);   // [4, 4], [4, F'·T'max]
        var batchLogits = logits.ToArray();
        var batchAlpha = alpha.ToArray();
        int positions = alpha.Shape[1];
        for (int i = 0; i < Lengths.Length; i++)
        {
            var (li, ai) = model.Forward(Pad([inputs[i]], f, be, [Lengths[i]], width: Lengths[i]), [Lengths[i]]);
            AssertClose(li.ToArray(), batchLogits.AsSpan(i * 4, 4).ToArray(), 2e-5, $"item {i} logits");
            // alone, the encoder's map is narrower: compare each valid position of the padded map
            int fo = ai.Shape[1] / AttentionFcn.EncodedLength(Lengths[i]);
            int toAlone = AttentionFcn.EncodedLength(Lengths[i]), toBatch = positions / fo;
            var aloneAlpha = ai.ToArray();
            var paddedAlpha = new float[aloneAlpha.Length];
            for (int fi = 0; fi < fo; fi++)
                for (int t = 0; t < toAlone; t++) paddedAlpha[fi * toAlone + t] = batchAlpha[i * positions + fi * toBatch + t];
            AssertClose(aloneAlpha, paddedAlpha, 2e-5, $"item {i} attention");
        }
        _output.WriteLine($"{be.Name}: {Lengths.Length} items, batched = one by one");
    }

    private static (AttentionFcn Model, float[][] Inputs) Build(Backend be, bool batchNorm = false)
    {
        var rng = new Generator(7);
        var model = new AttentionFcn(new AttentionFcnConfig(4, Widths: [8, 12, 16, 12, 8], Dropout: 0f, BatchNorm: batchNorm), rng, be);
        foreach (var (name, norm) in model.Norms?.NamedChildren() ?? [])      // non-trivial running statistics and affine
        {
            var bn = (SerEngine.Nn.BatchNorm2d)norm;
            int c = bn.Weight.Shape[0];
            bn.RunningMean.CopyFrom([.. Enumerable.Range(0, c).Select(k => 0.1f * (k % 3))]);
            bn.RunningVar.CopyFrom([.. Enumerable.Range(0, c).Select(k => 1f + 0.2f * (k % 4))]);
            bn.Bias.CopyFrom([.. Enumerable.Range(0, c).Select(k => 0.3f)]);
        }
        // positive biases make the padding columns non-zero after the first conv: the case that leaked
        foreach (var conv in model.Features.Layers.OfType<SerEngine.Nn.Conv2d>())
            conv.Bias!.CopyFrom(Enumerable.Repeat(0.5f, conv.Bias.Shape[0]).ToArray());
        model.Eval();
        const int bins = 64;
        var inputs = new float[Lengths.Length][];                           // each [F, T_i]
        for (int i = 0; i < Lengths.Length; i++)
            inputs[i] = Tensor.RandomNormal(new Shape(bins, Lengths[i]), rng).ToArray();
        return (model, inputs);
    }

    /// <summary>x [B, 1, F, width] with each item's [F, T_i] in its first T_i columns, zeros after.</summary>
    private static Tensor Pad(float[][] items, int f, Backend be, int[]? lengths = null, int? width = null)
    {
        lengths ??= Lengths;
        int t = width ?? lengths.Max();
        var x = new float[items.Length * f * t];
        for (int i = 0; i < items.Length; i++)
        {
            int ti = Math.Min(lengths[i], t);
            for (int r = 0; r < f; r++) items[i].AsSpan(r * lengths[i], ti).CopyTo(x.AsSpan((i * f + r) * t));
        }
        return Tensor.FromArray(x, new Shape(items.Length, 1, f, t), be);
    }

    private static void AssertClose(float[] expected, float[] actual, double tol, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        double scale = Math.Max(1e-3, expected.Max(v => Math.Abs((double)v)));
        for (int k = 0; k < expected.Length; k++)
            Assert.True(Math.Abs(expected[k] - actual[k]) <= tol * scale,
                $"{what}[{k}]: alone {expected[k]}, in the batch {actual[k]} (tolerance {tol * scale:g3})");
    }
}
