using SerEngine.Backends;

namespace SerEngine.Tests.Engine;

/// <summary>
/// conv2d, maxpool2d and batchnorm2d on both CPU backends: finite-difference gradient checks,
/// hand-computed values, and the errors for bad shapes.
/// </summary>
public class Conv2dPoolNormTests
{
    public static TheoryData<string> Backends => GradCheck.CpuBackends;

    // N, C, H, W, K, R, S, stride, padding (top, bottom, left, right), dilation, bias
    private static readonly (int N, int C, int H, int W, int K, int R, int S, (int, int) Stride, (int, int, int, int) Pad, (int, int) Dil, bool Bias)[] ConvCases =
    [
        (2, 3, 6, 5, 4, 3, 3, (1, 1), (1, 1, 1, 1), (1, 1), true),    // the common 3×3 "same" conv
        (1, 2, 9, 8, 3, 3, 2, (2, 3), (0, 2, 1, 0), (1, 1), false),   // stride, asymmetric padding, non-square kernel
        (2, 2, 9, 7, 2, 3, 3, (2, 1), (1, 2, 2, 1), (2, 2), true),    // dilation
        (1, 1, 11, 6, 3, 5, 2, (1, 1), (2, 2, 0, 0), (1, 1), true),   // 1 input channel, tall kernel (like 10×2)
        (1, 1, 4, 11, 2, 2, 4, (1, 1), (0, 0, 2, 1), (1, 1), false),  // wide kernel (like 2×8), odd padding
        (1, 1, 1, 5, 1, 1, 3, (1, 1), (0, 0, 1, 1), (1, 1), true),    // size-1 dims: N, C, H, K, R
        (2, 3, 5, 5, 2, 1, 1, (1, 1), (0, 0, 0, 0), (1, 1), true),    // 1×1 kernel
        (1, 2, 13, 12, 2, 5, 5, (4, 3), (2, 1, 2, 0), (1, 2), false), // large stride (like 11×11 stride 4)
    ];

