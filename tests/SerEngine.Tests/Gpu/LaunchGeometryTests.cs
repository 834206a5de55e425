using SerEngine.Backends;
using SerEngine.Backends.Cpu;
using SerEngine.Backends.Cuda;
using SerEngine.Backends.Gpu;
using SerEngine.Backends.OpenCl;

namespace SerEngine.Tests.Gpu;

/// <summary>
/// LaunchGeometry cuts grids beyond CUDA's y/z limit (65,535 blocks) into slices; kernels see the same
/// logical GROUP(n)/GID(n). Checked as a pure function, and on OpenCL with the cut forced as CUDA's.
/// </summary>
[Collection(ProcessWideCollection.Name)] // overrides the shared backend's group limits and profiling
public class LaunchGeometryTests(ITestOutputHelper output)
{
    private readonly CpuReferenceBackend _cpu = new();

    [Fact]
    public void GroupsRoundUpAndPadMissingDimensions()
    {
        Assert.Equal((4L, 1L, 1L), LaunchGeometry.Groups([1000], [256]));
        Assert.Equal((2L, 3L, 70_000L), LaunchGeometry.Groups([17, 33, 70_000], [16, 16, 1]));
        Assert.Equal((0L, 0L, 0L), LaunchGeometry.Groups([17, 0], [16, 4]));
        Assert.Throws<ArgumentException>(() => LaunchGeometry.Groups([17, 3], [16]));
        Assert.Throws<ArgumentException>(() => LaunchGeometry.Groups([17], [0]));
    }

    [Fact]
    public void AGridWithinTheLimitsIsOneLaunchBasedAtZero()
    {
        var slices = LaunchGeometry.Slices((100_000, 65_535, 65_535), GroupLimits.Cuda);
        Assert.Equal([new LaunchSlice(0, 0, 100_000, 65_535, 65_535)], slices);
        Assert.True(LaunchGeometry.Fits((int.MaxValue, 65_535, 1), GroupLimits.Cuda));
        Assert.False(LaunchGeometry.Fits((1, 65_536, 1), GroupLimits.Cuda));
        Assert.Empty(LaunchGeometry.Slices((0, 0, 0), GroupLimits.Cuda));
    }

    [Fact]
    public void YAndZBeyondCudaLimitsAreCutIntoSlicesThatCoverEveryGroupOnce()
    {
        var groups = (X: 3L, Y: 70_000L, Z: 140_000L);
        var slices = LaunchGeometry.Slices(groups, GroupLimits.Cuda);
        Assert.Equal(2 * 3, slices.Count); // y: 65,535 + 4,465; z: 65,535 + 65,535 + 8,930
        Assert.Equal(new LaunchSlice(0, 0, 3, 65_535, 65_535), slices[0]);
        Assert.Equal(new LaunchSlice(65_535, 0, 3, 4_465, 65_535), slices[1]);
        Assert.Equal(new LaunchSlice(65_535, 131_070, 3, 4_465, 8_930), slices[^1]);
        Assert.All(slices, s => Assert.True(s.GroupsY <= 65_535 && s.GroupsZ <= 65_535 && s.GroupsX == 3));
        // every (y, z) group is covered exactly once: the slice areas add up and the bases tile the grid
        Assert.Equal(groups.Y * groups.Z, slices.Sum(s => s.GroupsY * s.GroupsZ));
        Assert.Equal([0L, 65_535L], slices.Select(s => s.BaseY).Distinct().Order());
        Assert.Equal([0L, 65_535L, 131_070L], slices.Select(s => s.BaseZ).Distinct().Order());
    }

