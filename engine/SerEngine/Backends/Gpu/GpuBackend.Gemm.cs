namespace SerEngine.Backends.Gpu;

// GEMM launch code (kernels/gemm.cl). Dimension legend: M rows of C, N columns of C, K the reduced
// dimension; op(A) [M, K], op(B) [K, N], C [M, N]. The conv2d im2col variant calls GemmCore with
// buffer offsets, so one image's slice of a larger buffer is an operand without a copy.
public abstract partial class GpuBackend
{
    /// <summary>Environment variable choosing the GEMM variant (one of <see cref="GemmVariants"/>).</summary>
    public const string GemmVariantEnvironmentVariable = "SERENGINE_GEMM_VARIANT";

    /// <summary>GEMM variants of kernels/gemm.cl, simplest to fastest.</summary>
    public static IReadOnlyList<string> GemmVariants { get; } =
        ["naive", "tiled", "tiled_regblock", "regblock_padded", "regblock_vec4", "regblock_dbuf", "regblock_unrolled"];

    /// <summary>The default GEMM variant (see gemm.cl's header for each step).</summary>
    // All four tile steps: the design a GPU wants (conflict-free, 16-byte loads, load/compute overlap, no loop
    // counters), and also the fastest on PoCL at 512³ and 1024³ (GEMM-CONV-TILES.md); dbuf alone is slower there.
    public const string DefaultGemmVariant = "regblock_unrolled";

    private string? _gemmVariant;

    /// <summary>
    /// The GEMM kernel used by <see cref="Gemm"/> and by the im2col conv2d variant, one of
    /// <see cref="GemmVariants"/>. Starts as <c>$SERENGINE_GEMM_VARIANT</c>, else
    /// <see cref="DefaultGemmVariant"/>.
    /// </summary>
    /// <exception cref="ArgumentException">An unknown variant name.</exception>
    public string GemmVariant
    {
        get => _gemmVariant ??= VariantFromEnvironment(GemmVariantEnvironmentVariable, GemmVariants, DefaultGemmVariant, "GEMM");
        set => _gemmVariant = CheckVariant(value, GemmVariants, "GEMM");
    }

    // Tile sizes of each variant, passed to the compiler as -D defines (see gemm.cl's header).
    private const int GemmTile = 16;                       // gemm_naive work-group side, gemm_tiled TS
    private const int GemmTileM = 64, GemmTileN = 128;     // gemm_tiled_regblock TSM, TSN
    private const int GemmTileK = 16;                      // gemm_tiled_regblock TSK
    private const int GemmWorkM = 8, GemmWorkN = 8;        // gemm_tiled_regblock WPTM, WPTN

    // One option string for every variant, so gemm.cl is built once per device whatever the choice.
    internal static readonly string GemmOptions =
        $"-DTS={GemmTile} -DTSM={GemmTileM} -DTSN={GemmTileN} -DTSK={GemmTileK} -DWPTM={GemmWorkM} -DWPTN={GemmWorkN}";

    /// <inheritdoc/>
    public override void Gemm(bool transA, bool transB, int batch, int m, int n, int k,
        float alpha, Storage a, int strideA, Storage b, int strideB, float beta, Storage c, int strideC) =>
        GemmCore(transA, transB, batch, m, n, k, alpha, a, 0, strideA, b, 0, strideB, beta, c, 0, strideC);

