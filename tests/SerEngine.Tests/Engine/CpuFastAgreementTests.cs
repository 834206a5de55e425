using SerEngine.Backends;
using SerEngine.Backends.Cpu;
using static SerEngine.Tests.Engine.FastAgreement;

namespace SerEngine.Tests.Engine;

/// <summary>
/// The fast <c>cpu</c> backend's GEMM and conv2d primitives against the <c>cpu-reference</c> loops,
/// norm-wise to 1e-4 relative, at sizes that are not multiples of the tiles, with every micro-kernel
/// (the 512-bit one runs emulated where the CPU lacks it, so it gets small sizes) and thread counts
/// that cut the work differently.
/// </summary>
public class CpuFastAgreementTests
{
    private static readonly Backend Ref = BackendRegistry.Get("cpu-reference");

    public static TheoryData<string> Kernels => new() { nameof(GemmKernelKind.Vector256), nameof(GemmKernelKind.Scalar), nameof(GemmKernelKind.Vector512) };

    private static CpuBackend Fast(string kernel, int threads) =>
        new() { GemmKernel = Enum.Parse<GemmKernelKind>(kernel), Threads = threads };

    private static bool Emulated(string kernel) =>
        kernel == nameof(GemmKernelKind.Vector512) && CpuBackend.BestGemmKernel != GemmKernelKind.Vector512;

    [Theory]
    [MemberData(nameof(Kernels))]
    public void GemmAllTransposesAndBetas(string kernel)
    {
        int[][] sizes = Emulated(kernel)
            ? [[1, 1, 1], [7, 17, 64], [17, 7, 3], [13, 40, 9], [6, 32, 129]]
            : [[1, 1, 1], [7, 17, 64], [17, 7, 129], [64, 129, 7], [129, 64, 17], [300, 1, 7], [1, 300, 17], [129, 300, 300], [64, 64, 64], [13, 200, 265]];
        var rng = new Generator(21);
        CpuBackend[] fast = Emulated(kernel) ? [Fast(kernel, 2)] : [Fast(kernel, 2), Fast(kernel, 1), Fast(kernel, 3)];
        foreach (bool ta in new[] { false, true })
            foreach (bool tb in new[] { false, true })
                foreach (float beta in new[] { 0f, 1f })
                    foreach (var s in sizes)
                        CheckGemm(fast, rng, ta, tb, 1, s[0], s[1], s[2], beta == 0f ? 1f : -0.5f, beta, sharedA: false, sharedB: false);
    }

    [Theory]
    [MemberData(nameof(Kernels))]
    public void GemmBatchedWithSharedOperands(string kernel)
    {
        var rng = new Generator(22);
        CpuBackend[] fast = [Fast(kernel, 2)];
        int big = Emulated(kernel) ? 20 : 70;
        CheckGemm(fast, rng, false, false, 3, 17, big, 33, 1f, 0f, sharedA: true, sharedB: false);
        CheckGemm(fast, rng, true, true, 4, big, 7, 19, 2f, 1f, sharedA: false, sharedB: true);
        CheckGemm(fast, rng, false, true, 5, 9, 11, big, 1f, 0.5f, sharedA: false, sharedB: false);
        CheckGemm(fast, rng, true, false, 2, 1, big, 5, 1f, 0f, sharedA: true, sharedB: false);
        // every item into the same C (stride 0): items apply one after another, as the reference does
        CheckGemm(fast, rng, false, false, 3, 7, 9, 5, 1f, 1f, sharedA: false, sharedB: false, sharedC: true);
    }

    [Fact]
    public void GemmSplitAlongKAndLargeBlocks()
    {
        var rng = new Generator(23);
        CpuBackend[] fast = [Fast(nameof(GemmKernelKind.Vector256), 2), Fast(nameof(GemmKernelKind.Vector256), 3)];
        CheckGemm(fast, rng, false, false, 1, 17, 7, 1200, 1f, 0f, false, false);   // small output, deep k: split along k
        CheckGemm(fast, rng, true, true, 1, 5, 40, 2100, 0.5f, 1f, false, false);
        CheckGemm(fast, rng, false, true, 1, 30, 3, 900, 1f, 1f, false, false);
        CheckGemm(fast, rng, false, false, 1, 100, 2100, 20, 1f, 0f, false, false);  // wider than one column block (NC)
        // an A larger than GemmWideA: two column blocks per thread, on each kernel
        CheckGemm([.. fast, Fast(CpuBackend.BestGemmKernel.ToString(), 2)], rng, false, false, 1, 300, 200, 900, 1f, 0f, false, false);
    }

