namespace SerEngine.Backends.Gpu;

// Conv2d launch code (kernels/conv2d.cl, and kernels/gemm.cl for the im2col variant).
// Dimension legend: x [N, C, H, W], w [K, C, R, S], y [N, K, OH, OW], P = OH·OW, CRS = C·R·S.
public abstract partial class GpuBackend
{
    /// <summary>Environment variable choosing the conv2d variant (one of <see cref="Conv2dVariants"/>).</summary>
    public const string Conv2dVariantEnvironmentVariable = "SERENGINE_CONV2D_VARIANT";

    /// <summary>Conv2d variants of kernels/conv2d.cl, simplest to fastest.</summary>
    public static IReadOnlyList<string> Conv2dVariants { get; } = ["direct", "im2col_gemm", "implicit_gemm"];

    /// <summary>The default conv2d variant: the fastest one that is correct on every device tested.</summary>
    public const string DefaultConv2dVariant = "implicit_gemm";

    /// <summary>
    /// Largest im2col column buffer, in elements (default 16 Mi = 64 MiB); larger batches are done in
    /// chunks of images (at least one image per chunk). Tests lower it to exercise the chunking.
    /// </summary>
    internal int Conv2dColumnBufferElements { get; set; } = 16 << 20;

    private string? _conv2dVariant;

    /// <summary>
    /// The kernels used by the three conv2d primitives: <c>direct</c>, <c>im2col_gemm</c> (with
    /// <see cref="GemmVariant"/>) or <c>implicit_gemm</c>. Starts as <c>$SERENGINE_CONV2D_VARIANT</c>,
    /// else <see cref="DefaultConv2dVariant"/>.
    /// </summary>
    /// <exception cref="ArgumentException">An unknown variant name.</exception>
    public string Conv2dVariant
    {
        get => _conv2dVariant ??= VariantFromEnvironment(Conv2dVariantEnvironmentVariable, Conv2dVariants, DefaultConv2dVariant, "conv2d");
        set => _conv2dVariant = CheckVariant(value, Conv2dVariants, "conv2d");
    }

    private const int ConvGroupX = 64, ConvGroupY = 4; // work-group of the one-element-per-work-item kernels

