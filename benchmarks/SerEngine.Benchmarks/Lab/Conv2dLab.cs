using SerEngine.Backends;
using SerEngine.Backends.Gpu;

namespace SerEngine.Benchmarks.Lab;

/// <summary>
/// kernels/conv2d.cl: forward, backward-input and backward-weight per variant (direct, im2col_gemm,
/// implicit_gemm and its tile steps implicit_padded, implicit_vec4, implicit_dbuf, implicit_unrolled).
/// Geometry: x [N, C, H, W], w [K, C, R, S], y [N, K, OH, OW]. The implicit-GEMM
/// variants run the direct kernels for shapes that would leave their tiles mostly idle, so their checks run
/// each geometry twice: as launched, and with the implicit kernels forced; im2col_gemm adds a check with
/// the column buffer cut to one image (the chunked path).
/// </summary>
public sealed class Conv2dLab : LabOp
{
    /// <inheritdoc/>
    public override string Name => "conv2d";

    /// <inheritdoc/>
    public override LabUnit Unit => LabUnit.Gflops;

    // Geometry: N, C, H, W, K, R, S, strideH, strideW, padTop, padBottom, padLeft, padRight, dilH, dilW.
    private static readonly (string Name, Conv2dGeometry G)[] QuickGeometries =
    [
        ("11x11s4p2 c1", new(2, 1, 40, 45, 4, 11, 11, 4, 4, 2, 2, 2, 2, 1, 1)),
        ("2x8 p(0,3) b1", new(1, 1, 26, 33, 8, 2, 8, 1, 1, 0, 0, 3, 3, 1, 1)),
        ("3x3s2d2 asym", new(2, 3, 17, 15, 5, 3, 3, 2, 2, 1, 2, 0, 3, 2, 2)),
        ("3x3p1 k70", new(2, 16, 20, 24, 70, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1)),
    ];

    private static readonly (string Name, Conv2dGeometry G)[] FullGeometries =
    [
        .. QuickGeometries,
        ("10x2 p(4,0)", new(2, 1, 26, 33, 8, 10, 2, 1, 1, 4, 4, 0, 0, 1, 1)),
        ("5x5p2 k17", new(2, 7, 12, 13, 17, 5, 5, 1, 1, 2, 2, 2, 2, 1, 1)),
        ("1x1 c33 k65", new(3, 33, 7, 9, 65, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1)),
        ("1x1s2d3", new(1, 5, 9, 8, 3, 1, 1, 2, 2, 0, 1, 1, 0, 3, 3)),
        ("3x1 s(1,3)", new(2, 2, 7, 3, 3, 3, 1, 1, 3, 1, 1, 0, 0, 1, 1)),
        ("2x2s(2,1)d(1,2) c3", new(2, 3, 19, 23, 9, 2, 2, 2, 1, 0, 1, 2, 1, 1, 2)), // C·R·S, OH·OW multiples of 4: float4 loads
        ("3x3p1 c64 k130", new(1, 64, 9, 70, 130, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1)),
    ];

    /// <inheritdoc/>
    public override IReadOnlyList<LabVariant> Variants(bool quick)
    {
        var geometries = quick ? QuickGeometries : FullGeometries;
        (string Name, Conv2dGeometry G)[] timed = quick
            ? [("3x3 k32 2x16x26x62", Same(2, 16, 26, 62, 32, 3))]
            : [("5x5 k192 2x64x24x36", Same(2, 64, 24, 36, 192, 5)), ("3x3 k32 8x16x26x62", Same(8, 16, 26, 62, 32, 3)),
               ("11x11s4 k32 4x1x200x300", new(4, 1, 200, 300, 32, 11, 11, 4, 4, 2, 2, 2, 2, 1, 1))];
        var timings = timed.SelectMany(t => Passes(t.Name, t.G, null)).ToArray();
        var result = new List<LabVariant>();
        foreach (string variant in GpuBackend.Conv2dVariants)
        {
            var checks = geometries.SelectMany(t => Passes(t.Name, t.G, null)).ToList();
            if (GpuBackend.IsImplicitGemmVariant(variant))
                checks.AddRange(geometries.SelectMany(t => Passes(t.Name + " forced", t.G, gpu => gpu.Conv2dImplicitMinUsefulShare = 0)));
            if (variant == "im2col_gemm")
            {
                var (name, g) = geometries[^1];
                checks.AddRange(Passes(name + " chunked", g, gpu => gpu.Conv2dColumnBufferElements = 1));
            }
            result.Add(new LabVariant(variant, checks, timings, gpu =>
            {
                string saved = gpu.Conv2dVariant;
                gpu.Conv2dVariant = variant;
                return Restore(() => gpu.Conv2dVariant = saved);
            }));
        }
        return result;
    }

    private static Conv2dGeometry Same(int n, int c, int h, int w, int k, int r) =>
        new(n, c, h, w, k, r, r, 1, 1, r / 2, r / 2, r / 2, r / 2, 1, 1);

    /// <summary>The three passes of one geometry (forward with a bias); <paramref name="tweak"/> adjusts a GPU backend for the call.</summary>
    private static IEnumerable<LabCase> Passes(string name, Conv2dGeometry g, Action<GpuBackend>? tweak)
    {
        int x = g.N * g.C * g.H * g.W, w = g.K * g.C * g.R * g.S, y = g.N * g.K * g.OutH * g.OutW;
        double flops = 2.0 * g.Macs;
        ulong seed = (ulong)(x * 31 + w);
        // float sums of C·R·S (forward), K·R·S (backward-input) and N·OH·OW (backward-weight) terms
        static double Tol(int terms) => 2e-6 * (4 + Math.Sqrt(terms));
        yield return new LabCase($"fwd {name}",
            [LabBuffer.Normal("x", x, seed), LabBuffer.Normal("w", w, seed + 1), LabBuffer.Normal("bias", g.K, seed + 2), LabBuffer.Output("y", y, Tol(g.C * g.R * g.S))],
            (b, s) => With(b, tweak, () => b.Conv2dForward(s["x"], s["w"], s["bias"], s["y"], g)), flops);
        yield return new LabCase($"bwd_input {name}",
            [LabBuffer.Normal("dy", y, seed + 3), LabBuffer.Normal("w", w, seed + 1), LabBuffer.Output("dx", x, Tol(g.K * g.R * g.S))],
            (b, s) => With(b, tweak, () => b.Conv2dBackwardInput(s["dy"], s["w"], s["dx"], g)), flops);
        yield return new LabCase($"bwd_weight {name}",
            [LabBuffer.Normal("x", x, seed), LabBuffer.Normal("dy", y, seed + 3), LabBuffer.Output("dw", w, Tol(g.N * g.OutH * g.OutW))],
            (b, s) => With(b, tweak, () => b.Conv2dBackwardWeight(s["x"], s["dy"], s["dw"], g)), flops);
    }

    /// <summary>Runs <paramref name="call"/>, with <paramref name="tweak"/> applied to a GPU backend for its duration.</summary>
    private static void With(Backend backend, Action<GpuBackend>? tweak, Action call)
    {
        if (tweak is null || backend is not GpuBackend gpu)
        {
            call();
            return;
        }
        var (share, column) = (gpu.Conv2dImplicitMinUsefulShare, gpu.Conv2dColumnBufferElements);
        tweak(gpu);
        try { call(); }
        finally { (gpu.Conv2dImplicitMinUsefulShare, gpu.Conv2dColumnBufferElements) = (share, column); }
    }
}
