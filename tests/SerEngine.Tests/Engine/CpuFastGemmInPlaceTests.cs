using SerEngine.Backends;
using SerEngine.Backends.Cpu;
using static SerEngine.Tests.Engine.FastAgreement;

namespace SerEngine.Tests.Engine;

/// <summary>
/// The GEMM reading A in place, 512-bit (CpuFast.GemmRows.cs) and 256-bit (CpuFast.GemmRows256.cs): six rows of an
/// untransposed A, or six neighbours per depth step of a transposed one, instead of packed panels: bit for bit the
/// 256-bit kernel with A packed (the two widths add alike), at 1–3 threads, alpha 1 with beta 0 and 1 (the kernels that write C) and other alphas and betas
/// (the tile buffer); and norm-wise the <c>cpu-reference</c> loops. Shapes: FocusCalibrationNet's attention products
/// and ragged ones (rows past the last full tile, columns past the last full panel, a depth tail past KC, k = 1), and
/// untransposed A operands larger than L2 (sgemm's case).
/// </summary>
public class CpuFastGemmInPlaceTests
{
    [Theory]
    [InlineData(480, 480, 256, false, false)]
    [InlineData(480, 256, 480, false, false)]
    [InlineData(480, 256, 480, false, true)]
    [InlineData(256, 480, 480, true, false)]
    [InlineData(480, 256, 480, true, false)]
    [InlineData(256, 256, 480, true, false)]
    [InlineData(61, 77, 513, false, false)]
    [InlineData(100, 45, 300, true, false)]
    [InlineData(59, 70, 257, true, true)]
    [InlineData(13, 33, 1, false, false)]
    [InlineData(23, 40, 1, true, false)]
    [InlineData(600, 64, 480, false, false)]   // an A larger than an L2's worth: its rows
    [InlineData(520, 200, 1024, false, true)]  // the same with rows 4 KiB apart, a last tile of 4 rows, four slabs
    [InlineData(701, 90, 600, false, false)]   // and a depth tail past KC
    [InlineData(512, 96, 300, false, false)]   // last tiles of 2 rows (512 = 5·96 + 32), read in place
    [InlineData(98, 50, 200, true, false)]     // and of a transposed A (98 = 16·6 + 2), partial column panels
    public void InPlaceAMatchesPackedBitForBit(int m, int n, int k, bool transA, bool transB) => MatchesPacked(m, n, k, transA, transB);

    /// <summary>
    /// The whole-depth tiles (CpuFast.GemmFullDepth.cs; alpha 1 with beta 0 or 1, the other pairs run slab by slab):
    /// last row tiles of 1 to 5 rows, partial last panels, a depth tail past the last full slab (one step), several
    /// column groups in one task (160 columns at depth 1024: groups of 128 and 32), a transposed B.
    /// </summary>
    [Theory]
    [InlineData(1024, 160, 1024, false)] // last tile 4 rows, two column groups on one thread
    [InlineData(601, 70, 700, false)]    // 1 row, a 6-column panel, depth tail 188
    [InlineData(602, 64, 1024, false)]   // 2 rows, four full slabs
    [InlineData(603, 45, 513, true)]     // 3 rows, a 13-column panel, depth tail 1, B transposed
    [InlineData(605, 100, 520, false)]   // 5 rows, a 4-column panel
    [InlineData(516, 33, 768, false)]    // no row tail, a 1-column panel
    [InlineData(40, 32, 8192, false)]    // a product split along k at 2 and 3 threads: each split runs its 2048 steps whole
    public void FullDepthTilesMatchPackedBitForBit(int m, int n, int k, bool transB)
    {
        Assert.True(CpuBackend.GemmUsesFullDepth(GemmKernelKind.Vector512, m, k, depthStep: 1, alpha: 1f, beta: 0f, depth: k));
        Assert.True(CpuBackend.GemmUsesFullDepth(GemmKernelKind.Vector512, m, k, depthStep: 1, alpha: 1f, beta: 1f, depth: k));
        Assert.False(CpuBackend.GemmUsesFullDepth(GemmKernelKind.Vector512, m, k, depthStep: 1, alpha: 0.75f, beta: 0f, depth: k));
        Assert.False(CpuBackend.GemmUsesFullDepth(GemmKernelKind.Vector512, m, k, depthStep: m, alpha: 1f, beta: 0f, depth: k));
        Assert.False(CpuBackend.GemmUsesFullDepth(GemmKernelKind.Vector512, 480, 480, depthStep: 1, alpha: 1f, beta: 0f, depth: 480)); // an A within L2
        Assert.False(CpuBackend.GemmUsesFullDepth(GemmKernelKind.Vector512, m, k, depthStep: 1, alpha: 1f, beta: 0f, depth: 256));     // one slab
        Assert.False(CpuBackend.GemmUsesFullDepth(GemmKernelKind.Vector256, m, k, depthStep: 1, alpha: 1f, beta: 0f, depth: k));      // the 6×16 tile: slab by slab
        MatchesPacked(m, n, k, transA: false, transB);
    }

