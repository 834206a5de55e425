using SerEngine.Backends;
using SerEngine.Backends.Gpu;

namespace SerEngine.Tests.Gpu;

/// <summary>
/// Every softmax variant of kernels/softmax.cl (group_tree, group_online, subgroup) against the CPU
/// reference at awkward sizes: 1, 5, 33, 129, 300 columns, row counts that are not multiples of the
/// rows per work-group, rows past the subgroup limit, all-masked rows, a key mask shared by several
/// rows, large-magnitude rows whose max moves at every element (the online rescaling), NaN-filled
/// outputs and sentinels after them. On OpenCL a variant the device lacks (subgroup on PoCL) must be
/// refused in one line; on CUDA (a GPU machine) every variant runs.
/// </summary>
[Collection(ProcessWideCollection.Name)] // switches the shared backend's kernel variants
public class SoftmaxVariantTests(ITestOutputHelper output)
{
    private string _saved = "";

    // (rows, cols): one element, odd, a warp + 1, a group + 1 on 129, few hundred, 5 rows of 4 per
    // group + 1, a long row past SoftmaxSubgroupMaxCols (falls back to the group variants)
    private static readonly (int Rows, int Cols)[] Sizes = [(1, 1), (3, 5), (5, 33), (7, 129), (9, 300), (17, 5), (2, 1500)];

    /// <summary>(device, variant) pairs: OpenCL and CUDA, every variant.</summary>
    public static TheoryData<string, string> DeviceVariants
    {
        get
        {
            var data = new TheoryData<string, string>();
            foreach (var device in new[] { "opencl", "cuda" })
                foreach (var variant in GpuBackend.SoftmaxVariants) data.Add(device, variant);
            return data;
        }
    }

    /// <summary>The backend with <paramref name="variant"/> selected, or null (skipped device, or a variant refused as it must be).</summary>
    private GpuBackend? WithVariant(string device, string variant)
    {
        if (KernelTwin.Device(device, output) is not GpuBackend be) return null;
        if (variant == "subgroup" && !be.HasSubgroups)
        {
            Assert.Equal("opencl", device); // CUDA always has warps
            var e = Assert.Throws<NotSupportedException>(() => be.SoftmaxVariant = variant);
            Assert.DoesNotContain('\n', e.Message);
            Assert.Contains("needs subgroups", e.Message, StringComparison.Ordinal);
            output.WriteLine($"refused as expected: {e.Message}");
            return null;
        }
        _saved = be.SoftmaxVariant;
        be.SoftmaxVariant = variant;
        return be;
    }

    /// <summary>An output buffer of n NaNs plus sentinels: every element must be written, nothing after it.</summary>
    private static KernelTwin NaNOutput(Backend be, int n) =>
        KernelTwin.Of(be, [.. Enumerable.Repeat(float.NaN, n), .. Enumerable.Repeat(777.25f, KernelTwin.OutputPadding)]);

    private static void AssertWrittenExactly(KernelTwin y, int n, string what)
    {
        var v = y.GpuFloats();
        for (int i = 0; i < n; i++) Assert.False(float.IsNaN(v[i]), $"{what}: element {i} not written (still NaN)");
        for (int i = n; i < v.Length; i++) Assert.True(v[i] == 777.25f, $"{what}: sentinel {i - n} after the output is {v[i]}");
    }

    [Theory]
    [MemberData(nameof(DeviceVariants))]
    public void SoftmaxRowsMatchReference(string device, string variant)
    {
        var be = WithVariant(device, variant);
        if (be is null) return;
        try
        {
            var cpu = KernelTwin.Reference;
            foreach (bool log in new[] { false, true })
            {
                foreach (var (rows, cols) in Sizes)
                {
                    int n = rows * cols;
                    string what = $"{variant} ({be.ChooseSoftmax(cols)}) {(log ? "log-softmax" : "softmax")} [{rows}, {cols}]";
                    using var x = KernelTwin.Of(be, KernelTwin.Normal(n, n + 11, scale: 4f, offset: 50f));
                    using var y = NaNOutput(be, n);
                    be.Softmax(x.Gpu, y.Gpu, rows, cols, log);
                    cpu.Softmax(x.Cpu, y.Cpu, rows, cols, log);
                    AssertWrittenExactly(y, n, what);
                    y.AssertClose(1e-5, log ? 2e-5 : 1e-7, what);

                    be.Write(y.Gpu, y.CpuFloats());
                    using var dy = KernelTwin.Of(be, KernelTwin.Normal(n, n + 7));
                    using var dx = NaNOutput(be, n);
                    be.SoftmaxBackward(y.Gpu, dy.Gpu, dx.Gpu, rows, cols, log);
                    cpu.SoftmaxBackward(y.Cpu, dy.Cpu, dx.Cpu, rows, cols, log);
                    AssertWrittenExactly(dx, n, what + " backward");
                    dx.AssertClose(1e-5, 1e-5, what + " backward");
                }
            }
        }
        finally
        {
            be.SoftmaxVariant = _saved;
        }
    }

