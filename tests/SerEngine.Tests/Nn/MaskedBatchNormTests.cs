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
    public void EvalModeUsesTheRunningStatsAndZeroesThePadding()
    {
        var be = BackendRegistry.Get("cpu");
        var x = Tensor.RandomNormal(new Shape(2, C, H, 6), new Generator(9), backend: be);
        var a = Layer(be);
        var b = Layer(be);
        Assert.Equal(a.Forward(x).ToArray(), b.Forward(x, [6, 6]).ToArray()); // unpadded: the same op, bit for bit
        a.Eval();
        b.Eval();
        var keep = Masks.Columns([6, 3], 6, be);
        AssertClose(Ops.Mul(a.Forward(x), keep).ToArray(), b.Forward(x, [6, 3]).ToArray(), "eval mode");
    }

    [Theory]
    [InlineData("cpu", 1)]
    [InlineData("cpu", 3)]
    [InlineData("cpu-reference", 3)]
    public void FusedOpMatchesTheCompositeFormula(string backendName, int n)
    {
        var be = BackendRegistry.Get(backendName);
        int[] valid = n == 1 ? [4] : [9, 1, 5];
        const int w = 9;
        var x = Tensor.RandomNormal(new Shape(n, C, H, w), new Generator(13), backend: be);
        x = Ops.AddScalar(Ops.Scale(x, 2f), 3f).Detach();                 // a mean far from zero
        x.RequiresGrad = true;
        var dy = Tensor.RandomNormal(new Shape(n, C, H, w), new Generator(14), backend: be);
        var fused = Layer(be);
        var composite = Layer(be);
        foreach (var bn in new[] { fused, composite })
        {
            bn.Weight.CopyFrom([0.5f, 1.5f, -1f]);
            bn.Bias.CopyFrom([0.1f, -0.2f, 0.3f]);
        }
        var yf = fused.Forward(x, valid);
        Ops.Sum(Ops.Mul(yf, dy)).Backward();
        float[][] gf = [x.Grad!.ToArray(), fused.Weight.Grad!.ToArray(), fused.Bias.Grad!.ToArray()];
        x.ZeroGrad();
        var yc = Composite(composite, x, valid);
        Ops.Sum(Ops.Mul(yc, dy)).Backward();
        float[][] gc = [x.Grad!.ToArray(), composite.Weight.Grad!.ToArray(), composite.Bias.Grad!.ToArray()];
        AssertClose(yc.ToArray(), yf.ToArray(), "y");
        AssertClose(composite.RunningMean.ToArray(), fused.RunningMean.ToArray(), "running_mean");
        AssertClose(composite.RunningVar.ToArray(), fused.RunningVar.ToArray(), "running_var");
        string[] names = ["dx", "dWeight", "dBias"];
        for (int i = 0; i < 3; i++) AssertClose(gc[i], gf[i], names[i], tol: 1e-4);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void MaskedOpGradientMatchesFiniteDifferences(bool training)
    {
        // no mask applied after the op: the padded positions must give y = 0 and dx = 0 on their own
        var be = BackendRegistry.Get("cpu-reference");
        var x = Tensor.RandomNormal(new Shape(3, 2, 3, 5), new Generator(21), backend: be);
        x.RequiresGrad = true;
        var weight = Tensor.FromArray([0.7f, -1.3f], new Shape(2), be);
        var bias = Tensor.FromArray([0.2f, -0.4f], new Shape(2), be);
        weight.RequiresGrad = bias.RequiresGrad = true;
        var rm = Tensor.FromArray([0.1f, -0.2f], new Shape(2), be);
        var rv = Tensor.FromArray([0.8f, 1.7f], new Shape(2), be);
        int[] valid = [5, 2, 0];
        GradCheck.Check(inputs => Ops.BatchNorm2d(inputs[0], inputs[1], inputs[2], training ? null : rm, training ? null : rv, training, validColumns: valid),
            [x, weight, bias], eps: 1e-2, rtol: 2e-2);
    }

    /// <summary>The masked batch norm as BatchNorm2d.Forward(x, valid) composed it before the fused op (the oracle).</summary>
    private static Tensor Composite(BatchNorm2d bn, Tensor x, int[] validColumns)
    {
        int n = x.Shape[0], c = x.Shape[1], h = x.Shape[2], t = x.Shape[3];
        long count = (long)h * validColumns.Sum(v => Math.Clamp(v, 0, t));
        var keep = Masks.Columns(validColumns, t, x.Backend);                                 // [N, 1, 1, T]
        var xm = Ops.Mul(x, keep);
        var mean = Ops.Scale(Ops.Sum(xm, [0, 2, 3], keepDim: true), 1f / count);            // [1, C, 1, 1]
        var centred = Ops.Mul(Ops.Sub(xm, mean), keep);
        var variance = Ops.Scale(Ops.Sum(Ops.Square(centred), [0, 2, 3], keepDim: true), 1f / count);
        var normed = Ops.Div(centred, Ops.Sqrt(Ops.AddScalar(variance, bn.Eps)));
        var y = Ops.Add(Ops.Mul(normed, bn.Weight.Reshape(1, c, 1, 1)), bn.Bias.Reshape(1, c, 1, 1));
        var rm = bn.RunningMean.ToArray();
        var rv = bn.RunningVar.ToArray();
        float[] m = mean.ToArray(), v = variance.ToArray();
        float unbias = count / (float)(count - 1);
        for (int i = 0; i < c; i++)
        {
            rm[i] = (1 - bn.Momentum) * rm[i] + bn.Momentum * m[i];
            rv[i] = (1 - bn.Momentum) * rv[i] + bn.Momentum * v[i] * unbias;
        }
        bn.RunningMean.CopyFrom(rm);
        bn.RunningVar.CopyFrom(rv);
        return Ops.Mul(y, keep);                                                              // the caller's mask
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

    private static void AssertClose(float[] expected, float[] actual, string what, double tol = 1e-5)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) < tol * Math.Max(1, Math.Abs(expected[i])), $"{what}[{i}]: expected {expected[i]}, got {actual[i]}");
    }
}