    /// <summary>C from the 512-bit kernel (A in place) at 1–3 threads equals the 256-bit packed kernel's at the same thread count bit for bit, and the reference norm-wise.</summary>
    private static void MatchesPacked(int m, int n, int k, bool transA, bool transB)
    {
        Assert.True(CpuBackend.GemmReadsAInPlace(GemmKernelKind.Vector512, 1, m, k, inPlace: true, transA ? m : 1, prepacked: false));
        Assert.True(CpuBackend.GemmReadsAInPlace(GemmKernelKind.Vector256, 1, m, k, inPlace: true, transA ? m : 1, prepacked: false));
        Assert.False(CpuBackend.GemmUsesDots(transA, transB, m, k) || CpuBackend.GemmUsesTiny(transB, 1, m, n, k), "the shape takes another path");
        var rng = new Generator((ulong)(m * 5 + n * 11 + k));
        var a = Random(rng, m * k);
        var b = Random(rng, k * n);
        var c0 = RandomArray(rng, m * n);
        foreach (var (alpha, beta) in new[] { (1f, 0f), (1f, 1f), (0.75f, -0.5f), (1f, 0.5f) })
        {
            var expected = Ref.Allocate(m * n, DType.Float32);
            Ref.Write(expected, c0);
            Ref.Gemm(transA, transB, 1, m, n, k, alpha, a, 0, b, 0, beta, expected, 0);
            foreach (int threads in new[] { 1, 2, 3 })
            {
                // the 256-bit kernel with A packed: the reference of both in-place kernels (the widths add alike)
                var packed = PackedGemm(GemmKernelKind.Vector256, threads, transA, transB, m, n, k, alpha, Read(a), Read(b), beta, c0);
                foreach (var kind in new[] { GemmKernelKind.Vector256, GemmKernelKind.Vector512 })
                {
                    var inPlace = Ref.Allocate(m * n, DType.Float32);
                    Ref.Write(inPlace, c0);
                    new CpuBackend { Threads = threads, GemmKernel = kind }.Gemm(transA, transB, 1, m, n, k, alpha, a, 0, b, 0, beta, inPlace, 0);
                    string what = $"{kind} {m}x{n}x{k} transA {transA} transB {transB} alpha {alpha} beta {beta} threads {threads}";
                    Agree(expected, inPlace, what);
                    Assert.True(packed.AsSpan().SequenceEqual(Read(inPlace)), $"A read in place differs from packed A: {what}");
                }
            }
        }
    }

    /// <summary>
    /// C = alpha·A·B + beta·C0 by the fast GEMM with A packed (GemmRun packs it up front into a buffer, as for a caller's later
    /// products, so the rule does not read it in place), on the plan Gemm makes for the same product.
    /// </summary>
    private static unsafe float[] PackedGemm(GemmKernelKind kind, int threads, bool transA, bool transB, int m, int n, int k,
        float alpha, float[] a, float[] b, float beta, float[] c0)
    {
        var c = (float[])c0.Clone();
        var panels = new float[(m + CpuBackend.GemmMR) * k + 16];
        fixed (float* pa = a, pb = b, pc = c, pp = panels)
        {
            float* aligned = (float*)(((nint)pp + 63) & ~(nint)63);
            new CpuBackend { Threads = threads, GemmKernel = kind }.GemmRun(new PlainA(pa, 0, transA, m, k), new PlainB(pb, 0, transB, k, n),
                1, m, n, k, alpha, beta, pc, 0, threads, aShared: true, shareB: true, packAInto: aligned);
        }
        return c;
    }

    [Theory]
    [InlineData(96, 64, 1024, false)]   // rows 4 KiB apart
    [InlineData(1024, 64, 96, true)]    // depth steps 4 KiB apart
    [InlineData(480, 64, 600, true)]    // a transposed A larger than an L2's worth
    public void PackedWhereTheRuleSaysSo(int m, int n, int k, bool transA)
    {
        Assert.False(CpuBackend.GemmReadsAInPlace(GemmKernelKind.Vector512, 1, m, k, inPlace: true, transA ? m : 1, prepacked: false));
        Assert.False(CpuBackend.GemmReadsAInPlace(GemmKernelKind.Vector256, 1, m, k, inPlace: true, transA ? m : 1, prepacked: false));
        Assert.False(CpuBackend.GemmReadsAInPlace(GemmKernelKind.Scalar, 1, 480, 256, inPlace: true, 1, prepacked: false));
        Assert.False(CpuBackend.GemmReadsAInPlace(GemmKernelKind.Vector512, 2, 480, 256, inPlace: true, 1, prepacked: false));
        var rng = new Generator((ulong)(m + n + k));
        var a = Random(rng, m * k);
        var b = Random(rng, k * n);
        var c256 = Output(m * n);
        var c512 = Output(m * n);
        new CpuBackend { Threads = 2, GemmKernel = GemmKernelKind.Vector256 }.Gemm(transA, false, 1, m, n, k, 1f, a, 0, b, 0, 0f, c256, 0);
        new CpuBackend { Threads = 2, GemmKernel = GemmKernelKind.Vector512 }.Gemm(transA, false, 1, m, n, k, 1f, a, 0, b, 0, 0f, c512, 0);
        Assert.True(Read(c256).AsSpan().SequenceEqual(Read(c512)));
    }
}
