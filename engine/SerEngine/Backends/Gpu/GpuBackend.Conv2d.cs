namespace SerEngine.Backends.Gpu;

// Conv2d launch code (kernels/conv2d.cl, and kernels/gemm.cl for the im2col variant).
// Dimension legend: x [N, C, H, W], w [K, C, R, S], y [N, K, OH, OW], P = OH·OW, CRS = C·R·S.
public abstract partial class GpuBackend
{
    /// <summary>Environment variable choosing the conv2d variant (one of <see cref="Conv2dVariants"/>).</summary>
    public const string Conv2dVariantEnvironmentVariable = "SERENGINE_CONV2D_VARIANT";

    /// <summary>Conv2d variants of kernels/conv2d.cl, simplest to fastest.</summary>
    public static IReadOnlyList<string> Conv2dVariants { get; } =
        ["direct", "im2col_gemm", "implicit_gemm", "implicit_padded", "implicit_vec4", "implicit_dbuf", "implicit_unrolled"];

    /// <summary>The default conv2d variant (see conv2d.cl's and conv2d_steps.h's headers for each step).</summary>
    // All four tile steps, as DefaultGemmVariant: the GPU design, and at or above implicit_gemm on PoCL in 7 of the 9 timed passes.
    public const string DefaultConv2dVariant = "implicit_unrolled";

    /// <summary>
    /// True for the implicit-GEMM variants (<c>implicit_gemm</c> and its tile steps <c>implicit_padded</c>,
    /// <c>implicit_vec4</c>, <c>implicit_dbuf</c>, <c>implicit_unrolled</c>), which share the launch shape
    /// and the fallback to the direct kernels.
    /// </summary>
    public static bool IsImplicitGemmVariant(string variant) => variant.StartsWith("implicit_", StringComparison.Ordinal);

    /// <summary>
    /// Largest im2col column buffer, in elements (default 16 Mi = 64 MiB); larger batches are done in
    /// chunks of images (at least one image per chunk). Tests lower it to exercise the chunking.
    /// </summary>
    internal int Conv2dColumnBufferElements { get; set; } = 16 << 20;

    private string? _conv2dVariant;

    /// <summary>
    /// The kernels used by the three conv2d primitives: <c>direct</c>, <c>im2col_gemm</c> (with
    /// <see cref="GemmVariant"/>) or an implicit-GEMM variant (<see cref="IsImplicitGemmVariant"/>: these
    /// run the direct kernel for shapes that would leave their tiles mostly idle; see kernels/conv2d.cl). Starts as
    /// <c>$SERENGINE_CONV2D_VARIANT</c>, else <see cref="DefaultConv2dVariant"/>.
    /// </summary>
    /// <exception cref="ArgumentException">An unknown variant name.</exception>
    public string Conv2dVariant
    {
        get => _conv2dVariant ??= VariantFromEnvironment(Conv2dVariantEnvironmentVariable, Conv2dVariants, DefaultConv2dVariant, "conv2d");
        set => _conv2dVariant = CheckVariant(value, Conv2dVariants, "conv2d");
    }

    private const int ConvGroupX = 64, ConvGroupY = 4; // work-group of the one-element-per-work-item kernels

    // Implicit-GEMM tiles (conv2d.cl's TSM, TSN, TSK, WPTM, WPTN), tuned apart from gemm.cl's: rows
    // are channels, columns pixels (or C·R·S); 16×8 work-items each accumulate an 8×8 block.
    private const int ConvTileM = 64, ConvTileN = 128, ConvTileK = 16, ConvWorkM = 8, ConvWorkN = 8;
    internal static readonly string ConvOptions =
        $"-DTSM={ConvTileM} -DTSN={ConvTileN} -DTSK={ConvTileK} -DWPTM={ConvWorkM} -DWPTN={ConvWorkN}";

    /// <summary>Backward-weight splits its reduction until about this many work-groups run (split-K).</summary>
    private const int ConvSplitTargetGroups = 64;

    /// <summary>Shortest reduction chunk of a backward-weight split.</summary>
    private const int ConvSplitMinChunk = 256;

    /// <summary>
    /// The implicit_gemm variant runs a direct kernel instead when less than this share of the
    /// implicit GEMM's multiply-adds would be useful (few channels leave most of a row tile idle; a
    /// strided backward-input multiplies mostly zeros). The direct kernels run about a quarter as
    /// fast per multiply-add on PoCL. Tests set 0 to run the implicit-GEMM kernels everywhere.
    /// </summary>
    internal double Conv2dImplicitMinUsefulShare { get; set; } = 0.25;

