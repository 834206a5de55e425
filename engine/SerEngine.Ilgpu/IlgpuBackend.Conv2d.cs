using ILGPU;
using ILGPU.Runtime;
using SerEngine.Backends;
using SerEngine.Backends.Gpu;
using SerEngine.Ilgpu.Kernels;
using static SerEngine.Ilgpu.Kernels.Conv2dKernels;

namespace SerEngine.Ilgpu;

// Conv2d launch code (Kernels/Conv2dKernels.cs, Conv2dImplicitGemmKernels.cs; GemmKernels for the
// im2col variant), choosing as GpuBackend.Conv2d.cs does for kernels/conv2d.cl.
// Dimension legend: x [N, C, H, W], w [K, C, R, S], y [N, K, OH, OW], P = OH·OW, CRS = C·R·S.
public sealed partial class IlgpuBackend
{
    /// <summary>Conv2d variants, simplest to fastest (the dialect's names; the implicit-GEMM tile steps run implicit_gemm here).</summary>
    public static IReadOnlyList<string> Conv2dVariants => GpuBackend.Conv2dVariants;

    private string? _conv2dVariant;

    /// <summary>
    /// The kernels of the three conv2d primitives: <c>direct</c>, <c>im2col_gemm</c> (with
    /// <see cref="GemmVariant"/>) or <c>implicit_gemm</c> (default; runs the direct kernel where most of
    /// its tiles would idle, as the dialect does). Starts as <c>$SERENGINE_CONV2D_VARIANT</c> when set.
    /// </summary>
    /// <exception cref="ArgumentException">An unknown variant name.</exception>
    public string Conv2dVariant
    {
        get => _conv2dVariant ??= VariantFromEnvironment(GpuBackend.Conv2dVariantEnvironmentVariable, Conv2dVariants, GpuBackend.DefaultConv2dVariant, "conv2d");
        set => _conv2dVariant = CheckVariant(value, Conv2dVariants, "conv2d");
    }

    /// <summary>
    /// The ILGPU kernel of a variant: the dialect's implicit-GEMM tile steps (implicit_padded .. implicit_unrolled)
    /// have no ILGPU kernels of their own and run implicit_gemm here.
    /// </summary>
    private static string ImplicitKind(string variant) => GpuBackend.IsImplicitGemmVariant(variant) ? "implicit_gemm" : variant;

    /// <summary>Largest im2col column buffer in elements (16 Mi); larger batches go in chunks of images.</summary>
    internal int Conv2dColumnBufferElements { get; set; } = 16 << 20;

    /// <summary>implicit_gemm runs a direct kernel when less than this share of its padded tiles' multiply-adds is useful (0: never).</summary>
    internal double Conv2dImplicitMinUsefulShare { get; set; } = 0.25;

    private const int ConvSplitTargetGroups = 64, ConvSplitMinChunk = 256; // backward-weight split-K, as the dialect

    private Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, ArrayView<float>, ConvGeometry>? _convFwdDirect, _convFwdImplicit;
    private Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ConvGeometry>? _convBwdInputDirect, _convBwdInputImplicit, _convBwdWeightDirect;
    private Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, ConvGeometry>? _convBwdWeightImplicit;
    private Action<KernelConfig, ArrayView<float>, int, int, ArrayView<float>, ConvGeometry>? _im2col, _col2im;
    private Action<KernelConfig, ArrayView<float>, ArrayView<float>, int, int, int>? _convAddBias, _convSumPartials;

    /// <inheritdoc/>
    public override void Conv2dForward(Storage x, Storage w, Storage? bias, Storage y, in Conv2dGeometry g)
    {
        GpuBackend.CheckConv2d("Conv2dForward", g, x, "x", w, "w", y, "y");
        if (bias is not null) GpuBackend.CheckBuffer("Conv2dForward", "bias", bias, g.K, $"[{g.K}]");
        int p = g.OutH * g.OutW, crs = g.C * g.R * g.S;
        if (g.N == 0 || g.K == 0) return;
        var geo = Geometry(g);
        var gc = g; // a copy the launch lambdas can capture
        ArrayView<float> xv = F(x), wv = F(w), yv = F(y), bv = bias is null ? wv : F(bias);
        int hasBias = bias is null ? 0 : 1;
        string variant = ImplicitKind(Conv2dVariant) == "implicit_gemm" && !ImplicitGemmPays(g.K, (long)g.N * p) ? "direct" : ImplicitKind(Conv2dVariant);
        switch (variant)
        {
            case "direct":
                Run(ref _convFwdDirect, a => a.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, int, ArrayView<float>, ConvGeometry>(FwdDirect),
                    k => k(Config1D((long)gc.N * gc.K * p), xv, wv, bv, hasBias, yv, geo));
                return;
            case "implicit_gemm":
                Run(ref _convFwdImplicit, a => a.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, int, ArrayView<float>, ConvGeometry>(Conv2dImplicitGemmKernels.Forward),
                    k => k(ImplicitGemmConfig(gc.K, (long)gc.N * p, 1), xv, wv, bv, hasBias, yv, geo));
                return;
        }
        // im2col_gemm: y_n [K, P] = w [K, CRS] · col_n [CRS, P]
        int chunk = Conv2dChunk(g);
        using (var col = Allocate(checked(chunk * crs * p), DType.Float32)) // [chunk, CRS, P]
        {
            var cv = F(col);
            for (int n0 = 0; n0 < g.N; n0 += chunk)
            {
                int nb = Math.Min(chunk, g.N - n0);
                Run(ref _im2col, a => a.LoadStreamKernel<ArrayView<float>, int, int, ArrayView<float>, ConvGeometry>(Im2col),
                    k => k(Config1D((long)nb * crs * p), xv, n0, nb, cv, geo));
                GemmCore(false, false, nb, g.K, p, crs, 1f, w, 0, 0, col, 0, crs * p, 0f, y, n0 * g.K * p, g.K * p);
            }
        }
        if (bias is not null)
            Run(ref _convAddBias, a => a.LoadStreamKernel<ArrayView<float>, ArrayView<float>, int, int, int>(AddBias),
                k => k(Config1D((long)gc.N * gc.K * p), yv, bv, gc.K, p, gc.N * gc.K));
    }

