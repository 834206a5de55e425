namespace SerEngine.Backends.Gpu;

// BatchNorm2d launch code (kernels/batchnorm2d.cl). Dimension legend: x, y, dy, dx [N, C, HW];
// weight, bias, mean, invStd, running stats [C]; count = N·HW values per channel (H·Σvalid with a
// column mask, whose [N] counts go up as an Int32 buffer from the pool and pick the *_masked kernels).
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
        int n, int c, int hw, float eps, float momentum, bool training, int[]? validColumns = null, int width = 0)
    {
        const string op = "BatchNorm2dForward";
        BatchNorm2dMask.Check(op, validColumns, n, hw, width);
        CheckNorm(op, n, c, hw, ("x", x), ("y", y));
        CheckNorm(op, 1, c, 1, ("mean", mean), ("invStd", invStd), ("weight", weight), ("bias", bias), ("runningMean", runningMean), ("runningVar", runningVar));
        if ((runningMean is null) != (runningVar is null))
            throw new ArgumentException($"{op}: runningMean and runningVar must be given together");
        if (c == 0) return;
        using var valid = UploadValidColumns(validColumns, width); // [N] or null
        int count = (int)BatchNorm2dMask.Count(validColumns, n, hw, width);
        if (training)
        {
            if (count == 0) throw new ArgumentException($"{op}: training needs at least one value per channel, got N = {n}, HW = {hw}");
            // x [N, C, HW] → mean, invStd [C]; running stats updated in place
            int group = NormReduceGroup;
            KernelArg[] args = [x, mean, invStd, runningMean ?? mean, runningVar ?? invStd, runningMean is null ? 0 : 1, n, c, hw, eps, momentum];
            if (valid is null) Launch("batchnorm2d.cl", "batchnorm2d_stats", NormOptions, [(long)c * group], [group], args);
            else Launch("batchnorm2d.cl", "batchnorm2d_stats_masked", NormOptions, [(long)c * group], [group], [.. args, valid, width, count]);
        }
        else
        {
            if (runningMean is null || runningVar is null) throw new ArgumentException($"{op}: eval mode needs runningMean and runningVar");
            Launch1DNorm("batchnorm2d_eval_stats", c, [runningMean, runningVar, mean, invStd, c, eps]);
        }
        if (n * hw == 0) return;
        // y [N, C, HW] = (x − mean)·invStd·weight + bias (0 at padded positions)
        KernelArg[] applyArgs = [x, mean, invStd, weight ?? mean, bias ?? mean, weight is null ? 0 : 1, bias is null ? 0 : 1, y, n * c, c, hw];
        if (valid is null) Launch("batchnorm2d.cl", "batchnorm2d_apply", NormOptions, [hw, (long)n * c], [NormGroupX, NormGroupY], applyArgs);
        else Launch("batchnorm2d.cl", "batchnorm2d_apply_masked", NormOptions, [hw, (long)n * c], [NormGroupX, NormGroupY], [.. applyArgs, valid, width]);
    }

    /// <inheritdoc/>
    public override void BatchNorm2dBackward(Storage dy, Storage x, Storage? weight, Storage mean, Storage invStd,
        Storage dx, Storage? dWeight, Storage? dBias, int n, int c, int hw, bool training, int[]? validColumns = null, int width = 0)
    {
        const string op = "BatchNorm2dBackward";
        BatchNorm2dMask.Check(op, validColumns, n, hw, width);
        CheckNorm(op, n, c, hw, ("dy", dy), ("x", x), ("dx", dx));
        CheckNorm(op, 1, c, 1, ("mean", mean), ("invStd", invStd), ("weight", weight), ("dWeight", dWeight), ("dBias", dBias));
        if (c == 0) return;
        bool reduce = training || dWeight is not null || dBias is not null;
        using var sums = reduce ? Allocate(2 * c, DType.Float32) : null; // [2, C]: Σdy, Σdy·x̂
        using var valid = UploadValidColumns(validColumns, width);        // [N] or null
        if (sums is not null)
        {
            int group = NormReduceGroup;
            KernelArg[] args = [dy, x, mean, invStd, sums, dWeight ?? sums, dBias ?? sums, dWeight is null ? 0 : 1, dBias is null ? 0 : 1, n, c, hw];
            if (valid is null) Launch("batchnorm2d.cl", "batchnorm2d_bwd_reduce", NormOptions, [(long)c * group], [group], args);
            else Launch("batchnorm2d.cl", "batchnorm2d_bwd_reduce_masked", NormOptions, [(long)c * group], [group], [.. args, valid, width]);
        }
        if (n * hw == 0) return;
        // dx [N, C, HW] (0 at padded positions)
        int count = (int)BatchNorm2dMask.Count(validColumns, n, hw, width);
        KernelArg[] dxArgs = [dy, x, weight ?? mean, mean, invStd, sums ?? mean, weight is null ? 0 : 1, training ? 1 : 0, dx, n * c, c, hw, count];
        if (valid is null) Launch("batchnorm2d.cl", "batchnorm2d_bwd_dx", NormOptions, [hw, (long)n * c], [NormGroupX, NormGroupY], dxArgs);
        else Launch("batchnorm2d.cl", "batchnorm2d_bwd_dx_masked", NormOptions, [hw, (long)n * c], [NormGroupX, NormGroupY], [.. dxArgs, valid, width]);
    }

    /// <summary>The clamped valid column counts [N] in a pooled Int32 buffer (null without a mask).</summary>
    private Storage? UploadValidColumns(int[]? validColumns, int width)
    {
        if (validColumns is null) return null;
        var valid = Allocate(validColumns.Length, DType.Int32);
        Write(valid, BatchNorm2dMask.Clamped(validColumns, width));
        return valid;
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