    /// <inheritdoc/>
    public override void Conv2dForward(Storage x, Storage w, Storage? bias, Storage y, in Conv2dGeometry g)
    {
        CheckConv2d("Conv2dForward", g, x, "x", w, "w", y, "y");
        if (bias is not null) CheckBuffer("Conv2dForward", "bias", bias, g.K, $"[{g.K}]");
        int p = g.OutH * g.OutW, crs = g.C * g.R * g.S;
        if (g.N == 0 || g.K == 0) return;
        KernelArg[] geo = GeometryArgs(g);
        string variant = IsImplicitGemmVariant(Conv2dVariant) && !ImplicitGemmPays(g.K, (long)g.N * p) ? "direct" : Conv2dVariant;
        switch (variant)
        {
            case "direct":
                Launch("conv2d.cl", "conv2d_fwd_direct", ConvOptions, [p, g.K, g.N], [ConvGroupX, ConvGroupY, 1],
                    [x, w, bias ?? w, bias is null ? 0 : 1, y, .. geo]);
                return;
            case "implicit_gemm":
                LaunchImplicitGemm("conv2d_fwd_implicit_gemm", rows: g.K, cols: (long)g.N * p, 1,
                    [x, w, bias ?? w, bias is null ? 0 : 1, y, .. geo]);
                return;
            case var _ when IsImplicitGemmVariant(variant):
                // the tile steps also take vecW: float4 loads of w [K, C·R·S] rows when C·R·S % 4 = 0
                LaunchImplicitGemm("conv2d_fwd_" + variant, rows: g.K, cols: (long)g.N * p, 1,
                    [x, w, bias ?? w, bias is null ? 0 : 1, y, Vec4Aligned(crs, 0, 0, 1), .. geo]);
                return;
        }
        // im2col_gemm: y_n [K, P] = w [K, CRS] · col_n [CRS, P]
        if (IsPointwise(g))
        {
            GemmCore(false, false, g.N, g.K, p, g.C, 1f, w, 0, 0, x, 0, g.C * p, 0f, y, 0, g.K * p);
        }
        else
        {
            int chunk = Conv2dChunk(g);
            using var col = Allocate(checked(chunk * crs * p), DType.Float32); // [chunk, CRS, P]
            for (int n0 = 0; n0 < g.N; n0 += chunk)
            {
                int nb = Math.Min(chunk, g.N - n0);
                Launch("conv2d.cl", "conv2d_im2col", ConvOptions, [p, crs, nb], [ConvGroupX, ConvGroupY, 1], [x, n0, col, .. geo]);
                GemmCore(false, false, nb, g.K, p, crs, 1f, w, 0, 0, col, 0, crs * p, 0f, y, n0 * g.K * p, g.K * p);
            }
        }
        if (bias is not null)
            Launch("conv2d.cl", "conv2d_add_bias", ConvOptions, [p, (long)g.N * g.K], [ConvGroupX, ConvGroupY], [y, bias, g.K, p, g.N * g.K]);
    }

    /// <inheritdoc/>
    public override void Conv2dBackwardInput(Storage dy, Storage w, Storage dx, in Conv2dGeometry g)
    {
        CheckConv2d("Conv2dBackwardInput", g, dx, "dx", w, "w", dy, "dy");
        int p = g.OutH * g.OutW, crs = g.C * g.R * g.S, hw = g.H * g.W;
        if (g.N == 0 || g.C == 0 || hw == 0) return;
        KernelArg[] geo = GeometryArgs(g);
        switch (Conv2dVariant)
        {
            case "direct":
                Launch("conv2d.cl", "conv2d_bwd_input_direct", ConvOptions, [hw, g.C, g.N], [ConvGroupX, ConvGroupY, 1], [dy, w, dx, .. geo]);
                return;
            case var v when IsImplicitGemmVariant(v) && ImplicitGemmPays(g.C, (long)g.N * hw, g.StrideH * g.StrideW):
                LaunchImplicitGemm("conv2d_bwd_input_" + v, rows: g.C, cols: (long)g.N * hw, 1, [dy, w, dx, .. geo]);
                return;
            case var v when IsImplicitGemmVariant(v):
                // the direct gather visits only the (k, r, s) that reach each dx element
                Launch("conv2d.cl", "conv2d_bwd_input_direct", ConvOptions, [hw, g.C, g.N], [ConvGroupX, ConvGroupY, 1], [dy, w, dx, .. geo]);
                return;
        }
        // im2col_gemm: dcol_n [CRS, P] = wᵀ [CRS, K] · dy_n [K, P], then dx_n = col2im(dcol_n)
        if (IsPointwise(g))
        {
            GemmCore(true, false, g.N, g.C, p, g.K, 1f, w, 0, 0, dy, 0, g.K * p, 0f, dx, 0, g.C * p);
            return;
        }
        int chunk = Conv2dChunk(g);
        using var col = Allocate(checked(chunk * crs * p), DType.Float32); // [chunk, CRS, P]
        for (int n0 = 0; n0 < g.N; n0 += chunk)
        {
            int nb = Math.Min(chunk, g.N - n0);
            GemmCore(true, false, nb, crs, p, g.K, 1f, w, 0, 0, dy, n0 * g.K * p, g.K * p, 0f, col, 0, crs * p);
            Launch("conv2d.cl", "conv2d_col2im", ConvOptions, [hw, g.C, nb], [ConvGroupX, ConvGroupY, 1], [col, n0, dx, .. geo]);
        }
    }