    /// <inheritdoc/>
    public override void Conv2dBackwardInput(Storage dy, Storage w, Storage dx, in Conv2dGeometry g)
    {
        GpuBackend.CheckConv2d("Conv2dBackwardInput", g, dx, "dx", w, "w", dy, "dy");
        int p = g.OutH * g.OutW, crs = g.C * g.R * g.S, hw = g.H * g.W;
        if (g.N == 0 || g.C == 0 || hw == 0) return;
        var geo = Geometry(g);
        var gc = g; // a copy the launch lambdas can capture
        ArrayView<float> dyv = F(dy), wv = F(w), dxv = F(dx);
        string variant = ImplicitKind(Conv2dVariant);
        if (variant == "implicit_gemm" && !ImplicitGemmPays(g.C, (long)g.N * hw, g.StrideH * g.StrideW))
            variant = "direct"; // the direct gather visits only the (k, r, s) that reach each dx element
        switch (variant)
        {
            case "direct":
                Run(ref _convBwdInputDirect, a => a.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ConvGeometry>(BwdInputDirect),
                    k => k(Config1D((long)gc.N * gc.C * hw), dyv, wv, dxv, geo));
                return;
            case "implicit_gemm":
                Run(ref _convBwdInputImplicit, a => a.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ConvGeometry>(Conv2dImplicitGemmKernels.BackwardInput),
                    k => k(ImplicitGemmConfig(gc.C, (long)gc.N * hw, 1), dyv, wv, dxv, geo));
                return;
        }
        // im2col_gemm: dcol_n [CRS, P] = wᵀ [CRS, K] · dy_n [K, P], then dx_n = col2im(dcol_n)
        int chunk = Conv2dChunk(g);
        using var col = Allocate(checked(chunk * crs * p), DType.Float32); // [chunk, CRS, P]
        var cv = F(col);
        for (int n0 = 0; n0 < g.N; n0 += chunk)
        {
            int nb = Math.Min(chunk, g.N - n0);
            GemmCore(true, false, nb, crs, p, g.K, 1f, w, 0, 0, dy, n0 * g.K * p, g.K * p, 0f, col, 0, crs * p);
            Run(ref _col2im, a => a.LoadStreamKernel<ArrayView<float>, int, int, ArrayView<float>, ConvGeometry>(Col2im),
                k => k(Config1D((long)nb * gc.C * hw), cv, n0, nb, dxv, geo));
        }
    }