    [Fact]
    public void XIsNeverCutAndBeyondItsLimitIsAnError()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => LaunchGeometry.Slices((int.MaxValue + 1L, 1, 1), GroupLimits.Cuda));
        Assert.Contains("along x", e.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentOutOfRangeException>(() => LaunchGeometry.Slices((1, 1, 1), new GroupLimits(1, 0, 1)));
    }

    [Theory]
    [InlineData("opencl")]
    [InlineData("cuda")]
    public void BatchedGemmOverMoreThan65535BatchesMatchesTheReference(string device)
    {
        if (KernelPair.Device(device, output) is not { } gpu) return;
        const int batch = 70_000, m = 2, n = 3, k = 2; // z = batch groups: cut at 65,535 as on CUDA
        var saved = (gpu.GemmVariant, gpu.GroupLimitsOverride);
        try
        {
            gpu.GroupLimitsOverride = GroupLimits.Cuda;
            using var a = KernelPair.Of(gpu, _cpu, KernelPair.RandomNormal(batch * m * k, 31));
            using var b = KernelPair.Of(gpu, _cpu, KernelPair.RandomNormal(batch * k * n, 32));
            using var c = KernelPair.Output(gpu, _cpu, batch * m * n);
            _cpu.Gemm(false, false, batch, m, n, k, 1f, a.Cpu, m * k, b.Cpu, k * n, 0f, c.Cpu, m * n);
            var expected = c.CpuFloats();
            foreach (var variant in new[] { "naive", GpuBackend.DefaultGemmVariant })
            {
                gpu.GemmVariant = variant;
                gpu.Write(c.Gpu, Unwritten(batch * m * n)); // each variant must write every batch itself
                var slices = CountLaunches(gpu, () => gpu.Gemm(false, false, batch, m, n, k, 1f, a.Gpu, m * k, b.Gpu, k * n, 0f, c.Gpu, m * n));
                Assert.Equal(2, slices); // 65,535 + 4,465 batches
                // the last batches come from the second slice: a base offset lost would leave them zero or overwrite the first
                KernelPair.AssertClose(expected, c.GpuFloats(), 1e-5, 1e-5, $"{variant} batch {batch}");
            }
        }
        finally
        {
            (gpu.GemmVariant, gpu.GroupLimitsOverride) = saved;
        }
    }

    [Theory]
    [InlineData("opencl")]
    [InlineData("cuda")]
    public void OpsStayCorrectWhenEveryYAndZIsCutIntoTinySlices(string device)
    {
        if (KernelPair.Device(device, output) is not { } gpu) return;
        var saved = (gpu.GemmVariant, gpu.Conv2dVariant, gpu.GroupLimitsOverride);
        try
        {
            gpu.GroupLimitsOverride = new GroupLimits(long.MaxValue, 2, 2); // as CUDA cuts at 65,535, at 2: many slices on small shapes
            const int batch = 3, m = 129, n = 65, k = 7;
            using var a = KernelPair.Of(gpu, _cpu, KernelPair.RandomNormal(batch * m * k, 41));
            using var b = KernelPair.Of(gpu, _cpu, KernelPair.RandomNormal(batch * k * n, 42));
            using var c = KernelPair.Output(gpu, _cpu, batch * m * n);
            _cpu.Gemm(false, true, batch, m, n, k, 1f, a.Cpu, m * k, b.Cpu, k * n, 0f, c.Cpu, m * n);
            foreach (var variant in GpuBackend.GemmVariants)
            {
                gpu.GemmVariant = variant;
                gpu.Write(c.Gpu, Unwritten(batch * m * n));
                int launches = CountLaunches(gpu, () => gpu.Gemm(false, true, batch, m, n, k, 1f, a.Gpu, m * k, b.Gpu, k * n, 0f, c.Gpu, m * n));
                Assert.True(launches > 1, $"{variant}: {launches} launch(es), expected slices");
                c.AssertClose(1e-5, 1e-5, $"gemm {variant} cut into y/z slices");
            }

            var g = new Conv2dGeometry(3, 5, 9, 11, 6, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1); // direct conv: [p, K, N] → y = K/4, z = N groups
            using var x = KernelPair.Of(gpu, _cpu, KernelPair.RandomNormal(g.N * g.C * g.H * g.W, 43));
            using var w = KernelPair.Of(gpu, _cpu, KernelPair.RandomNormal(g.K * g.C * g.R * g.S, 44));
            using var y = KernelPair.Output(gpu, _cpu, g.N * g.K * g.OutH * g.OutW);
            _cpu.Conv2dForward(x.Cpu, w.Cpu, null, y.Cpu, g);
            foreach (var variant in GpuBackend.Conv2dVariants)
            {
                gpu.Conv2dVariant = variant;
                gpu.Write(y.Gpu, Unwritten(g.N * g.K * g.OutH * g.OutW));
                gpu.Conv2dForward(x.Gpu, w.Gpu, null, y.Gpu, g);
                y.AssertClose(1e-4, 1e-4, $"conv2d {variant} cut into y/z slices");
            }

            var pool = new Pool2dGeometry(3, 7, 9, 10, 3, 3, 2, 2, 1, 1); // [p, planes] → y = 21 planes / 4
            using var px = KernelPair.Of(gpu, _cpu, KernelPair.RandomNormal(pool.N * pool.C * pool.H * pool.W, 45));
            using var py = KernelPair.Output(gpu, _cpu, pool.N * pool.C * pool.OutH * pool.OutW);
            using var arg = KernelPair.IntOutput(gpu, _cpu, pool.N * pool.C * pool.OutH * pool.OutW);
            _cpu.MaxPool2dForward(px.Cpu, py.Cpu, arg.Cpu, pool);
            gpu.MaxPool2dForward(px.Gpu, py.Gpu, arg.Gpu, pool);
            py.AssertClose(0, 0, "maxpool cut into y slices");
        }
        finally
        {
            (gpu.GemmVariant, gpu.Conv2dVariant, gpu.GroupLimitsOverride) = saved;
        }
    }

    private static float[] Unwritten(int n) => Enumerable.Repeat(float.NaN, n).ToArray();

    /// <summary>Kernel launches <paramref name="action"/> made (the backend's profiled-launch count).</summary>
    private static int CountLaunches(GpuBackend gpu, Action action)
    {
        (Func<bool> get, Action<bool> set, Func<long> count) = gpu switch
        {
            OpenClBackend cl => (() => cl.ProfileKernels, v => cl.ProfileKernels = v, () => cl.ProfiledLaunches),
            CudaBackend cu => ((Func<bool>)(() => cu.ProfileKernels), (Action<bool>)(v => cu.ProfileKernels = v), (Func<long>)(() => cu.ProfiledLaunches)),
            _ => throw new ArgumentException($"backend {gpu.Name} does not count launches"),
        };
        bool profile = get();
        try
        {
            set(true);
            long before = count();
            action();
            return (int)(count() - before);
        }
        finally
        {
            set(profile);
        }
    }
}