    /// <inheritdoc/>
    public override void Conv2dBackwardWeight(Storage x, Storage dy, Storage dw, in Conv2dGeometry g)
    {
        CheckConv2d("Conv2dBackwardWeight", g, x, "x", dw, "dw", dy, "dy");
        int p = g.OutH * g.OutW, crs = g.C * g.R * g.S, kcrs = g.K * crs;
        if (kcrs == 0) return;
        KernelArg[] geo = GeometryArgs(g);
        string variant = IsImplicitGemmVariant(Conv2dVariant) && !ImplicitGemmPays(g.K, crs) ? "direct" : Conv2dVariant;
        switch (variant)
        {
            case "direct":
                Launch("conv2d.cl", "conv2d_bwd_weight_direct", ConvOptions, [crs, g.K], [ConvGroupX, ConvGroupY], [x, dy, dw, .. geo]);
                return;
            case var _ when IsImplicitGemmVariant(variant):
            {
                // split-K: chunk z of the N·P reduction writes partial [z, K, CRS]; then one sum
                long np = (long)g.N * p;
                long tiles = (long)((g.K + ConvTileM - 1) / ConvTileM) * ((crs + ConvTileN - 1) / ConvTileN);
                long splits = Math.Clamp((ConvSplitTargetGroups + tiles - 1) / tiles, 1, Math.Max(1, np / ConvSplitMinChunk));
                int chunk = (int)((np + splits - 1) / splits + ConvTileK - 1) / ConvTileK * ConvTileK;
                splits = chunk == 0 ? 1 : (np + chunk - 1) / chunk;
                // the tile steps also take vecDy: float4 loads of dy [N, K, P] rows when P % 4 = 0
                string kernel = "conv2d_bwd_weight_" + variant;
                KernelArg[] vecDy = variant == "implicit_gemm" ? [] : [Vec4Aligned(p, 0, 0, 1)];
                if (splits <= 1)
                {
                    LaunchImplicitGemm(kernel, rows: g.K, cols: crs, 1, [x, dy, dw, (int)Math.Max(np, 1), .. vecDy, .. geo]);
                    return;
                }
                using var partial = Allocate(checked((int)splits * kcrs), DType.Float32); // [splits, K, CRS]
                LaunchImplicitGemm(kernel, rows: g.K, cols: crs, (int)splits, [x, dy, partial, chunk, .. vecDy, .. geo]);
                SumPartials(partial, dw, (int)splits, kcrs, accumulate: false);
                return;
            }
        }
        // im2col_gemm: partial_n [K, CRS] = dy_n [K, P] · col_nᵀ [P, CRS] as one batched GEMM per chunk,
        // then dw = Σ_n partial_n (added in image order)
        if (g.N == 0)
        {
            Fill(dw, kcrs, 0f);
            return;
        }
        if (IsPointwise(g))
        {
            using var parts = Allocate(checked(g.N * kcrs), DType.Float32); // [N, K, C]
            GemmCore(false, true, g.N, g.K, g.C, p, 1f, dy, 0, g.K * p, x, 0, g.C * p, 0f, parts, 0, kcrs);
            SumPartials(parts, dw, g.N, kcrs, accumulate: false);
            return;
        }
        int images = Conv2dChunk(g);
        using var col = Allocate(checked(images * crs * p), DType.Float32);   // [images, CRS, P]
        using var partials = Allocate(checked(images * kcrs), DType.Float32); // [images, K, CRS]
        for (int n0 = 0; n0 < g.N; n0 += images)
        {
            int nb = Math.Min(images, g.N - n0);
            Launch("conv2d.cl", "conv2d_im2col", ConvOptions, [p, crs, nb], [ConvGroupX, ConvGroupY, 1], [x, n0, col, .. geo]);
            GemmCore(false, true, nb, g.K, crs, p, 1f, dy, n0 * g.K * p, g.K * p, col, 0, crs * p, 0f, partials, 0, kcrs);
            SumPartials(partials, dw, nb, kcrs, accumulate: n0 > 0);
        }
    }

    /// <summary>dw[i] = (dw[i] if accumulating) + Σ_z partial[z·length + i].</summary>
    private void SumPartials(Storage partial, Storage dw, int parts, int length, bool accumulate) =>
        Launch("conv2d.cl", "conv2d_sum_partials", ConvOptions, [length], [ConvGroupX * ConvGroupY],
            [partial, dw, parts, length, accumulate ? 1 : 0]);

