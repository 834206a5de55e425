using SerEngine.Backends;

namespace SerEngine.Tests.Gpu;

/// <summary>
/// kernels/softmax.cl on the OpenCL backend against the CPU reference: rows shorter and longer than
/// a work-group (the group loops), one column, many rows; the fused attention softmax with and
/// without bias and key mask, fully masked rows; gradient checks of the ops on the OpenCL backend.
/// </summary>
public class SoftmaxKernelTests(ITestOutputHelper output)
{
    // (rows, cols): single element, odd, just past a warp, exactly a group, one past a group,
    // several group-lengths per row, many short rows
    private static readonly (int Rows, int Cols)[] Sizes = [(1, 1), (3, 7), (5, 33), (4, 256), (3, 257), (2, 1000), (130, 5)];

    [Theory]
    [InlineData("opencl")]
    [InlineData("cuda")]
    [InlineData("ilgpu-cpu")]
    [InlineData("ilgpu")]
    public void SoftmaxAndLogSoftmaxMatchReference(string device)
    {
        if (KernelTwin.Device(device, output) is not { } be) return;
        var cpu = KernelTwin.Reference;
        foreach (bool log in new[] { false, true })
        {
            foreach (var (rows, cols) in Sizes)
            {
                int n = rows * cols;
                string what = $"{(log ? "log-softmax" : "softmax")} [{rows}, {cols}]";
                using var x = KernelTwin.Of(be, KernelTwin.Normal(n, n, scale: 4f, offset: 50f)); // offset: the max must be subtracted
                using var y = KernelTwin.Output(be, n);
                be.Softmax(x.Gpu, y.Gpu, rows, cols, log);
                cpu.Softmax(x.Cpu, y.Cpu, rows, cols, log);
                y.AssertClose(1e-5, log ? 2e-5 : 1e-7, what);
                if (!log)
                {
                    var yv = y.GpuFloats();
                    for (int r = 0; r < rows; r++)
                        Assert.InRange(yv.Skip(r * cols).Take(cols).Sum(), 0.9999f, 1.0001f);
                }

                // backward from the reference's y, so that only the backward kernel is compared
                be.Write(y.Gpu, y.CpuFloats());
                using var dy = KernelTwin.Of(be, KernelTwin.Normal(n, n + 7));
                using var dx = KernelTwin.Output(be, n);
                be.SoftmaxBackward(y.Gpu, dy.Gpu, dx.Gpu, rows, cols, log);
                cpu.SoftmaxBackward(y.Cpu, dy.Cpu, dx.Cpu, rows, cols, log);
                dx.AssertClose(1e-5, 1e-5, what + " backward");
            }
        }
    }

    [Theory]
    [InlineData("opencl")]
    [InlineData("cuda")]
    [InlineData("ilgpu-cpu")]
    [InlineData("ilgpu")]
    public void BiasedSoftmaxMatchesReferenceWithBiasMaskAndFullyMaskedRows(string device)
    {
        if (KernelTwin.Device(device, output) is not { } be) return;
        var cpu = KernelTwin.Reference;
        // (rows, cols, rowsPerMask)
        foreach (var (rows, cols, rowsPerMask) in new[] { (6, 7, 1), (6, 7, 3), (8, 300, 4), (3, 1, 1), (2, 520, 2) })
        {
            int n = rows * cols, maskRows = rows / rowsPerMask;
            var maskValues = new int[maskRows * cols];
            var rng = new Random(rows * 1000 + cols);
            for (int i = 0; i < maskValues.Length; i++) maskValues[i] = rng.Next(3) == 0 ? 0 : 1 + rng.Next(2); // any non-zero keeps
            // mask row 0 fully masked; the last mask row keeps exactly one key
            for (int j = 0; j < cols; j++) maskValues[j] = 0;
            if (maskRows > 1)
                for (int j = 0; j < cols; j++) maskValues[(maskRows - 1) * cols + j] = j == cols / 2 ? 1 : 0;

            using var x = KernelTwin.Of(be, KernelTwin.Normal(n, n, scale: 3f));
            using var bias = KernelTwin.Of(be, KernelTwin.Normal(n, n + 1));
            using var mask = KernelTwin.Of(be, maskValues);
            foreach (bool withBias in new[] { false, true })
            {
                foreach (bool withMask in new[] { false, true })
                {
                    string what = $"biased softmax [{rows}, {cols}] rowsPerMask {rowsPerMask} bias {withBias} mask {withMask}";
                    using var y = KernelTwin.Output(be, n);
                    be.BiasedSoftmax(x.Gpu, withBias ? bias.Gpu : null, withMask ? mask.Gpu : null, y.Gpu, rows, cols, rowsPerMask, 0.125f);
                    cpu.BiasedSoftmax(x.Cpu, withBias ? bias.Cpu : null, withMask ? mask.Cpu : null, y.Cpu, rows, cols, rowsPerMask, 0.125f);
                    y.AssertClose(1e-5, 1e-7, what);
                    if (withMask)
                    {
                        var yv = y.GpuFloats();
                        for (int r = 0; r < rows; r++)
                            for (int j = 0; j < cols; j++)
                            {
                                bool kept = maskValues[r / rowsPerMask * cols + j] != 0;
                                if (!kept) Assert.True(yv[r * cols + j] == 0f, $"{what}: masked key ({r}, {j}) is {yv[r * cols + j]}");
                                if (r < rowsPerMask) Assert.True(yv[r * cols + j] == 0f, $"{what}: fully masked row {r} has {yv[r * cols + j]} at {j}");
                            }
                    }

                    be.Write(y.Gpu, y.CpuFloats());
                    using var dy = KernelTwin.Of(be, KernelTwin.Normal(n, n + 2));
                    using var dx = KernelTwin.Output(be, n);
                    using var dBias = KernelTwin.Output(be, n);
                    be.BiasedSoftmaxBackward(y.Gpu, dy.Gpu, dx.Gpu, withBias ? dBias.Gpu : null, rows, cols, 0.125f);
                    cpu.BiasedSoftmaxBackward(y.Cpu, dy.Cpu, dx.Cpu, withBias ? dBias.Cpu : null, rows, cols, 0.125f);
                    dx.AssertClose(1e-5, 1e-6, what + " dx");
                    dBias.AssertClose(1e-5, 1e-6, what + " dBias"); // untouched sentinels on both sides without bias
                }
            }
            // dBias only
            using var y2 = KernelTwin.Of(be, KernelTwin.Normal(n, 5, scale: 0.1f, offset: 0.2f));
            using var dy2 = KernelTwin.Of(be, KernelTwin.Normal(n, 6));
            using var db2 = KernelTwin.Output(be, n);
            be.BiasedSoftmaxBackward(y2.Gpu, dy2.Gpu, null, db2.Gpu, rows, cols, 2f);
            cpu.BiasedSoftmaxBackward(y2.Cpu, dy2.Cpu, null, db2.Cpu, rows, cols, 2f);
            db2.AssertClose(1e-5, 1e-6, $"dBias only [{rows}, {cols}]");
        }
    }