    [Theory]
    [MemberData(nameof(DeviceVariants))]
    public void LargeMagnitudeRowsWhoseMaxMovesAtEveryElement(string device, string variant)
    {
        var be = WithVariant(device, variant);
        if (be is null) return;
        try
        {
            var cpu = KernelTwin.Reference;
            foreach (int cols in new[] { 5, 33, 300, 1500 })
            {
                // row 0 rises (a new max at every element), row 1 falls, row 2 spans ±3e4 at random, row 3 one huge spike last
                const int rows = 4;
                var xv = new float[rows * cols];
                var noise = KernelTwin.Normal(rows * cols, cols, scale: 3e4f);
                for (int j = 0; j < cols; j++)
                {
                    xv[j] = -1000f + 7f * j;
                    xv[cols + j] = 2000f - 0.5f * j;
                    xv[2 * cols + j] = noise[2 * cols + j];
                    xv[3 * cols + j] = j == cols - 1 ? 1e30f : -1e30f + j;
                }
                int n = rows * cols;
                foreach (bool log in new[] { false, true })
                {
                    string what = $"{variant} ({be.ChooseSoftmax(cols)}) large {(log ? "log-softmax" : "softmax")} [{rows}, {cols}]";
                    using var x = KernelTwin.Of(be, xv);
                    using var y = NaNOutput(be, n);
                    be.Softmax(x.Gpu, y.Gpu, rows, cols, log);
                    cpu.Softmax(x.Cpu, y.Cpu, rows, cols, log);
                    AssertWrittenExactly(y, n, what);
                    y.AssertClose(1e-5, log ? 1e-5 : 1e-7, what);
                }
                using var xb = KernelTwin.Of(be, xv);
                using var yb = NaNOutput(be, n);
                be.BiasedSoftmax(xb.Gpu, null, null, yb.Gpu, rows, cols, 1, 1f);
                cpu.BiasedSoftmax(xb.Cpu, null, null, yb.Cpu, rows, cols, 1, 1f);
                AssertWrittenExactly(yb, n, $"{variant} large biased [{rows}, {cols}]");
                yb.AssertClose(1e-5, 1e-7, $"{variant} large biased [{rows}, {cols}]");
            }
        }
        finally
        {
            be.SoftmaxVariant = _saved;
        }
    }

    [Theory]
    [MemberData(nameof(DeviceVariants))]
    public void BiasedSoftmaxMatchesReferenceWithSharedMasksAndAllMaskedRows(string device, string variant)
    {
        var be = WithVariant(device, variant);
        if (be is null) return;
        try
        {
            var cpu = KernelTwin.Reference;
            // (rows, cols, rowsPerMask): the mask row shared by rowsPerMask rows; rows not a multiple of 4 (rows per CUDA group)
            foreach (var (rows, cols, rowsPerMask) in new[] { (1, 1, 1), (6, 5, 3), (9, 33, 2), (7, 129, 7), (11, 300, 4), (3, 1500, 2) })
            {
                int n = rows * cols, maskRows = (rows + rowsPerMask - 1) / rowsPerMask;
                var maskValues = new int[maskRows * cols];
                var rng = new Random(rows * 1000 + cols);
                for (int i = 0; i < maskValues.Length; i++) maskValues[i] = rng.Next(3) == 0 ? 0 : 1 + rng.Next(2);
                for (int j = 0; j < cols; j++) maskValues[j] = 0; // mask row 0: every key masked
                if (maskRows > 1)
                    for (int j = 0; j < cols; j++) maskValues[(maskRows - 1) * cols + j] = j == cols / 2 ? 1 : 0; // one key kept

                using var x = KernelTwin.Of(be, KernelTwin.Normal(n, n, scale: 3f));
                using var bias = KernelTwin.Of(be, KernelTwin.Normal(n, n + 1));
                using var mask = KernelTwin.Of(be, maskValues);
                foreach (bool withBias in new[] { false, true })
                {
                    foreach (bool withMask in new[] { false, true })
                    {
                        string what = $"{variant} ({be.ChooseSoftmax(cols)}) biased [{rows}, {cols}] rowsPerMask {rowsPerMask} bias {withBias} mask {withMask}";
                        using var y = NaNOutput(be, n);
                        be.BiasedSoftmax(x.Gpu, withBias ? bias.Gpu : null, withMask ? mask.Gpu : null, y.Gpu, rows, cols, rowsPerMask, 0.125f);
                        cpu.BiasedSoftmax(x.Cpu, withBias ? bias.Cpu : null, withMask ? mask.Cpu : null, y.Cpu, rows, cols, rowsPerMask, 0.125f);
                        AssertWrittenExactly(y, n, what);
                        y.AssertClose(1e-5, 1e-7, what);
                        if (withMask)
                        {
                            var yv = y.GpuFloats();
                            for (int r = 0; r < Math.Min(rows, rowsPerMask); r++)
                                for (int j = 0; j < cols; j++)
                                    Assert.True(yv[r * cols + j] == 0f, $"{what}: all-masked row {r} has {yv[r * cols + j]} at {j}");
                        }

                        be.Write(y.Gpu, y.CpuFloats());
                        using var dy = KernelTwin.Of(be, KernelTwin.Normal(n, n + 2));
                        using var dx = NaNOutput(be, n);
                        using var dBias = KernelTwin.Output(be, n);
                        be.BiasedSoftmaxBackward(y.Gpu, dy.Gpu, dx.Gpu, withBias ? dBias.Gpu : null, rows, cols, 0.125f);
                        cpu.BiasedSoftmaxBackward(y.Cpu, dy.Cpu, dx.Cpu, withBias ? dBias.Cpu : null, rows, cols, 0.125f);
                        AssertWrittenExactly(dx, n, what + " dx");
                        dx.AssertClose(1e-5, 1e-6, what + " dx");
                        dBias.AssertClose(1e-5, 1e-6, what + " dBias"); // sentinels untouched on both sides without bias
                    }
                }
            }
        }
        finally
        {
            be.SoftmaxVariant = _saved;
        }
    }