    [Theory]
    [MemberData(nameof(Backends))]
    public void Conv2dGradients(string backendName)
    {
        var be = BackendRegistry.Get(backendName);
        var rng = new Generator(11);
        foreach (var c in ConvCases)
        {
            var x = GradCheck.Param(be, rng, c.N, c.C, c.H, c.W);
            var w = GradCheck.Param(be, rng, c.K, c.C, c.R, c.S);
            var (st, pad, dil) = (c.Stride, c.Pad, c.Dil);
            if (c.Bias)
                GradCheck.Check(t => Ops.Conv2d(t[0], t[1], t[2], st, pad, dil), [x, w, GradCheck.Param(be, rng, c.K)]);
            else
                GradCheck.Check(t => Ops.Conv2d(t[0], t[1], null, st, pad, dil), [x, w]);
        }
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public void Conv2dValuesByHand(string backendName)
    {
        var be = BackendRegistry.Get(backendName);
        // x = 1..9 in a 3×3 plane, two filters: all ones and a single top-left tap, bias 0.5 and −1
        var x = Tensor.FromArray([1f, 2f, 3f, 4f, 5f, 6f, 7f, 8f, 9f], new Shape(1, 1, 3, 3), be);
        var w = Tensor.FromArray([1f, 1f, 1f, 1f, 2f, 0f, 0f, 0f], new Shape(2, 1, 2, 2), be);
        var b = Tensor.FromArray([0.5f, -1f], new Shape(2), be);
        var y = Ops.Conv2d(x, w, b); // valid 2×2 output per filter
        Assert.Equal(new Shape(1, 2, 2, 2), y.Shape);
        Assert.Equal([12.5f, 16.5f, 24.5f, 28.5f, 1f, 3f, 7f, 9f], y.ToArray());
        // padding 1 on the left only, stride 2: columns −1, 1 (of width 2) over rows 0, 1 (stride 2 → row 0 only)
        var y2 = Ops.Conv2d(x, w, null, (2, 2), (0, 0, 1, 0), (1, 1));
        Assert.Equal(new Shape(1, 2, 1, 2), y2.Shape);
        Assert.Equal([1f + 4f, 2f + 3f + 5f + 6f, 0f, 4f], y2.ToArray());
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public void MaxPool2dGradients(string backendName)
    {
        var be = BackendRegistry.Get(backendName);
        var rng = new Generator(12);
        ((int, int) K, (int, int)? S, (int, int)? P, int[] Dims)[] cases =
        [
            ((2, 2), null, null, [2, 3, 6, 7]),            // kernel 2 stride 2 (odd width: last column dropped)
            ((3, 3), (2, 2), null, [1, 2, 9, 8]),          // kernel 3 stride 2 (overlapping windows)
            ((3, 3), (2, 2), (1, 1), [2, 1, 7, 6]),        // with padding
            ((2, 3), (1, 2), (1, 1), [1, 2, 5, 7]),        // non-square, stride 1 rows, overlapping
        ];
        foreach (var (k, s, p, dims) in cases)
        {
            var x = DistinctValues(be, rng, dims);
            GradCheck.Check(t => Ops.MaxPool2d(t[0], k, s, p), [x]);
        }
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public void MaxPool2dValuesByHand(string backendName)
    {
        var be = BackendRegistry.Get(backendName);
        // 4×5 plane; kernel 2 stride 2 floors to 2×2 windows and drops the last column
        float[] v = [1, 9, 2, 3, 99, 4, 5, 8, 7, 99, -1, -2, -3, -4, 99, -5, -6, -9, -8, 99];
        var x = Tensor.FromArray(v, new Shape(1, 1, 4, 5), be);
        x.RequiresGrad = true;
        var y = Ops.MaxPool2d(x, (2, 2));
        Assert.Equal([9f, 8f, -1f, -3f], y.ToArray());
        // padding 1, kernel 3, stride 2: windows start at −1, so padded positions never win even when all real values are negative
        var neg = Tensor.FromArray([.. v.Select(t => -Math.Abs(t) - 1)], new Shape(1, 1, 4, 5), be);
        var yp = Ops.MaxPool2d(neg, (3, 3), (2, 2), (1, 1));
        Assert.Equal(new Shape(1, 1, 2, 3), yp.Shape);
        Assert.Equal([-2f, -3f, -4f, -2f, -3f, -5f], yp.ToArray());
        // backward: dy goes to the winners; overlapping windows accumulate
        var y3 = Ops.MaxPool2d(x, (2, 2), (1, 1));
        y3.Sum().Backward();
        var g = x.Grad!.ToArray();
        // windows of rows 0-1 (cols 0-1, 1-2, 2-3, 3-4) pick 9, 9, 8, 99; rows 1-2: 5, 8, 8, 99; rows 2-3: -1, -2, -3, 99.
        // Ties between the 99s of a window go to the first in row-major order (the upper one).
        Assert.Equal(2f, g[1]);  // 9
        Assert.Equal(3f, g[7]);  // 8
        Assert.Equal(1f, g[6]);  // 5
        Assert.Equal([1f, 1f, 1f, 0f], new[] { g[4], g[9], g[14], g[19] }); // the 99 column
        Assert.Equal(12f, g.Sum()); // one unit per output
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public void BatchNorm2dTrainGradients(string backendName)
    {
        var be = BackendRegistry.Get(backendName);
        var rng = new Generator(13);
        var x = GradCheck.Param(be, rng, 3, 2, 3, 4);
        var w = GradCheck.Param(be, rng, 2);
        var b = GradCheck.Param(be, rng, 2);
        GradCheck.Check(t => Ops.BatchNorm2d(t[0], t[1], t[2], null, null, training: true), [x, w, b], eps: 1e-3, rtol: 2e-2);
        // without affine parameters, and with running buffers being updated alongside
        var rm = Tensor.Zeros(new Shape(2), be);
        var rv = Tensor.Ones(new Shape(2), be);
        GradCheck.Check(t => Ops.BatchNorm2d(t[0], null, null, rm, rv, training: true), [x], eps: 1e-3, rtol: 2e-2);
        // size-1 spatial dims (the statistics run over the batch only)
        var x1 = GradCheck.Param(be, rng, 5, 3, 1, 1);
        GradCheck.Check(t => Ops.BatchNorm2d(t[0], t[1], null, null, null, training: true), [x1, GradCheck.Param(be, rng, 3)], eps: 1e-3, rtol: 2e-2);
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public void BatchNorm2dEvalGradients(string backendName)
    {
        var be = BackendRegistry.Get(backendName);
        var rng = new Generator(14);
        var x = GradCheck.Param(be, rng, 2, 3, 2, 5);
        var w = GradCheck.Param(be, rng, 3);
        var b = GradCheck.Param(be, rng, 3);
        var rm = Tensor.FromArray([0.3f, -0.2f, 1.1f], new Shape(3), be);
        var rv = Tensor.FromArray([0.5f, 2f, 1.3f], new Shape(3), be);
        GradCheck.Check(t => Ops.BatchNorm2d(t[0], t[1], t[2], rm, rv, training: false), [x, w, b]);
        // eval leaves the running buffers alone
        Assert.Equal([0.3f, -0.2f, 1.1f], rm.ToArray());
        Assert.Equal([0.5f, 2f, 1.3f], rv.ToArray());
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public void BatchNorm2dRunningStatsAndValues(string backendName)
    {
        var be = BackendRegistry.Get(backendName);
        var rng = new Generator(15);
        int n = 3, c = 2, h = 2, w = 3, m = n * h * w;
        var xv = new float[n * c * h * w];
        for (int i = 0; i < xv.Length; i++) xv[i] = 2f * rng.NextNormal() + 1f;
        var x = Tensor.FromArray(xv, new Shape(n, c, h, w), be);
        var weight = Tensor.FromArray([1.5f, -0.5f], new Shape(c), be);
        var bias = Tensor.FromArray([0.25f, 2f], new Shape(c), be);
        var rm = Tensor.FromArray([0.5f, -1f], new Shape(c), be);
        var rv = Tensor.FromArray([2f, 0.5f], new Shape(c), be);
        var y = Ops.BatchNorm2d(x, weight, bias, rm, rv, training: true, momentum: 0.2f, eps: 1e-3f).ToArray();
        double[] expRm = [0.5, -1], expRv = [2, 0.5];
        for (int step = 0; step < 2; step++)
        {
            if (step == 1) Ops.BatchNorm2d(x, weight, bias, rm, rv, training: true, momentum: 0.2f, eps: 1e-3f);
            for (int ch = 0; ch < c; ch++)
            {
                var vals = Channel(xv, n, c, h * w, ch);
                double mean = vals.Average();
                double ss = vals.Sum(v => (v - mean) * (v - mean));
                expRm[ch] = 0.8 * expRm[ch] + 0.2 * mean;
                expRv[ch] = 0.8 * expRv[ch] + 0.2 * ss / (m - 1); // unbiased
                if (step == 0)
                {
                    double istd = 1 / Math.Sqrt(ss / m + 1e-3); // biased variance normalises
                    double wt = ch == 0 ? 1.5 : -0.5, bs = ch == 0 ? 0.25 : 2;
                    var got = Channel(y, n, c, h * w, ch);
                    for (int i = 0; i < vals.Length; i++)
                        Assert.Equal((vals[i] - mean) * istd * wt + bs, got[i], 4);
                }
            }
            var gotRm = rm.ToArray();
            var gotRv = rv.ToArray();
            for (int ch = 0; ch < c; ch++)
            {
                Assert.Equal(expRm[ch], gotRm[ch], 5);
                Assert.Equal(expRv[ch], gotRv[ch], 5);
            }
        }
        // eval normalises with the running buffers
        var ye = Ops.BatchNorm2d(x, weight, bias, rm, rv, training: false, eps: 1e-3f).ToArray();
        for (int ch = 0; ch < c; ch++)
        {
            var vals = Channel(xv, n, c, h * w, ch);
            var got = Channel(ye, n, c, h * w, ch);
            double wt = ch == 0 ? 1.5 : -0.5, bs = ch == 0 ? 0.25 : 2;
            for (int i = 0; i < vals.Length; i++)
                Assert.Equal((vals[i] - expRm[ch]) / Math.Sqrt(expRv[ch] + 1e-3) * wt + bs, got[i], 4);
        }
    }

    [Fact]
    public void ShapeErrorsAreClear()
    {
        var x = Tensor.Zeros(new Shape(2, 3, 8, 8));
        var w = Tensor.Zeros(new Shape(4, 5, 3, 3));
        var e = Assert.Throws<ArgumentException>(() => Ops.Conv2d(x, w));
        Assert.Contains("[2, 3, 8, 8]", e.Message);
        Assert.Contains("[4, 5, 3, 3]", e.Message);
        e = Assert.Throws<ArgumentException>(() => Ops.Conv2d(Tensor.Zeros(new Shape(3, 8, 8)), w));
        Assert.Contains("[N, C, H, W]", e.Message);
        // an 11×11 kernel with padding 2 needs at least 7 rows and columns
        e = Assert.Throws<ArgumentException>(() => Ops.Conv2d(Tensor.Zeros(new Shape(1, 1, 6, 40)), Tensor.Zeros(new Shape(2, 1, 11, 11)), null, (4, 4), (2, 2)));
        Assert.Contains("6×40", e.Message);
        Assert.Contains("7×7", e.Message);
        e = Assert.Throws<ArgumentException>(() => Ops.Conv2d(x, Tensor.Zeros(new Shape(4, 3, 3, 3)), Tensor.Zeros(new Shape(5))));
        Assert.Contains("[5]", e.Message);
        e = Assert.Throws<ArgumentException>(() => Ops.MaxPool2d(Tensor.Zeros(new Shape(1, 1, 2, 9)), (3, 3), (2, 2)));
        Assert.Contains("2×9", e.Message);
        Assert.Contains("3×3", e.Message);
        e = Assert.Throws<ArgumentException>(() => Ops.MaxPool2d(Tensor.Zeros(new Shape(1, 8, 8)), (2, 2)));
        Assert.Contains("[N, C, H, W]", e.Message);
        e = Assert.Throws<ArgumentException>(() => Ops.BatchNorm2d(x, Tensor.Ones(new Shape(4)), null, null, null, training: true));
        Assert.Contains("[2, 3, 8, 8]", e.Message);
        Assert.Contains("[4]", e.Message);
        e = Assert.Throws<ArgumentException>(() => Ops.BatchNorm2d(Tensor.Zeros(new Shape(1, 3, 1, 1)), null, null, null, null, training: true));
        Assert.Contains("more than 1 value", e.Message);
        Assert.Throws<ArgumentException>(() => Ops.BatchNorm2d(x, null, null, null, null, training: false));
    }

    /// <summary>Distinct values 0.1 apart in shuffled order, so a ±1e-2 nudge never changes a max.</summary>
    private static Tensor DistinctValues(Backend be, Generator rng, int[] dims)
    {
        int size = dims.Aggregate(1, (a, b) => a * b);
        var v = Enumerable.Range(0, size).Select(i => 0.1f * (i - size / 2)).ToArray();
        for (int i = size - 1; i > 0; i--)
        {
            int j = (int)(rng.NextSingle() * (i + 1)) % (i + 1);
            (v[i], v[j]) = (v[j], v[i]);
        }
        var t = Tensor.FromArray(v, new Shape(dims), be);
        t.RequiresGrad = true;
        return t;
    }

    /// <summary>The values of channel <paramref name="ch"/> of a [N, C, HW] array, in order.</summary>
    private static double[] Channel(float[] a, int n, int c, int hw, int ch)
    {
        var r = new double[n * hw];
        for (int i = 0; i < n; i++)
            for (int j = 0; j < hw; j++) r[i * hw + j] = a[(i * c + ch) * hw + j];
        return r;
    }
}
