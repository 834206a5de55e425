using SerEngine.Backends.Gpu;

namespace SerEngine.Benchmarks.Lab;

/// <summary>
/// kernels/gemm.cl: batched C [M, N] = alpha·op(A)·op(B) + beta·C per variant (GpuBackend.GemmVariants:
/// naive, tiled, tiled_regblock and its tile steps). Checks: 1×1×1, odd sizes, sizes that are not multiples
/// of the 16 / 64×128 tiles, several work-groups per dimension, batches, both transposes, beta ≠ 0, K = 0,
/// and sizes that are multiples of 4 (the tile steps' float4 loads).
/// </summary>
public sealed class GemmLab : LabOp
{
    /// <inheritdoc/>
    public override string Name => "gemm";

    /// <inheritdoc/>
    public override LabUnit Unit => LabUnit.Gflops;

    private static readonly LabCase[] QuickChecks =
    [
        Case(1, 1, 1, 1), Case(1, 7, 17, 33), Case(2, 65, 33, 17, transA: true), Case(1, 129, 65, 7, transB: true, beta: 0.5f),
        Case(1, 70, 130, 40, transA: true, transB: true), Case(2, 68, 36, 44, beta: 0.5f),
    ];

    private static readonly LabCase[] FullChecks =
    [
        .. QuickChecks, Case(3, 33, 129, 65, transA: true, transB: true), Case(1, 1, 129, 17), Case(2, 5, 3, 0, beta: 0.5f),
        Case(2, 130, 257, 31, beta: 0.25f), Case(1, 200, 3, 300, transB: true), Case(3, 132, 260, 36, transA: true, transB: true),
    ];

    /// <inheritdoc/>
    public override IReadOnlyList<LabVariant> Variants(bool quick)
    {
        LabCase[] timings = quick ? [Case(1, 128, 128, 128)] : [Case(1, 256, 256, 256), Case(1, 512, 512, 512), Case(1, 1024, 1024, 1024)];
        var checks = quick ? QuickChecks : FullChecks;
        return [.. GpuBackend.GemmVariants.Select(v => new LabVariant(v, checks, timings, gpu => WithGemmVariant(gpu, v)))];
    }

    /// <summary>One GEMM case: A, B random; C an output (beta = 0) or updated in place (beta ≠ 0).</summary>
    private static LabCase Case(int batch, int m, int n, int k, bool transA = false, bool transB = false, float beta = 0f)
    {
        const float alpha = 1.25f;
        ulong seed = (ulong)(batch * 1_000_003 + m * 1009 + n * 31 + k);
        // reference sums in double; a float dot product of k terms is off by about √k ulps of the largest term
        double tol = 2e-6 * (4 + Math.Sqrt(k));
        LabBuffer c = beta == 0f
            ? LabBuffer.Output("C", batch * m * n, tol)                                                   // [batch, M, N]
            : LabBuffer.InOut("C", batch * m * n, () => LabBuffer.NormalValues(batch * m * n, seed + 2), tol);
        string name = $"b{batch} {m}x{n}x{k}{(transA ? " tA" : "")}{(transB ? " tB" : "")}{(beta != 0f ? $" beta {beta}" : "")}";
        return new LabCase(name,
            [
                LabBuffer.Normal("A", batch * m * k, seed),     // [batch, M, K] or [batch, K, M]
                LabBuffer.Normal("B", batch * k * n, seed + 1), // [batch, K, N] or [batch, N, K]
                c,
            ],
            (b, s) => b.Gemm(transA, transB, batch, m, n, k, alpha, s["A"], m * k, s["B"], k * n, beta, s["C"], m * n),
            flops: 2.0 * batch * m * n * k);
    }
}
