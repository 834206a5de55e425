using SerEngine.Autograd;
using SerEngine.Backends;

namespace SerEngine.Tests.Engine;

/// <summary>
/// Softmax, log-softmax, the fused biased/masked softmax and cross-entropy: values against host
/// computations in double and the PyTorch fixtures, gradients by finite differences, masking
/// exactly zero, label validation, and the fast CPU backend equal to the reference.
/// </summary>
public class SoftmaxLossTests
{
    public static TheoryData<string> Backends => GradCheck.CpuBackends;

    // ---- softmax / log-softmax ----------------------------------------------------------------

    [Theory]
    [MemberData(nameof(Backends))]
    public void SoftmaxAndLogSoftmaxOnEveryAxis(string backendName)
    {
        var be = BackendRegistry.Get(backendName);
        var rng = new Generator(11);
        int[][] shapes = [[5], [3, 4], [2, 3, 4], [2, 1, 3], [3, 4, 1], [1, 1]];
        foreach (var dims in shapes)
        {
            var x = GradCheck.Param(be, rng, dims);
            for (int axis = -1; axis < dims.Length; axis++)
            {
                int a = axis;
                AssertAllClose(HostSoftmax(x.ToArray(), dims, a, log: false), Ops.Softmax(x, a).ToArray(), 1e-6, $"softmax {x.Shape} axis {a}");
                AssertAllClose(HostSoftmax(x.ToArray(), dims, a, log: true), Ops.LogSoftmax(x, a).ToArray(), 1e-5, $"log_softmax {x.Shape} axis {a}");
                GradCheck.Check(t => Ops.Softmax(t[0], a), [x]);
                GradCheck.Check(t => Ops.LogSoftmax(t[0], a), [x]);
            }
        }
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public void SoftmaxIsStableForLargeLogits(string backendName)
    {
        var be = BackendRegistry.Get(backendName);
        var x = Tensor.FromArray([1000f, 1001f, 1002f, -1000f, -1001f, -1002f], new Shape(2, 3), be);
        var e = new[] { Math.Exp(-2), Math.Exp(-1), 1.0 };
        double s = e.Sum();
        var expected = new[] { e[0] / s, e[1] / s, e[2] / s, e[2] / s, e[1] / s, e[0] / s };
        AssertAllClose(expected, Ops.Softmax(x).ToArray(), 1e-6, "softmax of ±1000");
        AssertAllClose(expected.Select(v => Math.Log(v)).ToArray(), Ops.LogSoftmax(x).ToArray(), 1e-5, "log_softmax of ±1000");
    }

    [Fact]
    public void SoftmaxRejectsScalarsAndIntegers()
    {
        var be = BackendRegistry.Get("cpu-reference");
        var ex = Assert.Throws<ArgumentException>(() => Ops.Softmax(Tensor.Scalar(1f, be)));
        Assert.Contains("scalar", ex.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => Ops.Softmax(Tensor.FromArray([1, 2], new Shape(2), be)));
        Assert.Throws<ArgumentOutOfRangeException>(() => Ops.Softmax(Tensor.Zeros(new Shape(2, 3), be), 2));
    }

    // ---- biased, masked softmax ---------------------------------------------------------------

    [Theory]
    [MemberData(nameof(Backends))]
    public void BiasedSoftmaxMatchesHostReference(string backendName)
    {
        var be = BackendRegistry.Get(backendName);
        var rng = new Generator(12);
        int[] dims = [2, 3, 4, 5];
        var x = Tensor.RandomNormal(new Shape(dims), rng, backend: be);
        var bias = Tensor.RandomNormal(new Shape(dims), rng, backend: be);
        int[] mask = [1, 1, 0, 1, 0, 1, 0, 1, 1, 1];
        var keyMask = Tensor.FromArray(mask, new Shape(2, 5), be);
        const float scale = 0.35f;
        var y = Ops.BiasedSoftmax(x, bias, keyMask, scale).ToArray();
        var expected = HostBiasedSoftmax(x.ToArray(), bias.ToArray(), mask, rows: 24, cols: 5, rowsPerMask: 12, scale);
        AssertAllClose(expected, y, 1e-6, "biased softmax [2, 3, 4, 5]");
        for (int r = 0; r < 24; r++)
            for (int j = 0; j < 5; j++)
                if (mask[r / 12 * 5 + j] == 0) Assert.Equal(0f, y[r * 5 + j]);

        // without bias and mask it is softmax(scale·x)
        var plain = Ops.BiasedSoftmax(x, scale: scale).ToArray();
        AssertAllClose(HostSoftmax(x.ToArray().Select(v => v * scale).ToArray(), dims, -1, log: false), plain, 1e-6, "biased softmax without bias or mask");
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public void BiasedSoftmaxGradients(string backendName)
    {
        var be = BackendRegistry.Get(backendName);
        var rng = new Generator(13);

        var x2 = GradCheck.Param(be, rng, 3, 5);
        GradCheck.Check(t => Ops.BiasedSoftmax(t[0], scale: 0.7f), [x2]);

        var x3 = GradCheck.Param(be, rng, 2, 3, 4);
        var b3 = GradCheck.Param(be, rng, 2, 3, 4);
        GradCheck.Check(t => Ops.BiasedSoftmax(t[0], t[1], scale: 0.7f), [x3, b3]);

        var mask3 = Tensor.FromArray([1, 0, 1, 1, 0, 1, 1, 0], new Shape(2, 4), be);
        GradCheck.Check(t => Ops.BiasedSoftmax(t[0], keyMask: mask3, scale: 1.3f), [x3]);

        var x4 = GradCheck.Param(be, rng, 2, 2, 3, 4);
        var b4 = GradCheck.Param(be, rng, 2, 2, 3, 4);
        GradCheck.Check(t => Ops.BiasedSoftmax(t[0], t[1], mask3, 0.35f), [x4, b4]);

        // a bias that does not require grad: only x gets a gradient
        var b4Const = b4.Detach();
        GradCheck.Check(t => Ops.BiasedSoftmax(t[0], b4Const, mask3, 0.35f), [x4]);
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public void FullyMaskedRowGivesZerosAndZeroGradients(string backendName)
    {
        var be = BackendRegistry.Get(backendName);
        var rng = new Generator(14);
        var x = GradCheck.Param(be, rng, 2, 3, 4);
        var bias = GradCheck.Param(be, rng, 2, 3, 4);
        int[] mask = [1, 0, 1, 1, 0, 0, 0, 0]; // item 0 drops key 1, item 1 drops every key
        var keyMask = Tensor.FromArray(mask, new Shape(2, 4), be);
        var y = Ops.BiasedSoftmax(x, bias, keyMask, 0.5f);
        var dy = Tensor.RandomNormal(y.Shape, rng, backend: be);
        y.Backward(dy);

        var yv = y.ToArray();
        var dx = x.Grad!.ToArray();
        var dBias = bias.Grad!.ToArray();
        for (int r = 0; r < 6; r++)
        {
            double rowSum = 0;
            for (int j = 0; j < 4; j++)
            {
                int i = r * 4 + j;
                Assert.False(float.IsNaN(yv[i]) || float.IsNaN(dx[i]) || float.IsNaN(dBias[i]), $"NaN at {i}");
                rowSum += yv[i];
                if (mask[r / 3 * 4 + j] == 0)
                {
                    Assert.Equal(0f, yv[i]);
                    Assert.Equal(0f, dx[i]);
                    Assert.Equal(0f, dBias[i]);
                }
                else
                {
                    Assert.NotEqual(0f, dx[i]);
                }
            }
            Assert.Equal(r < 3 ? 1.0 : 0.0, rowSum, 5);
        }
        // dBias = dx / scale where anything flows
        AssertAllClose(dx.Select(v => (double)v / 0.5).ToArray(), dBias, 1e-6, "dBias = dx / scale");
    }

    [Fact]
    public void BiasedSoftmaxRejectsBadShapes()
    {
        var be = BackendRegistry.Get("cpu-reference");
        var x = Tensor.Zeros(new Shape(2, 3, 4), be);
        var ex = Assert.Throws<ArgumentException>(() => Ops.BiasedSoftmax(x, keyMask: Tensor.FromArray(new int[6], new Shape(2, 3), be)));
        Assert.Contains("[2, 4]", ex.Message, StringComparison.Ordinal);
        ex = Assert.Throws<ArgumentException>(() => Ops.BiasedSoftmax(x, keyMask: Tensor.Zeros(new Shape(2, 4), be)));
        Assert.Contains("Int32", ex.Message, StringComparison.Ordinal);
        ex = Assert.Throws<ArgumentException>(() => Ops.BiasedSoftmax(x, bias: Tensor.Zeros(new Shape(3, 4), be)));
        Assert.Contains("[3, 4]", ex.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => Ops.BiasedSoftmax(Tensor.Zeros(new Shape(4), be), keyMask: Tensor.FromArray(new int[4], new Shape(1, 4), be)));
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public void BiasedSoftmaxMatchesPyTorchFixture(string backendName)
    {
        var be = BackendRegistry.Get(backendName);
        var f = FixtureFile.Load("softmax_scaled_biased_masked");
        float scale = f.Params.GetProperty("scale").GetSingle();
        var scores = f.Tensor("in.scores", be);
        var bias = f.Tensor("in.bias", be);
        scores.RequiresGrad = true;
        bias.RequiresGrad = true;
        var y = Ops.BiasedSoftmax(scores, bias, f.IntTensor("in.mask", be), scale);
        y.Backward(f.Tensor("gout.y", be));
        f.AssertClose("out.y", y.ToArray());
        f.AssertClose("grad.scores", scores.Grad!.ToArray());
        f.AssertClose("grad.bias", bias.Grad!.ToArray());
    }

    // ---- cross-entropy ------------------------------------------------------------------------

    [Theory]
    [MemberData(nameof(Backends))]
    public void CrossEntropyValuesForEveryReduction(string backendName)
    {
        var be = BackendRegistry.Get(backendName);
        var rng = new Generator(15);
        var logits = Tensor.RandomNormal(new Shape(5, 3), rng, std: 2f, backend: be);
        int[] labels = [0, 2, 1, 2, 0];
        var y = Tensor.FromArray(labels, new Shape(5), be);
        var logProbs = HostSoftmax(logits.ToArray(), [5, 3], -1, log: true);
        var perExample = labels.Select((l, i) => -logProbs[i * 3 + l]).ToArray();

        var none = Ops.CrossEntropy(logits, y, Reduction.None);
        Assert.Equal(new Shape(5), none.Shape);
        AssertAllClose(perExample, none.ToArray(), 1e-5, "cross_entropy none");
        var sum = Ops.CrossEntropy(logits, y, Reduction.Sum);
        Assert.Equal(Shape.Scalar, sum.Shape);
        Assert.Equal(perExample.Sum(), sum.Item(), 4);
        var mean = Ops.CrossEntropy(logits, y);
        Assert.Equal(Shape.Scalar, mean.Shape);
        Assert.Equal(perExample.Average(), mean.Item(), 5);
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public void CrossEntropyGradients(string backendName)
    {
        var be = BackendRegistry.Get(backendName);
        var rng = new Generator(16);
        foreach (var (n, c) in new[] { (4, 3), (1, 5), (6, 1), (3, 2) })
        {
            var logits = GradCheck.Param(be, rng, n, c);
            var labels = Tensor.FromArray(Enumerable.Range(0, n).Select(i => (i * 7 + 1) % c).ToArray(), new Shape(n), be);
            foreach (var reduction in new[] { Reduction.Mean, Reduction.Sum, Reduction.None })
                GradCheck.Check(t => Ops.CrossEntropy(t[0], labels, reduction), [logits]);
        }
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public void CrossEntropyMatchesPyTorchFixture(string backendName)
    {
        var be = BackendRegistry.Get(backendName);
        var f = FixtureFile.Load("cross_entropy");
        Assert.Equal("mean", f.Params.GetProperty("reduction").GetString());
        var logits = f.Tensor("in.logits", be);
        logits.RequiresGrad = true;
        var loss = Ops.CrossEntropy(logits, f.IntTensor("in.labels", be));
        loss.Backward(Tensor.FromArray(f.Floats("gout.loss"), loss.Shape, be));
        f.AssertClose("out.loss", loss.ToArray());
        f.AssertClose("grad.logits", logits.Grad!.ToArray());
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public void CrossEntropyRejectsBadLabels(string backendName)
    {
        var be = BackendRegistry.Get(backendName);
        var logits = Tensor.Zeros(new Shape(3, 4), be);
        var ex = Assert.Throws<ArgumentException>(() => Ops.CrossEntropy(logits, Tensor.FromArray([0, 3, 4], new Shape(3), be)));
        Assert.Contains("label 4", ex.Message, StringComparison.Ordinal);
        Assert.Contains("index 2", ex.Message, StringComparison.Ordinal);
        Assert.Contains("4 classes", ex.Message, StringComparison.Ordinal);
        ex = Assert.Throws<ArgumentException>(() => Ops.CrossEntropy(logits, Tensor.FromArray([0, -1, 1], new Shape(3), be)));
        Assert.Contains("label -1", ex.Message, StringComparison.Ordinal);
        Assert.Contains("index 1", ex.Message, StringComparison.Ordinal);
        // the backend primitive checks too
        var bad = Tensor.FromArray([0, 1, 7], new Shape(3), be);
        var loss = Tensor.Empty(new Shape(3), DType.Float32, be);
        var probs = Tensor.Empty(new Shape(3, 4), DType.Float32, be);
        ex = Assert.Throws<ArgumentException>(() => be.CrossEntropyForward(logits.Storage, bad.Storage, loss.Storage, probs.Storage, 3, 4));
        Assert.Contains("label 7 at index 2", ex.Message, StringComparison.Ordinal);
        ex = Assert.Throws<ArgumentException>(() => Ops.CrossEntropy(logits, Tensor.FromArray([0, 1], new Shape(2), be)));
        Assert.Contains("[3]", ex.Message, StringComparison.Ordinal);
        ex = Assert.Throws<ArgumentException>(() => Ops.CrossEntropy(logits, Tensor.Zeros(new Shape(3), be)));
        Assert.Contains("Int32", ex.Message, StringComparison.Ordinal);
    }

    // ---- fast backend equals the reference ----------------------------------------------------

    [Fact]
    public void CpuBackendMatchesReference()
    {
        var reference = BackendRegistry.Get("cpu-reference");
        var fast = BackendRegistry.Get("cpu");
        var rng = new Generator(17);
        var xData = Tensor.RandomNormal(new Shape(3, 4, 37), rng, std: 3f, backend: reference).ToArray();
        var bData = Tensor.RandomNormal(new Shape(3, 4, 37), rng, backend: reference).ToArray();
        var dyData = Tensor.RandomNormal(new Shape(3, 4, 37), rng, backend: reference).ToArray();
        var maskData = Enumerable.Range(0, 3 * 37).Select(i => i % 5 == 2 || i >= 74 ? 0 : 1).ToArray();
        var labelData = Enumerable.Range(0, 12).Select(i => i * 5 % 37).ToArray();

        (float[] Y, float[] Dx, float[] Db)[] results = new (float[], float[], float[])[2];
        var backends = new[] { reference, fast };
        for (int k = 0; k < 2; k++)
        {
            var be = backends[k];
            var x = Tensor.FromArray(xData, new Shape(3, 4, 37), be);
            var b = Tensor.FromArray(bData, new Shape(3, 4, 37), be);
            x.RequiresGrad = true;
            b.RequiresGrad = true;
            var dy = Tensor.FromArray(dyData, x.Shape, be);
            var y1 = Ops.BiasedSoftmax(x, b, Tensor.FromArray(maskData, new Shape(3, 37), be), 0.125f);
            var y2 = Ops.LogSoftmax(x, 1);
            var y3 = Ops.CrossEntropy(Ops.Reshape(x, 12, 37), Tensor.FromArray(labelData, new Shape(12), be), Reduction.None);
            Graph.Backward([y1, y2, y3], [dy, dy, Tensor.FromArray(dyData.AsSpan(0, 12), new Shape(12), be)]);
            results[k] = ([.. y1.ToArray(), .. y2.ToArray(), .. y3.ToArray()], x.Grad!.ToArray(), b.Grad!.ToArray());
        }
        AssertAllClose(results[0].Y.Select(v => (double)v).ToArray(), results[1].Y, 1e-5, "forward cpu vs cpu-reference");
        AssertAllClose(results[0].Dx.Select(v => (double)v).ToArray(), results[1].Dx, 1e-5, "dx cpu vs cpu-reference");
        AssertAllClose(results[0].Db.Select(v => (double)v).ToArray(), results[1].Db, 1e-5, "dBias cpu vs cpu-reference");
    }

    // ---- host references in double ------------------------------------------------------------

    private static double[] HostSoftmax(float[] x, int[] dims, int axis, bool log)
    {
        int a = axis < 0 ? axis + dims.Length : axis;
        int outer = 1, inner = 1, len = dims[a];
        for (int i = 0; i < a; i++) outer *= dims[i];
        for (int i = a + 1; i < dims.Length; i++) inner *= dims[i];
        var y = new double[x.Length];
        for (int o = 0; o < outer; o++)
            for (int q = 0; q < inner; q++)
            {
                int Index(int j) => (o * len + j) * inner + q;
                double max = double.NegativeInfinity;
                for (int j = 0; j < len; j++) max = Math.Max(max, x[Index(j)]);
                double s = 0;
                for (int j = 0; j < len; j++) s += Math.Exp(x[Index(j)] - max);
                for (int j = 0; j < len; j++)
                    y[Index(j)] = log ? x[Index(j)] - max - Math.Log(s) : Math.Exp(x[Index(j)] - max) / s;
            }
        return y;
    }

    private static double[] HostBiasedSoftmax(float[] x, float[] bias, int[] mask, int rows, int cols, int rowsPerMask, float scale)
    {
        var y = new double[x.Length];
        for (int r = 0; r < rows; r++)
        {
            bool Keep(int j) => mask[r / rowsPerMask * cols + j] != 0;
            double max = double.NegativeInfinity;
            for (int j = 0; j < cols; j++)
                if (Keep(j)) max = Math.Max(max, (double)scale * x[r * cols + j] + bias[r * cols + j]);
            double s = 0;
            for (int j = 0; j < cols; j++)
                if (Keep(j)) s += Math.Exp((double)scale * x[r * cols + j] + bias[r * cols + j] - max);
            for (int j = 0; j < cols; j++)
                y[r * cols + j] = Keep(j) ? Math.Exp((double)scale * x[r * cols + j] + bias[r * cols + j] - max) / s : 0;
        }
        return y;
    }

    private static void AssertAllClose(double[] expected, float[] actual, double tol, string what)
    {
        Assert.True(expected.Length == actual.Length, $"{what}: {actual.Length} values, expected {expected.Length}");
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(actual[i] - expected[i]) <= tol * (1 + Math.Abs(expected[i])),
                $"{what}: element {i} is {actual[i]:G9}, expected {expected[i]:G9}");
    }
}