    /// <summary>
    /// <see cref="Gemm"/> with element offsets into A, B and C (batch item p of A starts at
    /// aOffset + p·strideA, and so on). Checks that every batch item lies inside its buffer.
    /// </summary>
    internal void GemmCore(bool transA, bool transB, int batch, int m, int n, int k, float alpha,
        Storage a, int aOffset, int strideA, Storage b, int bOffset, int strideB,
        float beta, Storage c, int cOffset, int strideC)
    {
        if (batch < 0 || m < 0 || n < 0 || k < 0)
            throw new ArgumentOutOfRangeException(nameof(batch), $"Gemm: batch {batch}, m {m}, n {n}, k {k} must not be negative");
        if (batch == 0 || m == 0 || n == 0) return;
        // A [m, k] or [k, m], B [k, n] or [n, k], C [m, n], each batch item at its stride
        CheckOperand("Gemm", "A", a, aOffset, strideA, batch, (long)m * k, transA ? $"[{k}, {m}]" : $"[{m}, {k}]");
        CheckOperand("Gemm", "B", b, bOffset, strideB, batch, (long)k * n, transB ? $"[{n}, {k}]" : $"[{k}, {n}]");
        CheckOperand("Gemm", "C", c, cOffset, strideC, batch, (long)m * n, $"[{m}, {n}]");

        int aRow = transA ? 1 : k, aCol = transA ? m : 1; // op(A)[i, q] = A[i·aRow + q·aCol]
        int bRow = transB ? 1 : n, bCol = transB ? k : 1; // op(B)[q, j] = B[q·bRow + j·bCol]
        ReadOnlySpan<KernelArg> args =
        [
            m, n, k, alpha,
            a, aOffset, strideA, aRow, aCol,
            b, bOffset, strideB, bRow, bCol,
            beta, c, cOffset, strideC,
        ];
        switch (GemmVariant)
        {
            case "naive":
                Launch("gemm.cl", "gemm_naive", GemmOptions, [n, m, batch], [GemmTile, GemmTile, 1], args);
                break;
            case "tiled":
                Launch("gemm.cl", "gemm_tiled", GemmOptions, [n, m, batch], [GemmTile, GemmTile, 1], args);
                break;
            case "tiled_regblock":
                Launch("gemm.cl", "gemm_tiled_regblock", GemmOptions, RegblockGlobal(m, n, batch), RegblockLocal, args);
                break;
            default:
                // the tile steps also take vecA, vecB: float4 loads of an operand only where they are 16-byte aligned
                Launch("gemm.cl", "gemm_" + GemmVariant, GemmOptions, RegblockGlobal(m, n, batch), RegblockLocal,
                [
                    m, n, k, alpha,
                    a, aOffset, strideA, aRow, aCol, Vec4Aligned(aCol == 1 ? aRow : aCol, aOffset, strideA, batch),
                    b, bOffset, strideB, bRow, bCol, Vec4Aligned(bRow == 1 ? bCol : bRow, bOffset, strideB, batch),
                    beta, c, cOffset, strideC,
                ]);
                break;
        }
    }

    // The register-blocked launch: one work-group per TSM×TSN tile of C, each work-item a WPTM×WPTN block.
    private static readonly int[] RegblockLocal = [GemmTileN / GemmWorkN, GemmTileM / GemmWorkM, 1];

    private static long[] RegblockGlobal(int m, int n, int batch) =>
        [(n + GemmTileN - 1) / GemmTileN * RegblockLocal[0], (m + GemmTileM - 1) / GemmTileM * RegblockLocal[1], batch];

    /// <summary>
    /// 1 when every float4 group of an operand starts 16 bytes into an aligned buffer: its leading dimension
    /// (the stride of its non-unit direction), its offset and its batch stride are multiples of 4 (the
    /// kernel aligns the groups themselves); else 0, and the kernel loads scalars.
    /// </summary>
    internal static int Vec4Aligned(int leading, int offset, int batchStride, int batch) =>
        leading % 4 == 0 && offset % 4 == 0 && (batch == 1 || batchStride % 4 == 0) ? 1 : 0;

    /// <summary>Throws unless <paramref name="s"/> is Float32 and holds <paramref name="batch"/> items of <paramref name="size"/> elements.</summary>
    internal static void CheckOperand(string op, string name, Storage s, int offset, int stride, int batch, long size, string shape)
    {
        if (s.DType != DType.Float32)
            throw new InvalidOperationException($"{op}: {name} must be a Float32 buffer, found {s.DType}");
        if (offset < 0 || stride < 0)
            throw new ArgumentOutOfRangeException(name, $"{op}: {name} offset {offset} and batch stride {stride} must not be negative");
        long end = offset + (long)(batch - 1) * stride + size;
        if (end > s.Length)
            throw new ArgumentException($"{op}: {name} {shape} × batch {batch} (offset {offset}, stride {stride}) needs {end} elements, buffer has {s.Length}");
    }

    /// <summary>Throws unless <paramref name="s"/> is a buffer of <paramref name="dtype"/> with at least <paramref name="size"/> elements.</summary>
    internal static void CheckBuffer(string op, string name, Storage s, long size, string shape, DType dtype = DType.Float32)
    {
        if (s.DType != dtype)
            throw new InvalidOperationException($"{op}: {name} must be {(dtype == DType.Int32 ? "an" : "a")} {dtype} buffer, found {s.DType}");
        if (size > s.Length)
            throw new ArgumentException($"{op}: {name} {shape} needs {size} elements, buffer has {s.Length}");
    }

    /// <summary>The variant named by an environment variable, or the default when it is unset.</summary>
    private static string VariantFromEnvironment(string variable, IReadOnlyList<string> names, string fallback, string what)
    {
        var value = Environment.GetEnvironmentVariable(variable);
        if (string.IsNullOrWhiteSpace(value)) return fallback;
        if (!names.Contains(value.Trim()))
            throw new ArgumentException($"${variable} = '{value}' is not a {what} variant; expected one of: {string.Join(", ", names)}");
        return value.Trim();
    }

    private static string CheckVariant(string value, IReadOnlyList<string> names, string what)
    {
        ArgumentNullException.ThrowIfNull(value);
        if (!names.Contains(value))
            throw new ArgumentException($"'{value}' is not a {what} variant; expected one of: {string.Join(", ", names)}", nameof(value));
        return value;
    }
}
