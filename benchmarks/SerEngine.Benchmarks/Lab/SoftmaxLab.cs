using SerEngine.Backends.Gpu;

namespace SerEngine.Benchmarks.Lab;

/// <summary>
/// kernels/softmax.cl per softmax variant (group_tree, group_online, subgroup: GpuBackend.SoftmaxVariants;
/// a variant the device lacks is listed as skipped; a CPU or ILGPU backend runs group_tree's cases):
/// softmax_rows (softmax and log-softmax, forward and backward) and the fused attention softmax biased_softmax (scale·x + bias, key mask
/// [rows / rowsPerMask, cols]; backward to dx and dBias). Checks: a 1×1 matrix, rows shorter than a
/// warp, rows longer than the largest group (the in-group loop), many rows, a fully masked row.
/// </summary>
public sealed class SoftmaxLab : LabOp
{
    private const float Scale = 0.125f;
    private const double Tol = 2e-6; // row sums of a few hundred terms, float against the reference's double

    /// <inheritdoc/>
    public override string Name => "softmax";

    private static readonly (int Rows, int Cols)[] QuickShapes = [(1, 1), (3, 5), (7, 33), (5, 300), (130, 129)];
    private static readonly (int Rows, int Cols)[] FullShapes = [.. QuickShapes, (2, 31), (64, 64), (9, 1000), (1000, 7)];

    /// <inheritdoc/>
    public override IReadOnlyList<LabVariant> Variants(bool quick)
    {
        var shapes = quick ? QuickShapes : FullShapes;
        // attention: B·H·Q rows of K keys, the mask shared by the H·Q rows of a batch item
        var (b, h, q, k) = quick ? (2, 4, 128, 128) : (32, 4, 128, 128);
        int rows = b * h * q;
        string big = $"[{b}·{h}·{q}, {k}]";
        var variants = new List<LabVariant>();
        foreach (var v in GpuBackend.SoftmaxVariants)
        {
            // the variant whose kernels run at this row length (subgroup hands long rows to group_online)
            string K(string baseName, int cols) =>
                GpuBackend.SoftmaxKernelOf(v == "subgroup" && cols > GpuBackend.SoftmaxSubgroupMaxCols ? "group_online" : v, baseName);
            variants.Add(new LabVariant(v,
                [
                    .. shapes.SelectMany(s => new[]
                    {
                        Rows(K, s.Rows, s.Cols, log: false), Rows(K, s.Rows, s.Cols, log: true),
                        RowsBackward(K, s.Rows, s.Cols, log: false), RowsBackward(K, s.Rows, s.Cols, log: true),
                        Biased(K, s.Rows, s.Cols, bias: true, rowsPerMask: 2), Biased(K, s.Rows, s.Cols, bias: false, rowsPerMask: 0),
                        Biased(K, s.Rows, s.Cols, bias: true, rowsPerMask: 0), Biased(K, s.Rows, s.Cols, bias: false, rowsPerMask: 3),
                        BiasedBackward(K, s.Rows, s.Cols, dx: true, dBias: true),
                    }),
                    BiasedBackward(K, 7, 33, dx: true, dBias: false), BiasedBackward(K, 7, 33, dx: false, dBias: true),
                ],
                [
                    Rows(K, rows, k, log: false, big), Rows(K, rows, k, log: true, big), RowsBackward(K, rows, k, log: false, big),
                    Biased(K, rows, k, bias: true, rowsPerMask: h * q, big), BiasedBackward(K, rows, k, dx: true, dBias: true, big),
                ],
                gpu => WithSoftmaxVariant(gpu, v), gpu => Unavailable(gpu, v)));
        }
        return variants;
    }

    private static IDisposable WithSoftmaxVariant(GpuBackend gpu, string variant)
    {
        string saved = gpu.SoftmaxVariant;
        gpu.SoftmaxVariant = variant;
        return Restore(() => gpu.SoftmaxVariant = saved);
    }

    private static string? Unavailable(GpuBackend gpu, string variant) =>
        variant == "subgroup" && !gpu.HasSubgroups ? $"no subgroups ({gpu.SubgroupDescription})" : null;

    private static LabCase Rows(Func<string, int, string> kernel, int rows, int cols, bool log, string? label = null)
    {
        int n = rows * cols;
        return new LabCase($"{(log ? "log fwd" : "fwd")} {label ?? $"[{rows}, {cols}]"}",
            [LabBuffer.Normal("x", n, (ulong)n, 3f), LabBuffer.Output("y", n, Tol)],
            (b, s) => b.Softmax(s["x"], s["y"], rows, cols, log), expectKernel: kernel("softmax_rows", cols));
    }