    [Theory]
    [InlineData("opencl")]
    [InlineData("cuda")]
    [InlineData("ilgpu-cpu")]
    [InlineData("ilgpu")]
    public void AllMaskedOrMinusInfinityRowsAreZerosNotNaN(string device)
    {
        if (KernelTwin.Device(device, output) is not { } be) return;
        const int rows = 2, cols = 300;
        var xv = KernelTwin.Normal(rows * cols, 3);
        for (int j = 0; j < cols; j++) xv[cols + j] = float.NegativeInfinity; // row 1: every score −inf, no mask
        using var x = KernelTwin.Of(be, xv);
        using var mask = KernelTwin.Of(be, new int[rows * cols]); // every key masked
        using var y = KernelTwin.Output(be, rows * cols);
        be.BiasedSoftmax(x.Gpu, null, mask.Gpu, y.Gpu, rows, cols, 1, 1f);
        Assert.All(y.GpuFloats().Take(rows * cols), v => Assert.Equal(0f, v));
        be.BiasedSoftmax(x.Gpu, null, null, y.Gpu, rows, cols, 1, 1f);
        var yv = y.GpuFloats();
        Assert.All(yv.Skip(cols).Take(cols), v => Assert.Equal(0f, v));
        Assert.All(yv.Skip(rows * cols), v => Assert.Equal(777.25f, v)); // nothing written past the output
        Assert.InRange(yv.Take(cols).Sum(), 0.9999f, 1.0001f);
    }

    [Theory]
    [InlineData("opencl")]
    [InlineData("cuda")]
    [InlineData("ilgpu-cpu")]
    [InlineData("ilgpu")]
    public void SoftmaxGradientsAreCheckedOnTheDevice(string device)
    {
        if (KernelTwin.Device(device, output) is not { } be) return;
        var rng = new Generator(21);
        var x = GradCheck.Param(be, rng, 3, 5);
        GradCheck.Check(t => Ops.Softmax(t[0]), [x]);
        GradCheck.Check(t => Ops.LogSoftmax(t[0]), [x]);

        // attention-shaped [N, H, T, L] with bias and a key mask [N, L] (batch item 1 keeps 2 keys)
        var scores = GradCheck.Param(be, rng, 2, 2, 3, 4);
        var bias = GradCheck.Param(be, rng, 2, 2, 3, 4);
        using var mask = Tensor.FromArray(new[] { 1, 1, 1, 1, 0, 1, 0, 1 }, new Shape(2, 4), be);
        GradCheck.Check(t => Ops.BiasedSoftmax(t[0], t[1], mask, scale: 0.5f), [scores, bias]);
        Assert.Equal(device, scores.Grad!.Backend.Name);
    }
}
