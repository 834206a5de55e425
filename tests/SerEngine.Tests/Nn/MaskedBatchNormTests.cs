using SerEngine.Backends;
using SerEngine.Nn;

namespace SerEngine.Tests.Nn;

/// <summary>
/// BatchNorm2d over zero-padded sequences (<see cref="BatchNorm2d.Forward(Tensor, int[])"/>): the
/// training statistics come from the valid columns only, so a padded batch normalises exactly as the
/// same values laid side by side without padding; its gradient matches finite differences.
/// </summary>
public class MaskedBatchNormTests
{
    private const int C = 3, H = 4;
    private static readonly int[] Valid = [9, 5, 7];   // the batch is padded to 9 columns

    [Theory]
    [InlineData("cpu")]
    [InlineData("cpu-reference")]
    public void PaddedBatchNormalisesLikeItsValidColumnsAlone(string backendName)
    {
        var be = BackendRegistry.Get(backendName);
        var rng = new Generator(3);
        var items = Valid.Select(t => Tensor.RandomNormal(new Shape(C, H, t), rng).ToArray()).ToArray();   // each [C, H, T_i]
        var masked = Layer(be);
        var plain = Layer(be);
        var y = masked.Forward(Padded(items, be), Valid).ToArray();                                      // [N, C, H, 9]
        // the same values side by side: one item [1, C, H, ΣT_i], no padding, the fused op
        var side = plain.Forward(SideBySide(items, be)).ToArray();
        int total = Valid.Sum(), t0 = 0;
        for (int i = 0; i < Valid.Length; i++)
        {
            for (int c = 0; c < C; c++)
                for (int h = 0; h < H; h++)
                    for (int t = 0; t < Valid[i]; t++)
                    {
                        float a = y[((i * C + c) * H + h) * Valid[0] + t], b = side[(c * H + h) * total + t0 + t];
                        Assert.True(Math.Abs(a - b) < 1e-5, $"item {i} channel {c} row {h} column {t}: padded {a}, side by side {b}");
                    }
            t0 += Valid[i];
        }
        AssertClose(plain.RunningMean.ToArray(), masked.RunningMean.ToArray(), "running_mean");
        AssertClose(plain.RunningVar.ToArray(), masked.RunningVar.ToArray(), "running_var");
    }

    [Fact]
    public void PaddedBatchNormGradientMatchesFiniteDifferences()
    {
        var be = BackendRegistry.Get("cpu-reference");
        var rng = new Generator(5);
        var items = Valid.Select(t => Tensor.RandomNormal(new Shape(C, H, t), rng).ToArray()).ToArray();
        var bn = Layer(be);
        bn.Weight.CopyFrom([0.5f, 1.5f, -1f]);
        bn.Bias.CopyFrom([0.1f, -0.2f, 0.3f]);
        var x = Padded(items, be);
        x.RequiresGrad = true;
        var keep = Masks.Columns(Valid, Valid[0], be);
        GradCheck.Check(inputs => Ops.Mul(bn.Forward(inputs[0], Valid), keep), [x, bn.Weight, bn.Bias], eps: 1e-2, rtol: 2e-2);
    }

    [Fact]
    public void EvalModeAndUnpaddedBatchesUseTheFusedOp()
    {
        var be = BackendRegistry.Get("cpu");
        var x = Tensor.RandomNormal(new Shape(2, C, H, 6), new Generator(9), backend: be);
        var a = Layer(be);
        var b = Layer(be);
        AssertClose(a.Forward(x).ToArray(), b.Forward(x, [6, 6]).ToArray(), "unpadded batch");
        a.Eval();
        b.Eval();
        AssertClose(a.Forward(x).ToArray(), b.Forward(x, [6, 3]).ToArray(), "eval mode");
    }

    private static BatchNorm2d Layer(Backend be) => (BatchNorm2d)new BatchNorm2d(C, backend: be).Train();

    /// <summary>x [N, C, H, T_0] with item i's [C, H, T_i] in its first T_i columns, zeros after.</summary>
    private static Tensor Padded(float[][] items, Backend be)
    {
        int t = Valid[0];
        var x = new float[items.Length * C * H * t];
        for (int i = 0; i < items.Length; i++)
            for (int r = 0; r < C * H; r++) items[i].AsSpan(r * Valid[i], Valid[i]).CopyTo(x.AsSpan((i * C * H + r) * t));
        return Tensor.FromArray(x, new Shape(items.Length, C, H, t), be);
    }

    /// <summary>x [1, C, H, ΣT_i]: the items one after another along time.</summary>
    private static Tensor SideBySide(float[][] items, Backend be)
    {
        int total = Valid.Sum();
        var x = new float[C * H * total];
        int t0 = 0;
        for (int i = 0; i < items.Length; i++)
        {
            for (int r = 0; r < C * H; r++) items[i].AsSpan(r * Valid[i], Valid[i]).CopyTo(x.AsSpan(r * total + t0));
            t0 += Valid[i];
        }
        return Tensor.FromArray(x, new Shape(1, C, H, total), be);
    }

    private static void AssertClose(float[] expected, float[] actual, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) < 1e-5, $"{what}[{i}]: expected {expected[i]}, got {actual[i]}");
    }
}
