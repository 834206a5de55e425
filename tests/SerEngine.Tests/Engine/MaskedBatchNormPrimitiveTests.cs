using SerEngine.Backends;
using SerEngine.Backends.Cpu;
using SerEngine.Tests.Gpu;

namespace SerEngine.Tests.Engine;

/// <summary>
/// The column-masked BatchNorm2d primitives (Backend.BatchNorm2dForward/Backward with validColumns) on
/// cpu (1, 2 and 3 threads), opencl (PoCL; a missing device fails under CI=true) and ilgpu-cpu against
/// the cpu-reference loops: batch 1 and 3, odd H and W, valid counts of 0, 1, W and above W, training
/// and eval, with and without affine parameters and running buffers. Outputs start as NaN, so a
/// position the backend skips (a padded one included: it must be written 0) fails.
/// </summary>
public class MaskedBatchNormPrimitiveTests(ITestOutputHelper output)
{
    private static readonly CpuReferenceBackend Ref = KernelTwin.Reference;

    // N, C, H, W, valid columns per item
    public static TheoryData<int, int, int, int, int[]> Cases => new()
    {
        { 1, 2, 3, 5, [2] },
        { 3, 3, 5, 7, [7, 1, 4] },
        { 3, 2, 1, 9, [0, 12, 3] },              // an empty item, a count above W, one row
        { 2, 4, 7, 33, [33, 17] },                // every column of item 0
        { 4, 9, 9, 65, [65, 40, 2, 31] },         // above the cpu backend's threshold for threads
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void CpuMatchesTheReference(int n, int c, int h, int w, int[] valid)
    {
        foreach (var threads in new[] { 1, 2, 3 }) Compare(new CpuBackend(threads), n, c, h, w, valid, $"cpu t{threads}");
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void OpenClMatchesTheReference(int n, int c, int h, int w, int[] valid)
    {
        if (KernelTwin.Device("opencl", output) is { } be) Compare(be, n, c, h, w, valid, "opencl");
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void IlgpuCpuMatchesTheReference(int n, int c, int h, int w, int[] valid)
    {
        if (KernelTwin.Device("ilgpu-cpu", output) is { } be) Compare(be, n, c, h, w, valid, "ilgpu-cpu");
    }

    [Fact]
    public void AFullMaskGivesTheUnmaskedResultsBitForBit()
    {
        var be = new CpuBackend(2);
        const int n = 3, c = 4, h = 5, w = 11, hw = h * w;
        var x = KernelTwin.Normal(n * c * hw, 11, 2f, 3f);
        var dy = KernelTwin.Normal(n * c * hw, 12);
        var (y0, mean0, istd0, dx0, _, _) = Run(be, x, dy, n, c, hw, w, null, training: true, affine: true);
        var (y1, mean1, istd1, dx1, _, _) = Run(be, x, dy, n, c, hw, w, [w, w, w], training: true, affine: true);
        Assert.Equal(y0, y1);
        Assert.Equal(mean0, mean1);
        Assert.Equal(istd0, istd1);
        Assert.Equal(dx0, dx1);
    }

    private static void Compare(Backend be, int n, int c, int h, int w, int[] valid, string name)
    {
        int hw = h * w;
        var x = KernelTwin.Normal(n * c * hw, 7 + n + w, 2f, 3f); // a mean far from zero
        var dy = KernelTwin.Normal(n * c * hw, 8 + n + w);
        foreach (bool training in new[] { true, false })
            foreach (bool affine in new[] { true, false })
            {
                string what = $"{name} [{n},{c},{h},{w}] valid [{string.Join(",", valid)}] training={training} affine={affine}";
                var expected = Run(Ref, x, dy, n, c, hw, w, valid, training, affine);
                var actual = Run(be, x, dy, n, c, hw, w, valid, training, affine);
                Agree(expected.Y, actual.Y, 1e-4, $"y {what}");
                Agree(expected.Mean, actual.Mean, 1e-5, $"mean {what}");
                Agree(expected.InvStd, actual.InvStd, 1e-4, $"invStd {what}");
                Agree(expected.Dx, actual.Dx, 1e-4, $"dx {what}");
                Agree(expected.Running, actual.Running, 1e-5, $"running mean and var {what}");
                double scale = Math.Sqrt(n * hw);
                Agree(expected.DWeightBias, actual.DWeightBias, 1e-5 * scale, $"dWeight and dBias {what}");
                for (int i = 0; i < n; i++)
                    for (int j = 0; j < c * hw; j++)
                        if (j % w >= valid[i])
                        {
                            Assert.True(actual.Y[i * c * hw + j] == 0f, $"y at a padded position not 0, {what}");
                            Assert.True(actual.Dx[i * c * hw + j] == 0f, $"dx at a padded position not 0, {what}");
                        }
            }
    }

    private static (float[] Y, float[] Mean, float[] InvStd, float[] Dx, float[] Running, float[] DWeightBias) Run(
        Backend be, float[] xv, float[] dyv, int n, int c, int hw, int w, int[]? valid, bool training, bool affine)
    {
        using var x = Store(be, xv);
        using var dy = Store(be, dyv);
        using var weight = affine ? Store(be, [.. Enumerable.Range(0, c).Select(i => 0.5f + 0.25f * i)]) : null;
        using var bias = affine ? Store(be, [.. Enumerable.Range(0, c).Select(i => 0.1f * i - 0.2f)]) : null;
        using var runningMean = Store(be, [.. Enumerable.Range(0, c).Select(i => 0.3f * i)]);
        using var runningVar = Store(be, [.. Enumerable.Range(0, c).Select(i => 0.5f + i)]);
        using var y = Store(be, Nan(n * c * hw));
        using var mean = Store(be, Nan(c));
        using var invStd = Store(be, Nan(c));
        be.BatchNorm2dForward(x, weight, bias, y, mean, invStd, runningMean, runningVar, n, c, hw, 1e-5f, 0.1f, training, valid, w);
        using var dx = Store(be, Nan(n * c * hw));
        using var dWeight = affine ? Store(be, Nan(c)) : null;
        using var dBias = affine ? Store(be, Nan(c)) : null;
        be.BatchNorm2dBackward(dy, x, weight, mean, invStd, dx, dWeight, dBias, n, c, hw, training, valid, w);
        float[] Load(Storage? s, int length)
        {
            var v = new float[s is null ? 0 : length];
            if (s is not null) be.Read(s, v);
            return v;
        }
        return (Load(y, n * c * hw), Load(mean, c), Load(invStd, c), Load(dx, n * c * hw),
            [.. Load(runningMean, c), .. Load(runningVar, c)], [.. Load(dWeight, c), .. Load(dBias, c)]);
    }

    private static float[] Nan(int length) => Enumerable.Repeat(float.NaN, length).ToArray();

    private static Storage Store(Backend be, float[] values)
    {
        var s = be.Allocate(values.Length, DType.Float32);
        be.Write(s, values);
        return s;
    }

    private static void Agree(float[] expected, float[] actual, double tol, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
        {
            double e = expected[i], a = actual[i];
            Assert.True(Math.Abs(e - a) <= tol * (1 + Math.Abs(e)), $"{what}[{i}]: expected {e}, got {a}");
        }
    }
}
