namespace SerEngine.Backends.Gpu;

// BatchNorm2d launch code (kernels/batchnorm2d.cl). Dimension legend: x, y, dy, dx [N, C, HW];
// weight, bias, mean, invStd, running stats [C]; count = N·HW values per channel.
public abstract partial class GpuBackend
{
    private const int NormGroupX = 64, NormGroupY = 4; // element kernels

    /// <summary>Work-items of one per-channel reduction: the largest power of two ≤ min(256, GroupSize).</summary>
    private int NormReduceGroup => NormReduceGroupFor(GroupSize);

    private static int NormReduceGroupFor(int groupSize) => 1 << (31 - int.LeadingZeroCount(Math.Clamp(groupSize, 1, 256)));

    internal string NormOptions => NormOptionsFor(GroupSize);

    /// <summary>batchnorm2d.cl's options on a backend whose <see cref="GroupSize"/> is <paramref name="groupSize"/>.</summary>
    internal static string NormOptionsFor(int groupSize) => $"-DBN_GROUP={NormReduceGroupFor(groupSize)}";

    /// <inheritdoc/>
    public override void BatchNorm2dForward(Storage x, Storage? weight, Storage? bias, Storage y,
        Storage mean, Storage invStd, Storage? runningMean, Storage? runningVar,
        int n, int c, int hw, float eps, float momentum, bool training)
    {
        const string op = "BatchNorm2dForward";
        CheckNorm(op, n, c, hw, ("x", x), ("y", y));
        CheckNorm(op, 1, c, 1, ("mean", mean), ("invStd", invStd), ("weight", weight), ("bias", bias), ("runningMean", runningMean), ("runningVar", runningVar));
        if ((runningMean is null) != (runningVar is null))
            throw new ArgumentException($"{op}: runningMean and runningVar must be given together");
        if (c == 0) return;
        if (training)
        {
            if (n * hw == 0) throw new ArgumentException($"{op}: training needs at least one value per channel, got N = {n}, HW = {hw}");
            // x [N, C, HW] → mean, invStd [C]; running stats updated in place
            int group = NormReduceGroup;
            Launch("batchnorm2d.cl", "batchnorm2d_stats", NormOptions, [(long)c * group], [group],
                [x, mean, invStd, runningMean ?? mean, runningVar ?? invStd, runningMean is null ? 0 : 1, n, c, hw, eps, momentum]);
        }
        else
        {
            if (runningMean is null || runningVar is null) throw new ArgumentException($"{op}: eval mode needs runningMean and runningVar");
            Launch1DNorm("batchnorm2d_eval_stats", c, [runningMean, runningVar, mean, invStd, c, eps]);
        }
        if (n * hw == 0) return;
        // y [N, C, HW] = (x − mean)·invStd·weight + bias
        Launch("batchnorm2d.cl", "batchnorm2d_apply", NormOptions, [hw, (long)n * c], [NormGroupX, NormGroupY],
            [x, mean, invStd, weight ?? mean, bias ?? mean, weight is null ? 0 : 1, bias is null ? 0 : 1, y, n * c, c, hw]);
    }

    /// <inheritdoc/>
    public override void BatchNorm2dBackward(Storage dy, Storage x, Storage? weight, Storage mean, Storage invStd,
        Storage dx, Storage? dWeight, Storage? dBias, int n, int c, int hw, bool training)
    {
        const string op = "BatchNorm2dBackward";
        CheckNorm(op, n, c, hw, ("dy", dy), ("x", x), ("dx", dx));
        CheckNorm(op, 1, c, 1, ("mean", mean), ("invStd", invStd), ("weight", weight), ("dWeight", dWeight), ("dBias", dBias));
        if (c == 0) return;
        bool reduce = training || dWeight is not null || dBias is not null;
        using var sums = reduce ? Allocate(2 * c, DType.Float32) : null; // [2, C]: Σdy, Σdy·x̂
        if (sums is not null)
        {
            int group = NormReduceGroup;
            Launch("batchnorm2d.cl", "batchnorm2d_bwd_reduce", NormOptions, [(long)c * group], [group],
                [dy, x, mean, invStd, sums, dWeight ?? sums, dBias ?? sums, dWeight is null ? 0 : 1, dBias is null ? 0 : 1, n, c, hw]);
        }
        if (n * hw == 0) return;
        // dx [N, C, HW]
        Launch("batchnorm2d.cl", "batchnorm2d_bwd_dx", NormOptions, [hw, (long)n * c], [NormGroupX, NormGroupY],
            [dy, x, weight ?? mean, mean, invStd, sums ?? mean, weight is null ? 0 : 1, training ? 1 : 0, dx, n * c, c, hw, n * hw]);
    }

    private void Launch1DNorm(string kernel, int n, ReadOnlySpan<KernelArg> args) =>
        Launch("batchnorm2d.cl", kernel, NormOptions, [n], [NormGroupX], args);

    /// <summary>Checks that each given buffer is Float32 with at least n·c·hw elements.</summary>
    internal static void CheckNorm(string op, int n, int c, int hw, params ReadOnlySpan<(string Name, Storage? Buffer)> buffers)
    {
        if (n < 0 || c < 0 || hw < 0) throw new ArgumentOutOfRangeException(nameof(n), $"{op}: N = {n}, C = {c}, HW = {hw} must not be negative");
        string shape = n == 1 && hw == 1 ? $"[{c}]" : $"[{n}, {c}, {hw}]";
        foreach (var (name, buffer) in buffers)
            if (buffer is not null) CheckBuffer(op, name, buffer, (long)n * c * hw, shape);
    }
}