    [Theory]
    [MemberData(nameof(DeviceVariants))]
    public void AllMaskedAndMinusInfinityRowsAreZerosNotNaN(string device, string variant)
    {
        var be = WithVariant(device, variant);
        if (be is null) return;
        try
        {
            foreach (int cols in new[] { 1, 33, 300 })
            {
                const int rows = 5; // row 1 every score −inf; row 3 −inf except its last key
                var xv = KernelTwin.Normal(rows * cols, cols);
                for (int j = 0; j < cols; j++)
                {
                    xv[cols + j] = float.NegativeInfinity;
                    if (j < cols - 1) xv[3 * cols + j] = float.NegativeInfinity;
                }
                using var x = KernelTwin.Of(be, xv);
                using var noKeys = KernelTwin.Of(be, new int[rows * cols]);
                using var y = NaNOutput(be, rows * cols);
                be.BiasedSoftmax(x.Gpu, null, noKeys.Gpu, y.Gpu, rows, cols, 1, 1f);
                AssertWrittenExactly(y, rows * cols, $"{variant} all masked [{rows}, {cols}]");
                Assert.All(y.GpuFloats().Take(rows * cols), v => Assert.Equal(0f, v));

                be.BiasedSoftmax(x.Gpu, null, null, y.Gpu, rows, cols, 1, 1f);
                var yv = y.GpuFloats();
                Assert.All(yv.Skip(cols).Take(cols), v => Assert.Equal(0f, v));
                Assert.Equal(1f, yv[4 * cols - 1]);
                for (int r = 0; r < rows; r++)
                    if (r != 1) Assert.InRange(yv.Skip(r * cols).Take(cols).Sum(), 0.9999f, 1.0001f);
                Assert.All(yv.Skip(rows * cols), v => Assert.Equal(777.25f, v));
            }
        }
        finally
        {
            be.SoftmaxVariant = _saved;
        }
    }

    [Theory]
    [InlineData("opencl")]
    [InlineData("cuda")]
    public void ChooseSoftmaxNamesTheKernelForEachRowLength(string device)
    {
        if (KernelTwin.Device(device, output) is not GpuBackend be) return;
        string saved = be.SoftmaxVariant;
        try
        {
            output.WriteLine($"{device}: default {be.DefaultSoftmaxVariant}; subgroups: {be.SubgroupDescription}");
            Assert.Equal(be.HasSubgroups ? "subgroup" : "group_tree", be.DefaultSoftmaxVariant);
            be.SoftmaxVariant = "group_tree";
            Assert.Equal("softmax_rows", be.SoftmaxKernelFor("softmax_rows", 300));
            Assert.Equal("biased_softmax_backward", be.SoftmaxKernelFor("biased_softmax_backward", 300));
            be.SoftmaxVariant = "group_online";
            Assert.Equal("biased_softmax_online", be.SoftmaxKernelFor("biased_softmax", 300));
            Assert.Equal("softmax_rows_backward", be.SoftmaxKernelFor("softmax_rows_backward", 300)); // one reduction: group_tree's kernel
            if (be.HasSubgroups)
            {
                be.SoftmaxVariant = "subgroup";
                Assert.Equal("subgroup", be.ChooseSoftmax(GpuBackend.SoftmaxSubgroupMaxCols));
                Assert.Equal("softmax_rows_backward_subgroup", be.SoftmaxKernelFor("softmax_rows_backward", 129));
                Assert.Equal("group_online", be.ChooseSoftmax(GpuBackend.SoftmaxSubgroupMaxCols + 1));
            }
            Assert.Throws<ArgumentException>(() => be.SoftmaxVariant = "warp");
        }
        finally
        {
            be.SoftmaxVariant = saved;
        }
    }
}