    /// <inheritdoc/>
    public override void Conv2dForward(Storage x, Storage w, Storage? bias, Storage y, in Conv2dGeometry g)
    {
        CheckConv2d("Conv2dForward", g, x, "x", w, "w", y, "y");
        if (bias is not null) CheckBuffer("Conv2dForward", "bias", bias, g.K, $"[{g.K}]");
        int p = g.OutH * g.OutW, crs = g.C * g.R * g.S;
        if (g.N == 0 || g.K == 0) return;
        KernelArg[] geo = GeometryArgs(g);
        switch (Conv2dVariant)
        {
            case "direct":
                Launch("conv2d.cl", "conv2d_fwd_direct", GemmOptions, [p, g.K, g.N], [ConvGroupX, ConvGroupY, 1],
                    [x, w, bias ?? w, bias is null ? 0 : 1, y, .. geo]);
                return;
            case "implicit_gemm":
                LaunchImplicitGemm("conv2d_fwd_implicit_gemm", rows: g.K, cols: (long)g.N * p,
                    [x, w, bias ?? w, bias is null ? 0 : 1, y, .. geo]);
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
                Launch("conv2d.cl", "conv2d_im2col", GemmOptions, [p, crs, nb], [ConvGroupX, ConvGroupY, 1], [x, n0, col, .. geo]);
                GemmCore(false, false, nb, g.K, p, crs, 1f, w, 0, 0, col, 0, crs * p, 0f, y, n0 * g.K * p, g.K * p);
            }
        }
        if (bias is not null)
            Launch("conv2d.cl", "conv2d_add_bias", GemmOptions, [p, (long)g.N * g.K], [ConvGroupX, ConvGroupY], [y, bias, g.K, p, g.N * g.K]);
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
                Launch("conv2d.cl", "conv2d_bwd_input_direct", GemmOptions, [hw, g.C, g.N], [ConvGroupX, ConvGroupY, 1], [dy, w, dx, .. geo]);
                return;
            case "implicit_gemm":
                LaunchImplicitGemm("conv2d_bwd_input_implicit_gemm", rows: g.C, cols: (long)g.N * hw, [dy, w, dx, .. geo]);
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
            Launch("conv2d.cl", "conv2d_col2im", GemmOptions, [hw, g.C, nb], [ConvGroupX, ConvGroupY, 1], [col, n0, dx, .. geo]);
        }
    }

    /// <inheritdoc/>
    public override void Conv2dBackwardWeight(Storage x, Storage dy, Storage dw, in Conv2dGeometry g)
    {
        CheckConv2d("Conv2dBackwardWeight", g, x, "x", dw, "dw", dy, "dy");
        int p = g.OutH * g.OutW, crs = g.C * g.R * g.S;
        if (g.K == 0 || crs == 0) return;
        KernelArg[] geo = GeometryArgs(g);
        switch (Conv2dVariant)
        {
            case "direct":
                Launch("conv2d.cl", "conv2d_bwd_weight_direct", GemmOptions, [crs, g.K], [ConvGroupX, ConvGroupY], [x, dy, dw, .. geo]);
                return;
            case "implicit_gemm":
                LaunchImplicitGemm("conv2d_bwd_weight_implicit_gemm", rows: g.K, cols: crs, [x, dy, dw, .. geo]);
                return;
        }
        // im2col_gemm: dw [K, CRS] = Σ_n dy_n [K, P] · col_nᵀ [P, CRS], accumulated with beta = 1
        if (g.N == 0)
        {
            Fill(dw, g.K * crs, 0f);
            return;
        }
        if (IsPointwise(g))
        {
            for (int n = 0; n < g.N; n++)
                GemmCore(false, true, 1, g.K, g.C, p, 1f, dy, n * g.K * p, 0, x, n * g.C * p, 0, n == 0 ? 0f : 1f, dw, 0, 0);
            return;
        }
        int chunk = Conv2dChunk(g);
        using var col = Allocate(checked(chunk * crs * p), DType.Float32); // [chunk, CRS, P]
        for (int n0 = 0; n0 < g.N; n0 += chunk)
        {
            int nb = Math.Min(chunk, g.N - n0);
            Launch("conv2d.cl", "conv2d_im2col", GemmOptions, [p, crs, nb], [ConvGroupX, ConvGroupY, 1], [x, n0, col, .. geo]);
            for (int m = 0; m < nb; m++)
                GemmCore(false, true, 1, g.K, crs, p, 1f, dy, (n0 + m) * g.K * p, 0, col, m * crs * p, 0,
                    n0 + m == 0 ? 0f : 1f, dw, 0, 0);
        }
    }

    /// <summary>One implicit-GEMM conv kernel over a rows × cols output matrix, in TSM×TSN tiles.</summary>
    private void LaunchImplicitGemm(string kernel, int rows, long cols, ReadOnlySpan<KernelArg> args)
    {
        const int lx = GemmTileN / GemmWorkN, ly = GemmTileM / GemmWorkM;
        long gx = (cols + GemmTileN - 1) / GemmTileN * lx, gy = (long)(rows + GemmTileM - 1) / GemmTileM * ly;
        Launch("conv2d.cl", kernel, GemmOptions, [gx, gy], [lx, ly], args);
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
    private static void CheckConv2d(string op, in Conv2dGeometry g, Storage input, string inputName, Storage weight, string weightName, Storage output, string outputName)
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
    private static string Describe(in Conv2dGeometry g) =>
        $"x [{g.N}, {g.C}, {g.H}, {g.W}], w [{g.K}, {g.C}, {g.R}, {g.S}], stride ({g.StrideH}, {g.StrideW}), " +
        $"padding (top {g.PadTop}, bottom {g.PadBottom}, left {g.PadLeft}, right {g.PadRight}), dilation ({g.DilationH}, {g.DilationW})";
}
