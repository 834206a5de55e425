using SerEngine.Backends;
using SerEngine.Backends.Cuda;
using SerEngine.Backends.Gpu;

namespace SerEngine.Tests.Gpu;

/// <summary>
/// kernels/elementwise.cl, reduce.cl and permute.cl on the OpenCL backend against the CPU reference:
/// broadcasting patterns (blocked and strided variants), every unary op and its derivative, the
/// dropout mask bit for bit, SumTo's three variants, BroadcastTo, Permute of Float32 and Int32.
/// </summary>
public class ElementwiseKernelTests(ITestOutputHelper output)
{
    /// <summary>Every kernel of these files, by file: each must build as OpenCL C and as CUDA C.</summary>
    private static readonly (string File, string[] Kernels)[] KernelFiles =
    [
        ("elementwise.cl", ["binary_blocked", "binary_strided", "unary", "unary_backward", "dropout_mask"]),
        ("reduce.cl", ["sum_to_naive", "sum_to_group", "sum_rows"]),
        ("permute.cl", ["strided_gather"]),
        ("softmax.cl", ["softmax_rows", "softmax_rows_backward", "biased_softmax", "biased_softmax_backward", "softmax_rows_online", "biased_softmax_online"]),
        ("loss.cl", ["cross_entropy_forward", "cross_entropy_backward"]),
        ("optim.cl", ["adam_step", "sgd_step"]),
    ];

    [Fact]
    public void KernelFilesBuildAsOpenClAndCudaC()
    {
        foreach (var (file, kernels) in KernelFiles)
        {
            var cu = KernelSource.Load(file, KernelDialect.Cuda);
            foreach (var k in kernels) Assert.Contains($"KERNEL void {k}(", cu.Body, StringComparison.Ordinal);
            if (NvrtcNative.Instance is null) continue;
            var ptx = CuModuleCache.CompileToPtx(cu);
            foreach (var k in kernels) Assert.Contains($".entry {k}(", ptx, StringComparison.Ordinal);
        }
        if (NvrtcNative.Instance is null) output.WriteLine($"NVRTC not found: CUDA C not compiled.\n{NvrtcNative.SearchReport}");
        if (GpuTestDevices.OpenCl(output) is not { } be) return;
        foreach (var (file, kernels) in KernelFiles)
        {
            var program = be.Programs.Get(file);
            foreach (var k in kernels) Assert.NotEqual(0, program.Kernel(k));
        }
    }

    // (a, b): same shape, row, column, scalar either side, channel bias, both broadcasting,
    // size-1 dims, rank 0, rank 8 alternating, and sizes spanning several work-groups.
    private static readonly (int[] A, int[] B)[] BroadcastCases =
    [
        ([7], [7]),
        ([3, 5], [5]),
        ([3, 5], [3, 1]),
        ([1], [4, 6]),
        ([4, 6], []),
        ([2, 3, 4, 5], [3, 1, 1]),
        ([2, 1, 4], [3, 1]),
        ([1, 1, 5], [5, 1, 1]),
        ([5, 1, 3, 1, 2], [1, 4, 1, 6, 2]),
        ([2, 1, 2, 1, 2, 1, 2, 1], [1, 2, 1, 2, 1, 2, 1, 2]),
        ([1000, 37], [37]),
        ([33, 1, 129], [33, 65, 1]),
    ];

