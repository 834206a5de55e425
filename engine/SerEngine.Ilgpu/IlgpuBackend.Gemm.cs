using ILGPU;
using ILGPU.Runtime;
using SerEngine.Backends;
using SerEngine.Backends.Gpu;
using SerEngine.Ilgpu.Kernels;

namespace SerEngine.Ilgpu;

// GEMM launch code (Kernels/GemmKernels.cs). Dimension legend: M rows of C, N columns, K the reduced
// dimension; op(A) [M, K], op(B) [K, N], C [M, N]. The im2col conv2d variant calls GemmCore with
// buffer offsets, so one image's slice of a larger buffer is an operand without a copy.
public sealed partial class IlgpuBackend
{
    /// <summary>
    /// GEMM variants, simplest to fastest (the dialect's names); the dialect's tile steps after
    /// tiled_regblock (regblock_padded .. regblock_unrolled) have no ILGPU kernels and run tiled_regblock here.
    /// </summary>
    public static IReadOnlyList<string> GemmVariants => GpuBackend.GemmVariants;

    private string? _gemmVariant;

    private Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, GemmArgs>? _gemmNaive, _gemmTiled, _gemmRegblock;

    /// <summary>
    /// The GEMM kernel used by <see cref="Gemm"/> and the im2col conv2d variant: <c>naive</c>,
    /// <c>tiled</c>, or <c>tiled_regblock</c> (every other name); starts as <c>$SERENGINE_GEMM_VARIANT</c> when set.
    /// </summary>
    /// <exception cref="ArgumentException">An unknown variant name.</exception>
    public string GemmVariant
    {
        get => _gemmVariant ??= VariantFromEnvironment(GpuBackend.GemmVariantEnvironmentVariable, GemmVariants, GpuBackend.DefaultGemmVariant, "GEMM");
        set => _gemmVariant = CheckVariant(value, GemmVariants, "GEMM");
    }

    /// <inheritdoc/>
    public override void Gemm(bool transA, bool transB, int batch, int m, int n, int k,
        float alpha, Storage a, int strideA, Storage b, int strideB, float beta, Storage c, int strideC) =>
        GemmCore(transA, transB, batch, m, n, k, alpha, a, 0, strideA, b, 0, strideB, beta, c, 0, strideC);

    /// <summary><see cref="Gemm"/> with element offsets into A, B and C; checks that every batch item lies inside its buffer.</summary>
    private void GemmCore(bool transA, bool transB, int batch, int m, int n, int k, float alpha,
        Storage a, int aOffset, int strideA, Storage b, int bOffset, int strideB,
        float beta, Storage c, int cOffset, int strideC)
    {
        if (batch < 0 || m < 0 || n < 0 || k < 0)
            throw new ArgumentOutOfRangeException(nameof(batch), $"Gemm: batch {batch}, m {m}, n {n}, k {k} must not be negative");
        if (batch == 0 || m == 0 || n == 0) return;
        // A [m, k] or [k, m], B [k, n] or [n, k], C [m, n], each batch item at its stride
        GpuBackend.CheckOperand("Gemm", "A", a, aOffset, strideA, batch, (long)m * k, transA ? $"[{k}, {m}]" : $"[{m}, {k}]");
        GpuBackend.CheckOperand("Gemm", "B", b, bOffset, strideB, batch, (long)k * n, transB ? $"[{n}, {k}]" : $"[{k}, {n}]");
        GpuBackend.CheckOperand("Gemm", "C", c, cOffset, strideC, batch, (long)m * n, $"[{m}, {n}]");
        var g = new GemmArgs(m, n, k, alpha,
            aOffset, strideA, transA ? 1 : k, transA ? m : 1,
            bOffset, strideB, transB ? 1 : n, transB ? k : 1,
            beta, cOffset, strideC);
        ArrayView<float> av = F(a), bv = F(b), cv = F(c);
        switch (GemmVariant)
        {
            case "naive":
            case "tiled":
            {
                const int t = GemmKernels.TS;
                var config = new KernelConfig(new Index3D((n + t - 1) / t, (m + t - 1) / t, batch), new Index3D(t, t, 1));
                if (GemmVariant == "naive")
                    Run(ref _gemmNaive, acc => acc.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, GemmArgs>(GemmKernels.Naive),
                        kernel => kernel(config, av, bv, cv, g));
                else
                    Run(ref _gemmTiled, acc => acc.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, GemmArgs>(GemmKernels.Tiled),
                        kernel => kernel(config, av, bv, cv, g));
                return;
            }
            default:
            {
                // one group per TSM×TSN tile of C, each thread a WPTM×WPTN block
                var config = new KernelConfig(
                    new Index3D((n + GemmKernels.TSN - 1) / GemmKernels.TSN, (m + GemmKernels.TSM - 1) / GemmKernels.TSM, batch),
                    new Index3D(GemmKernels.RTSN, GemmKernels.RTSM, 1));
                Run(ref _gemmRegblock, acc => acc.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, GemmArgs>(GemmKernels.TiledRegblock),
                    kernel => kernel(config, av, bv, cv, g));
                return;
            }
        }
    }

    private static string CheckVariant(string value, IReadOnlyList<string> names, string what)
    {
        ArgumentNullException.ThrowIfNull(value);
        if (!names.Contains(value))
            throw new ArgumentException($"'{value}' is not a {what} variant; expected one of: {string.Join(", ", names)}", nameof(value));
        return value;
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
}