    private static LabCase RowsBackward(Func<string, int, string> kernel, int rows, int cols, bool log, string? label = null)
    {
        int n = rows * cols;
        return new LabCase($"{(log ? "log bwd" : "bwd")} {label ?? $"[{rows}, {cols}]"}",
            [LabBuffer.Floats("y", n, () => ValidRows(rows, cols, log)), LabBuffer.Normal("dy", n, (ulong)n + 1), LabBuffer.Output("dx", n, Tol)],
            (b, s) => b.SoftmaxBackward(s["y"], s["dy"], s["dx"], rows, cols, log), expectKernel: kernel("softmax_rows_backward", cols));
    }

    /// <summary>Fused forward; rowsPerMask 0 = no mask. The mask keeps 80 % of keys and drops every key of its second row.</summary>
    private static LabCase Biased(Func<string, int, string> kernel, int rows, int cols, bool bias, int rowsPerMask, string? label = null)
    {
        int n = rows * cols;
        var buffers = new List<LabBuffer> { LabBuffer.Normal("x", n, (ulong)n + 2, 4f) };
        if (bias) buffers.Add(LabBuffer.Normal("bias", n, (ulong)n + 3));
        if (rowsPerMask > 0)
        {
            int maskRows = (rows + rowsPerMask - 1) / rowsPerMask;
            buffers.Add(LabBuffer.Ints("mask", maskRows * cols, () => Mask(maskRows, cols, (ulong)n)));
        }
        buffers.Add(LabBuffer.Output("y", n, Tol));
        string flags = (bias, rowsPerMask > 0) switch { (true, true) => "bias+mask", (true, false) => "bias", (false, true) => "mask", _ => "plain" };
        return new LabCase($"biased fwd {label ?? $"[{rows}, {cols}]"} {flags}", buffers,
            (b, s) => b.BiasedSoftmax(s["x"], bias ? s["bias"] : null, rowsPerMask > 0 ? s["mask"] : null, s["y"], rows, cols, Math.Max(rowsPerMask, 1), Scale),
            expectKernel: kernel("biased_softmax", cols));
    }

    private static LabCase BiasedBackward(Func<string, int, string> kernel, int rows, int cols, bool dx, bool dBias, string? label = null)
    {
        int n = rows * cols;
        var buffers = new List<LabBuffer>
        {
            LabBuffer.Floats("y", n, () => ValidRows(rows, cols, log: false)), LabBuffer.Normal("dy", n, (ulong)n + 4),
        };
        if (dx) buffers.Add(LabBuffer.Output("dx", n, Tol));
        if (dBias) buffers.Add(LabBuffer.Output("dBias", n, Tol));
        string flags = dx && dBias ? "dx+dBias" : dx ? "dx" : "dBias";
        return new LabCase($"biased bwd {label ?? $"[{rows}, {cols}]"} {flags}", buffers,
            (b, s) => b.BiasedSoftmaxBackward(s["y"], s["dy"], dx ? s["dx"] : null, dBias ? s["dBias"] : null, rows, cols, Scale),
            expectKernel: kernel("biased_softmax_backward", cols));
    }

    /// <summary>Rows that are a softmax (or log-softmax) output, as the backward pass receives.</summary>
    private static float[] ValidRows(int rows, int cols, bool log)
    {
        var x = LabBuffer.NormalValues(rows * cols, (ulong)(rows * cols) + 5, 2f);
        for (int r = 0; r < rows; r++)
        {
            var row = x.AsSpan(r * cols, cols);
            float max = float.NegativeInfinity;
            foreach (float v in row) max = Math.Max(max, v);
            double sum = 0;
            foreach (float v in row) sum += Math.Exp(v - max);
            for (int j = 0; j < cols; j++) row[j] = log ? (float)(row[j] - max - Math.Log(sum)) : (float)(Math.Exp(row[j] - max) / sum);
        }
        return x;
    }

    private static int[] Mask(int maskRows, int cols, ulong seed)
    {
        var rng = new Generator(seed);
        var mask = new int[maskRows * cols];
        for (int i = 0; i < mask.Length; i++) mask[i] = i / cols == 1 ? 0 : rng.NextSingle() < 0.8f ? 1 : 0;
        return mask;
    }
}