    /// <inheritdoc/>
    public override void Conv2dBackwardWeight(Storage x, Storage dy, Storage dw, in Conv2dGeometry g)
    {
        GpuBackend.CheckConv2d("Conv2dBackwardWeight", g, x, "x", dw, "dw", dy, "dy");
        int p = g.OutH * g.OutW, crs = g.C * g.R * g.S, kcrs = g.K * crs;
        if (kcrs == 0) return;
        var geo = Geometry(g);
        var gc = g; // a copy the launch lambdas can capture
        ArrayView<float> xv = F(x), dyv = F(dy), dwv = F(dw);
        string variant = ImplicitKind(Conv2dVariant) == "implicit_gemm" && !ImplicitGemmPays(g.K, crs) ? "direct" : ImplicitKind(Conv2dVariant);
        switch (variant)
        {
            case "direct":
                Run(ref _convBwdWeightDirect, a => a.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ConvGeometry>(BwdWeightDirect),
                    k => k(Config1D(kcrs), xv, dyv, dwv, geo));
                return;
            case "implicit_gemm":
            {
                // split-K: chunk z of the N·P reduction writes partial [z, K, CRS]; then one sum
                long np = (long)g.N * p;
                long tiles = (long)((g.K + TSM - 1) / TSM) * ((crs + TSN - 1) / TSN);
                long splits = Math.Clamp((ConvSplitTargetGroups + tiles - 1) / tiles, 1, Math.Max(1, np / ConvSplitMinChunk));
                int chunk = (int)((np + splits - 1) / splits + TSK - 1) / TSK * TSK;
                splits = chunk == 0 ? 1 : (np + chunk - 1) / chunk;
                if (splits <= 1)
                {
                    int all = (int)Math.Max(np, 1);
                    Run(ref _convBwdWeightImplicit, a => a.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, int, ConvGeometry>(Conv2dImplicitGemmKernels.BackwardWeight),
                        k => k(ImplicitGemmConfig(gc.K, crs, 1), xv, dyv, dwv, all, geo));
                    return;
                }
                using var partial = Allocate(checked((int)splits * kcrs), DType.Float32); // [splits, K, CRS]
                var pv = F(partial);
                Run(ref _convBwdWeightImplicit, a => a.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, int, ConvGeometry>(Conv2dImplicitGemmKernels.BackwardWeight),
                    k => k(ImplicitGemmConfig(gc.K, crs, (int)splits), xv, dyv, pv, chunk, geo));
                SumPartials(partial, dw, (int)splits, kcrs, accumulate: false);
                return;
            }
        }
        // im2col_gemm: partial_n [K, CRS] = dy_n [K, P] · col_nᵀ [P, CRS], then dw = Σ_n partial_n in image order
        if (g.N == 0)
        {
            Fill(dw, kcrs, 0f);
            return;
        }
        int images = Conv2dChunk(g);
        using var col = Allocate(checked(images * crs * p), DType.Float32);   // [images, CRS, P]
        using var partials = Allocate(checked(images * kcrs), DType.Float32); // [images, K, CRS]
        var cv = F(col);
        for (int n0 = 0; n0 < g.N; n0 += images)
        {
            int nb = Math.Min(images, g.N - n0);
            Run(ref _im2col, a => a.LoadStreamKernel<ArrayView<float>, int, int, ArrayView<float>, ConvGeometry>(Im2col),
                k => k(Config1D((long)nb * crs * p), xv, n0, nb, cv, geo));
            GemmCore(false, true, nb, g.K, crs, p, 1f, dy, n0 * g.K * p, g.K * p, col, 0, crs * p, 0f, partials, 0, kcrs);
            SumPartials(partials, dw, nb, kcrs, accumulate: n0 > 0);
        }
    }

    /// <summary>dw[i] = (dw[i] if accumulating) + Σ_z partial[z·length + i].</summary>
    private void SumPartials(Storage partial, Storage dw, int parts, int length, bool accumulate)
    {
        ArrayView<float> pv = F(partial), dwv = F(dw);
        Run(ref _convSumPartials, a => a.LoadStreamKernel<ArrayView<float>, ArrayView<float>, int, int, int>(Conv2dKernels.SumPartials),
            k => k(Config1D(length), pv, dwv, parts, length, accumulate ? 1 : 0));
    }

    /// <summary>One implicit-GEMM launch over a rows × cols output matrix in TSM×TSN tiles, times <paramref name="splits"/> along z.</summary>
    private static KernelConfig ImplicitGemmConfig(int rows, long cols, int splits) =>
        new(new Index3D((int)((cols + TSN - 1) / TSN), (rows + TSM - 1) / TSM, splits), new Index3D(RTSN, RTSM, 1));

    /// <summary>True when at least <see cref="Conv2dImplicitMinUsefulShare"/> of an implicit GEMM over rows × cols (padded to whole tiles) is useful.</summary>
    private bool ImplicitGemmPays(long rows, long cols, int sparsity = 1)
    {
        double padded = (double)((rows + TSM - 1) / TSM * TSM) * ((cols + TSN - 1) / TSN * TSN);
        return padded > 0 && rows * (double)cols / sparsity >= Conv2dImplicitMinUsefulShare * padded;
    }

    /// <summary>Images per im2col chunk: as many as fit <see cref="Conv2dColumnBufferElements"/>, at least one.</summary>
    private int Conv2dChunk(in Conv2dGeometry g)
    {
        long perImage = Math.Max(1L, (long)g.C * g.R * g.S * g.OutH * g.OutW);
        return (int)Math.Clamp(Conv2dColumnBufferElements / perImage, 1, Math.Max(1, g.N));
    }

    private static ConvGeometry Geometry(in Conv2dGeometry g) =>
        new(g.N, g.C, g.H, g.W, g.K, g.R, g.S, g.OutH, g.OutW, g.StrideH, g.StrideW, g.PadTop, g.PadLeft, g.DilationH, g.DilationW);
}