    [Theory]
    [InlineData("opencl")]
    [InlineData("cuda")]
    [InlineData("ilgpu-cpu")]
    [InlineData("ilgpu")]
    public void BinaryMatchesReferenceForEveryBroadcastPattern(string device)
    {
        if (KernelTwin.Device(device, output) is not { } be) return;
        int seed = 1;
        foreach (var (ad, bd) in BroadcastCases)
        {
            Shape aShape = ad, bShape = bd, yShape = Shape.Broadcast(aShape, bShape);
            foreach (var op in Enum.GetValues<BinaryOp>())
            {
                using var a = KernelTwin.Of(be, KernelTwin.Normal(aShape.Size, seed++));
                // divisors away from zero: |b| in [0.5, ∞)
                var bv = KernelTwin.Normal(bShape.Size, seed++).Select(v => op == BinaryOp.Div ? MathF.CopySign(MathF.Abs(v) + 0.5f, v) : v).ToArray();
                using var b = KernelTwin.Of(be, bv);
                using var y = KernelTwin.Output(be, yShape.Size);
                be.Binary(op, a.Gpu, aShape, b.Gpu, bShape, y.Gpu, yShape);
                KernelTwin.Reference.Binary(op, a.Cpu, aShape, b.Cpu, bShape, y.Cpu, yShape);
                y.AssertClose(1e-6, 1e-7, $"{op} {aShape} with {bShape}");
            }
        }

        // y may alias a
        Shape s = new[] { 9, 31 };
        using var x = KernelTwin.Of(be, KernelTwin.Normal(s.Size, 90));
        using var row = KernelTwin.Of(be, KernelTwin.Normal(31, 91));
        be.Binary(BinaryOp.Mul, x.Gpu, s, row.Gpu, new Shape(31), x.Gpu, s);
        KernelTwin.Reference.Binary(BinaryOp.Mul, x.Cpu, s, row.Cpu, new Shape(31), x.Cpu, s);
        x.AssertClose(1e-6, 1e-7, "in-place mul");

        using var small = be.Allocate(4, DType.Float32);
        var ex = Assert.Throws<ArgumentException>(() => be.Binary(BinaryOp.Add, small, new Shape(2, 2), small, new Shape(2), small, new Shape(4)));
        Assert.Contains("[2, 2] and [2] broadcast to [2, 2], not [4]", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void BlockedVariantCoversContiguousRunsOnly()
    {
        // collapsed [N, C, HW] with a channel bias: one contiguous run (C) → (i / HW) % C
        var (dims, s) = GpuBackend.Collapse([2, 3, 4, 5], [0, 1, 0, 0], [60, 20, 5, 1]);
        Assert.Equal([2, 3, 20], dims);
        Assert.True(GpuBackend.TryBlocked(dims, s[0], out int inner, out int mid));
        Assert.Equal((20, 3), (inner, mid));
        Assert.True(GpuBackend.TryBlocked(dims, s[1], out inner, out mid));
        Assert.Equal((1, 120), (inner, mid));
        // a scalar, and two separate runs (strided variant)
        Assert.True(GpuBackend.TryBlocked([4, 6], [0, 0], out inner, out mid));
        Assert.Equal((1, 1), (inner, mid));
        Assert.False(GpuBackend.TryBlocked([2, 3, 4], [4, 0, 1], out _, out _));
    }

    [Theory]
    [InlineData("opencl")]
    [InlineData("cuda")]
    [InlineData("ilgpu-cpu")]
    [InlineData("ilgpu")]
    public void UnaryAndBackwardMatchReferenceForEveryOp(string device)
    {
        if (KernelTwin.Device(device, output) is not { } be) return;
        foreach (int n in new[] { 1, 1000, 4099 })
        {
            var xv = KernelTwin.Normal(n, n, scale: 2f);
            foreach (var op in Enum.GetValues<UnaryOp>())
            {
                // log and sqrt on positive inputs
                var input = op is UnaryOp.Log or UnaryOp.Sqrt ? xv.Select(v => MathF.Abs(v) + 0.1f).ToArray() : xv;
                using var x = KernelTwin.Of(be, input);
                using var y = KernelTwin.Output(be, n);
                using var dy = KernelTwin.Of(be, KernelTwin.Normal(n, n + 1));
                using var dx = KernelTwin.Output(be, n);
                be.Unary(op, x.Gpu, y.Gpu, n, 0.7f);
                KernelTwin.Reference.Unary(op, x.Cpu, y.Cpu, n, 0.7f);
                y.AssertClose(2e-6, 1e-7, $"{op} n={n}");
                // the backward pass reads y: give both sides the reference's y so only the derivative is compared
                be.Write(y.Gpu, y.CpuFloats());
                be.UnaryBackward(op, x.Gpu, y.Gpu, dy.Gpu, dx.Gpu, n, 0.7f);
                KernelTwin.Reference.UnaryBackward(op, x.Cpu, y.Cpu, dy.Cpu, dx.Cpu, n, 0.7f);
                dx.AssertClose(1e-6, 1e-7, $"{op} backward n={n}");
            }
        }
        // in place: y aliases x
        using var z = KernelTwin.Of(be, KernelTwin.Normal(300, 5));
        be.Unary(UnaryOp.Tanh, z.Gpu, z.Gpu, 300, 0f);
        KernelTwin.Reference.Unary(UnaryOp.Tanh, z.Cpu, z.Cpu, 300, 0f);
        z.AssertClose(2e-6, 1e-7, "in-place tanh");
    }

    [Theory]
    [InlineData("opencl")]
    [InlineData("cuda")]
    [InlineData("ilgpu-cpu")]
    [InlineData("ilgpu")]
    public void DropoutMaskIsTheReferenceMaskBitForBit(string device)
    {
        if (KernelTwin.Device(device, output) is not { } be) return;
        foreach (var (n, p, seed) in new[] { (1, 0.5f, 0UL), (10007, 0.3f, 0x0123456789ABCDEFUL), (4096, 0.9f, 0xFEDCBA9876543210UL) })
        {
            using var mask = KernelTwin.Output(be, n);
            be.DropoutMask(mask.Gpu, n, p, seed);
            KernelTwin.Reference.DropoutMask(mask.Cpu, n, p, seed);
            mask.AssertExact($"dropout n={n} p={p} seed={seed:X}");
            if (n > 1000)
            {
                double dropped = mask.GpuFloats().Count(v => v == 0f) / (double)n;
                Assert.InRange(dropped, p - 0.03, p + 0.03);
            }
        }
    }

    // (x, y): everything (one and two sum_rows passes), leading dims, middle, trailing,
    // alternating, size-1 dims, nothing reduced, rank 8.
    private static readonly (int[] X, int[] Y)[] SumToCases =
    [
        ([1000], [1]),
        ([70001], [1]),
        ([300, 37], [1, 37]),
        ([5000, 3], [1, 3]),
        ([7, 2, 129], [1, 1, 129]),
        ([2, 3, 4], [1, 3, 1]),
        ([4, 16, 50], [1, 16, 1]),
        ([6, 7], [6, 1]),
        ([3, 500], [3, 1]),
        ([2, 3, 4, 5], [2, 1, 4, 1]),
        ([3, 1, 5], [1, 1, 5]),
        ([4, 5], [4, 5]),
        ([2, 3, 2, 3, 2, 3, 2, 3], [1, 3, 1, 3, 1, 3, 1, 3]),
        ([5, 3, 5, 3, 5, 2], [1, 3, 1, 3, 1, 2]),
    ];

    [Theory]
    [InlineData("opencl")]
    [InlineData("cuda")]
    [InlineData("ilgpu-cpu")]
    [InlineData("ilgpu")]
    public void SumToMatchesReferenceForEveryReductionPattern(string device)
    {
        if (KernelTwin.Device(device, output) is not { } be) return;
        int seed = 100;
        foreach (var (xd, yd) in SumToCases)
        {
            Shape xShape = xd, yShape = yd;
            using var x = KernelTwin.Of(be, KernelTwin.Normal(xShape.Size, seed++));
            using var y = KernelTwin.Output(be, yShape.Size);
            be.SumTo(x.Gpu, xShape, y.Gpu, yShape);
            KernelTwin.Reference.SumTo(x.Cpu, xShape, y.Cpu, yShape);
            int count = xShape.Size / yShape.Size;
            y.AssertClose(1e-5, 1e-6 * count, $"SumTo {xShape} → {yShape}");
        }
        using var bad = be.Allocate(6, DType.Float32);
        var ex = Assert.Throws<ArgumentException>(() => be.SumTo(bad, new Shape(2, 3), bad, new Shape(2, 2)));
        Assert.Contains("[2, 2] must have the rank of [2, 3]", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("opencl")]
    [InlineData("cuda")]
    [InlineData("ilgpu-cpu")]
    [InlineData("ilgpu")]
    public void BroadcastToMatchesReference(string device)
    {
        if (KernelTwin.Device(device, output) is not { } be) return;
        (int[] X, int[] Y)[] cases =
        [
            ([1, 5], [4, 5]), ([3, 1], [3, 7]), ([1], [10]), ([2, 1, 3, 1], [2, 4, 3, 5]),
            ([1, 1], [1, 1]), ([5], [5]), ([1, 1, 300], [7, 3, 300]),
        ];
        int seed = 200;
        foreach (var (xd, yd) in cases)
        {
            Shape xShape = xd, yShape = yd;
            using var x = KernelTwin.Of(be, KernelTwin.Normal(xShape.Size, seed++));
            using var y = KernelTwin.Output(be, yShape.Size);
            be.BroadcastTo(x.Gpu, xShape, y.Gpu, yShape);
            KernelTwin.Reference.BroadcastTo(x.Cpu, xShape, y.Cpu, yShape);
            y.AssertExact($"BroadcastTo {xShape} → {yShape}");
        }
    }

    [Theory]
    [InlineData("opencl")]
    [InlineData("cuda")]
    [InlineData("ilgpu-cpu")]
    [InlineData("ilgpu")]
    public void PermuteMatchesReferenceForFloatAndIntBuffers(string device)
    {
        if (KernelTwin.Device(device, output) is not { } be) return;
        (int[] Dims, int[] Perm)[] cases =
        [
            ([2, 3, 4], [2, 0, 1]), ([5, 7], [1, 0]), ([2, 3, 4, 5], [0, 2, 1, 3]), ([1, 3, 1, 4], [3, 2, 1, 0]),
            ([2, 3, 4], [0, 1, 2]), ([2, 2, 2, 2, 2, 2, 2, 3], [7, 6, 5, 4, 3, 2, 1, 0]), ([64, 33, 17], [1, 2, 0]), ([9], [0]),
        ];
        foreach (var (dims, perm) in cases)
        {
            Shape xShape = dims;
            using var xf = KernelTwin.Of(be, KernelTwin.Normal(xShape.Size, xShape.Size));
            using var yf = KernelTwin.Output(be, xShape.Size);
            be.Permute(xf.Gpu, xShape, perm, yf.Gpu);
            KernelTwin.Reference.Permute(xf.Cpu, xShape, perm, yf.Cpu);
            yf.AssertExact($"Permute Float32 {xShape} by [{string.Join(", ", perm)}]");

            using var xi = KernelTwin.Of(be, Enumerable.Range(0, xShape.Size).Select(i => i * 7919 - 5).ToArray());
            using var yi = KernelTwin.Of(be, new int[xShape.Size]);
            be.Permute(xi.Gpu, xShape, perm, yi.Gpu);
            KernelTwin.Reference.Permute(xi.Cpu, xShape, perm, yi.Cpu);
            yi.AssertExact($"Permute Int32 {xShape} by [{string.Join(", ", perm)}]");
        }
        using var buf = be.Allocate(6, DType.Float32);
        var ex = Assert.Throws<ArgumentException>(() => be.Permute(buf, new Shape(2, 3), [1, 1], buf));
        Assert.Contains("[1, 1] is not a permutation of the 2 axes of [2, 3]", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("opencl")]
    [InlineData("cuda")]
    [InlineData("ilgpu-cpu")]
    [InlineData("ilgpu")]
    public void CompositeGradientIsCheckedOnTheDevice(string device)
    {
        if (KernelTwin.Device(device, output) is not { } be) return;
        var rng = new Generator(11);
        var a = GradCheck.Param(be, rng, 3, 4);
        var b = GradCheck.Param(be, rng, 4);      // row broadcast
        var c = GradCheck.Param(be, rng, 3, 1);   // column broadcast
        var d = GradCheck.Param(be, rng, 2, 1, 4); // leading broadcast: y [2, 3, 4]
        // L = Σ tanh(a·b + c) · d / σ(d) summed over its middle axis, touching Binary (blocked and
        // strided), Unary/UnaryBackward, SumTo (several patterns) and BroadcastTo
        GradCheck.Check(t => Ops.Sum(Ops.Div(Ops.Mul(Ops.Tanh(Ops.Add(Ops.Mul(t[0], t[1]), t[2])), t[3]), Ops.Sigmoid(t[3])), [1]),
            [a, b, c, d]);
        Assert.Equal(device, a.Grad!.Backend.Name);
    }
}