    /// <summary>One implicit-GEMM conv kernel over a rows × cols output matrix in TSM×TSN tiles, times <paramref name="splits"/> (dim 2).</summary>
    private void LaunchImplicitGemm(string kernel, int rows, long cols, int splits, ReadOnlySpan<KernelArg> args)
    {
        const int lx = ConvTileN / ConvWorkN, ly = ConvTileM / ConvWorkM;
        long gx = (cols + ConvTileN - 1) / ConvTileN * lx, gy = (long)(rows + ConvTileM - 1) / ConvTileM * ly;
        Launch("conv2d.cl", kernel, ConvOptions, [gx, gy, splits], [lx, ly, 1], args);
    }

    /// <summary>
    /// True when at least <see cref="Conv2dImplicitMinUsefulShare"/> of an implicit GEMM over rows × cols
    /// (padded to whole tiles) would be useful work; <paramref name="sparsity"/> divides the useful
    /// part (the strides, for backward-input).
    /// </summary>
    private bool ImplicitGemmPays(long rows, long cols, int sparsity = 1)
    {
        double padded = (double)((rows + ConvTileM - 1) / ConvTileM * ConvTileM) * ((cols + ConvTileN - 1) / ConvTileN * ConvTileN);
        return padded > 0 && rows * (double)cols / sparsity >= Conv2dImplicitMinUsefulShare * padded;
    }

    /// <summary>The geometry arguments every conv2d kernel takes (conv2d.cl's CONV_GEOMETRY, in order).</summary>
    private static KernelArg[] GeometryArgs(in Conv2dGeometry g) =>
    [
        g.N, g.C, g.H, g.W, g.K, g.R, g.S, g.OutH, g.OutW, g.StrideH, g.StrideW,
        g.PadTop, g.PadLeft, g.DilationH, g.DilationW,
    ];

    /// <summary>A 1×1 kernel with stride 1 and no padding: the input itself is the column buffer.</summary>
    private static bool IsPointwise(in Conv2dGeometry g) =>
        g.R == 1 && g.S == 1 && g.StrideH == 1 && g.StrideW == 1 && g.PadTop == 0 && g.PadBottom == 0 && g.PadLeft == 0 && g.PadRight == 0;

    /// <summary>Images per im2col chunk: as many as fit <see cref="Conv2dColumnBufferElements"/>, at least one.</summary>
    private int Conv2dChunk(in Conv2dGeometry g)
    {
        long perImage = Math.Max(1L, (long)g.C * g.R * g.S * g.OutH * g.OutW);
        return (int)Math.Clamp(Conv2dColumnBufferElements / perImage, 1, Math.Max(1, g.N));
    }

    /// <summary>Checks the geometry and the sizes of the input-side, weight and output-side buffers.</summary>
    internal static void CheckConv2d(string op, in Conv2dGeometry g, Storage input, string inputName, Storage weight, string weightName, Storage output, string outputName)
    {
        if (g.N < 0 || g.C < 0 || g.H < 0 || g.W < 0 || g.K < 0 || g.R < 1 || g.S < 1 || g.StrideH < 1 || g.StrideW < 1 ||
            g.DilationH < 1 || g.DilationW < 1 || g.PadTop < 0 || g.PadBottom < 0 || g.PadLeft < 0 || g.PadRight < 0)
            throw new ArgumentException($"{op}: invalid geometry {Describe(g)}");
        if (g.OutH < 1 || g.OutW < 1)
            throw new ArgumentException($"{op}: invalid geometry {Describe(g)}: the dilated kernel is larger than the padded input (output {g.OutH}×{g.OutW})");
        CheckBuffer(op, inputName, input, (long)g.N * g.C * g.H * g.W, $"[{g.N}, {g.C}, {g.H}, {g.W}]");
        CheckBuffer(op, weightName, weight, (long)g.K * g.C * g.R * g.S, $"[{g.K}, {g.C}, {g.R}, {g.S}]");
        CheckBuffer(op, outputName, output, (long)g.N * g.K * g.OutH * g.OutW, $"[{g.N}, {g.K}, {g.OutH}, {g.OutW}]");
    }

    /// <summary>The geometry's fields without the derived sizes (which divide by the stride).</summary>
    internal static string Describe(in Conv2dGeometry g) =>
        $"x [{g.N}, {g.C}, {g.H}, {g.W}], w [{g.K}, {g.C}, {g.R}, {g.S}], stride ({g.StrideH}, {g.StrideW}), " +
        $"padding (top {g.PadTop}, bottom {g.PadBottom}, left {g.PadLeft}, right {g.PadRight}), dilation ({g.DilationH}, {g.DilationW})";
}