    // N, C, H, W, K, R, S, stride, padding (top, bottom, left, right), dilation
    private static readonly Conv2dGeometry[] Geometries =
    [
        new(2, 3, 9, 11, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1),
        new(2, 1, 26, 20, 8, 10, 2, 1, 1, 4, 4, 0, 0, 1, 1),   // conv1a: one channel, 10×2 (direct path)
        new(2, 1, 26, 20, 8, 2, 8, 1, 1, 0, 0, 3, 3, 1, 1),    // conv1b: 2×8 (direct path)
        new(1, 1, 40, 53, 6, 11, 11, 4, 4, 2, 2, 2, 2, 1, 1),  // features.0: 11×11 stride 4
        new(1, 3, 17, 15, 4, 3, 3, 2, 2, 1, 1, 2, 2, 2, 2),    // stride and dilation
        new(1, 2, 10, 9, 3, 3, 4, 2, 3, 0, 2, 1, 3, 1, 2),     // asymmetric everything
        new(2, 1, 15, 16, 5, 4, 3, 1, 2, 1, 0, 2, 1, 1, 1),    // one channel but stride 2 along W (GEMM path)
        new(1, 1, 12, 14, 3, 3, 2, 2, 1, 1, 2, 1, 0, 2, 3),    // one channel, dilated (direct path)
        new(3, 16, 13, 21, 32, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1),  // several row and column blocks
        new(2, 5, 12, 10, 7, 5, 5, 1, 1, 2, 2, 2, 2, 1, 1),
        new(8, 2, 30, 30, 4, 3, 3, 1, 1, 0, 0, 0, 0, 1, 1),    // backward-weight splits its long k (N·OHW)
        new(1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1),      // all size 1
        new(2, 9, 11, 10, 4, 3, 2, 1, 1, 2, 0, 1, 3, 2, 3),    // stride 1 with dilation and asymmetric padding
        new(1, 8, 5, 6, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1),      // padding wider than the kernel (a cropped adjoint)
        new(1, 10, 6, 5, 3, 2, 3, 1, 1, 3, 0, 0, 4, 1, 1),     // padding past the kernel on one side only
        new(1, 8, 5, 7, 50, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1),     // batch 1, few v tiles, 9 weight panels: split by panels
        new(1, 12, 11, 17, 40, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1),  // batch 1, 11 × 17 maps: split by v tiles
    ];

    [Theory]
    [InlineData(1, 13, 43, 2, 1, 2)]   // 13 v tiles cut 6/7 would idle a thread; 43 panels cut 22/21
    [InlineData(1, 99, 6, 2, 1, 2)]
    [InlineData(1, 3, 9, 2, 1, 2)]
    [InlineData(1, 100, 1, 2, 2, 1)]   // one panel: only v can be cut
    [InlineData(3, 40, 40, 2, 1, 2)]   // three images on two threads: six tasks
    public void ShiftedSplitsKeepTheThreadsEquallyBusy(int images, int vTiles, int panels, int threads, int vSplits, int panelSplits) =>
        Assert.Equal((vSplits, panelSplits), Conv2dShiftedWindow.Splits(images, vTiles, panels, threads));

    [Theory]
    [MemberData(nameof(Kernels))]
    public void Conv2dPassesAgree(string kernel)
    {
        var rng = new Generator(24);
        var geometries = Emulated(kernel) ? Geometries.Where(g => g.Macs < 100_000).ToArray() : Geometries;
        CpuBackend[] configs = Emulated(kernel) ? [Fast(kernel, 2)] : [Fast(kernel, 2), Fast(kernel, 3)];
        foreach (var g in geometries)
        {
            var x = Random(rng, g.N * g.C * g.H * g.W);
            var w = Random(rng, g.K * g.C * g.R * g.S);
            var bias = Random(rng, g.K);
            var dy = Random(rng, g.N * g.K * g.OutH * g.OutW);
            var (yr, ybr, dxr, dwr) = (Output(dy.Length), Output(dy.Length), Output(x.Length), Output(w.Length));
            Ref.Conv2dForward(x, w, null, yr, g);
            Ref.Conv2dForward(x, w, bias, ybr, g);
            Ref.Conv2dBackwardInput(dy, w, dxr, g);
            Ref.Conv2dBackwardWeight(x, dy, dwr, g);
            foreach (var fast in configs)
            {
                string what = $"{kernel} t{fast.Threads} {g}";
                var (yf, ybf, dxf, dwf) = (Output(dy.Length), Output(dy.Length), Output(x.Length), Output(w.Length));
                fast.Conv2dForward(x, w, null, yf, g);
                Agree(yr, yf, $"forward {what}");
                fast.Conv2dForward(x, w, bias, ybf, g);
                Agree(ybr, ybf, $"forward + bias {what}");
                fast.Conv2dBackwardInput(dy, w, dxf, g);
                Agree(dxr, dxf, $"backward-input {what}");
                fast.Conv2dBackwardWeight(x, dy, dwf, g);
                Agree(dwr, dwf, $"backward-weight {what}");
            }
        }
    }

    private static void CheckGemm(CpuBackend[] fast, Generator rng, bool ta, bool tb, int batch, int m, int n, int k,
        float alpha, float beta, bool sharedA, bool sharedB, bool sharedC = false)
    {
        int strideA = sharedA ? 0 : m * k, strideB = sharedB ? 0 : k * n, strideC = sharedC ? 0 : m * n;
        var a = Random(rng, Math.Max(1, (sharedA ? 1 : batch) * m * k));
        var b = Random(rng, Math.Max(1, (sharedB ? 1 : batch) * k * n));
        int cLen = (sharedC ? 1 : batch) * m * n;
        // beta = 0 must overwrite: start C as NaN so any read of it shows
        var c0 = beta == 0f ? Enumerable.Repeat(float.NaN, cLen).ToArray() : RandomArray(rng, cLen);
        var cr = Ref.Allocate(cLen, DType.Float32);
        Ref.Write(cr, c0);
        Ref.Gemm(ta, tb, batch, m, n, k, alpha, a, strideA, b, strideB, beta, cr, strideC);
        foreach (var be in fast)
        {
            var cf = Ref.Allocate(cLen, DType.Float32);
            Ref.Write(cf, c0);
            be.Gemm(ta, tb, batch, m, n, k, alpha, a, strideA, b, strideB, beta, cf, strideC);
            Agree(cr, cf, $"gemm {be.GemmKernel} t{be.Threads} transA {ta} transB {tb} batch {batch} m {m} n {n} k {k} alpha {alpha} beta {beta} shared A/B/C {sharedA}/{sharedB}/{sharedC}");
        }
    }
}
