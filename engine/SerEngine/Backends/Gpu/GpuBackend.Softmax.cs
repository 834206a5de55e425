namespace SerEngine.Backends.Gpu;

// Launch code for kernels/softmax.cl. The group variants: one work-group per row of [rows, cols], its
// size the next power of two at or above cols (32..256, see ReductionGroup); longer rows loop inside
// the group. The subgroup variant: one subgroup (warp) per row, SoftmaxSubgroupGroup work-items per
// group. ChooseSoftmax is the one place that decides. Optional buffers travel as a has* flag plus a
// stand-in buffer that the kernel never reads.
public abstract partial class GpuBackend
{
    private const string SoftmaxFile = "softmax.cl";

    /// <summary>Environment variable choosing the softmax variant (one of <see cref="SoftmaxVariants"/>).</summary>
    public const string SoftmaxVariantEnvironmentVariable = "SERENGINE_SOFTMAX_VARIANT";

    /// <summary>
    /// Softmax variants of kernels/softmax.cl, simplest to fastest: <c>group_tree</c> (two tree
    /// reductions per row), <c>group_online</c> (one pass, one (max, sum) merge tree),
    /// <c>subgroup</c> (a subgroup/warp per row, no barriers; devices with subgroups only).
    /// The default is <see cref="DefaultSoftmaxVariant"/>.
    /// </summary>
    public static IReadOnlyList<string> SoftmaxVariants { get; } = ["group_tree", "group_online", "subgroup"];

    /// <summary>
    /// Longest row the subgroup variant takes; longer rows run group_online (forward) and group_tree
    /// (backward), where a whole work-group, not 32 lanes, shares the row's loads.
    /// </summary>
    public const int SoftmaxSubgroupMaxCols = 1024;

    /// <summary>Work-items per group of the subgroup kernels (4 warps of 32: 4 rows per group on CUDA).</summary>
    internal const int SoftmaxSubgroupGroup = 128;

    private string? _softmaxVariant;

    /// <summary>
    /// True when the device has subgroups the kernels can use (CUDA: warps; OpenCL: cl_khr_subgroups
    /// with OpenCL C 2.0 or later). Only then may <see cref="SoftmaxVariant"/> be <c>subgroup</c>.
    /// </summary>
    public virtual bool HasSubgroups => false;

    /// <summary>What the device says about subgroups, in words (for <c>ser devices</c> and refusals).</summary>
    public virtual string SubgroupDescription => "no subgroups";

    /// <summary>
    /// The default softmax variant on this device: <c>subgroup</c> where <see cref="HasSubgroups"/>, else
    /// <c>group_tree</c>: on PoCL (no subgroups) group_online's one pass was 1.2–1.7× slower than the two
    /// trees (benchmarks/results/amd-epyc-avx512-2vcpu/SOFTMAX-SUBGROUP.md), its barriers being cheap there.
    /// </summary>
    public string DefaultSoftmaxVariant => HasSubgroups ? "subgroup" : "group_tree";

    /// <summary>
    /// The softmax variant asked for (<see cref="ChooseSoftmax"/> says what a row length runs). Starts as
    /// <c>$SERENGINE_SOFTMAX_VARIANT</c>, else <see cref="DefaultSoftmaxVariant"/>.
    /// </summary>
    /// <exception cref="ArgumentException">An unknown variant name.</exception>
    /// <exception cref="NotSupportedException"><c>subgroup</c> on a device without subgroups.</exception>
    public string SoftmaxVariant
    {
        get => _softmaxVariant ??= CheckSoftmaxSupported(VariantFromEnvironment(SoftmaxVariantEnvironmentVariable, SoftmaxVariants, DefaultSoftmaxVariant, "softmax"));
        set => _softmaxVariant = CheckSoftmaxSupported(CheckVariant(value, SoftmaxVariants, "softmax"));
    }

    private string CheckSoftmaxSupported(string variant) =>
        variant != "subgroup" || HasSubgroups ? variant
        : throw new NotSupportedException($"softmax variant 'subgroup' needs subgroups, and {Name} device {DeviceName} has none ({SubgroupDescription}); use group_online or group_tree");

    /// <summary>
    /// The variant whose forward kernels run for rows of <paramref name="cols"/> under
    /// <see cref="SoftmaxVariant"/>: <c>subgroup</c> up to <see cref="SoftmaxSubgroupMaxCols"/>
    /// columns, <c>group_online</c> for longer rows or when asked for, else <c>group_tree</c>. The
    /// backward of <c>group_online</c> is <c>group_tree</c>'s kernel (it has one reduction only).
    /// </summary>
    public string ChooseSoftmax(int cols) => SoftmaxVariant switch
    {
        "subgroup" when cols <= SoftmaxSubgroupMaxCols => "subgroup",
        "subgroup" or "group_online" => "group_online",
        _ => "group_tree",
    };

    /// <summary>The kernel of softmax.cl that <paramref name="baseName"/> (softmax_rows, biased_softmax, or their _backward) runs for rows of <paramref name="cols"/>.</summary>
    public string SoftmaxKernelFor(string baseName, int cols) => SoftmaxKernelOf(ChooseSoftmax(cols), baseName);

    /// <summary>The kernel of softmax.cl that <paramref name="baseName"/> runs under the chosen <paramref name="variant"/> (a <see cref="ChooseSoftmax"/> result).</summary>
    public static string SoftmaxKernelOf(string variant, string baseName) => (variant, baseName.EndsWith("_backward", StringComparison.Ordinal)) switch
    {
        ("subgroup", _) => baseName + "_subgroup",
        ("group_online", false) => baseName + "_online",
        _ => baseName,
    };

    /// <summary>Options every build of softmax.cl gets on this device (one build per device, whatever the variant).</summary>
    internal virtual string SoftmaxOptions => "";

    /// <summary>Subgroups in a work-group of <paramref name="local"/> work-items running <paramref name="kernel"/> (CUDA: warps of 32).</summary>
    private protected virtual int SubgroupsPerGroup(string file, string options, string kernel, int local) => Math.Max(1, local / 32);

    /// <summary>
    /// Launches the softmax.cl kernel <paramref name="baseName"/> chooses for <paramref name="cols"/>: one
    /// work-group per row (group variants, <see cref="ReductionGroup"/> work-items) or one subgroup per row.
    /// </summary>
    private void LaunchSoftmax(string baseName, int rows, int cols, ReadOnlySpan<KernelArg> args)
    {
        string kernel = SoftmaxKernelFor(baseName, cols);
        string options = SoftmaxOptions;
        if (!kernel.EndsWith("_subgroup", StringComparison.Ordinal))
        {
            int group = ReductionGroup(cols);
            Launch(SoftmaxFile, kernel, options, [(long)rows * group], [group], args);
            return;
        }
        int local = Math.Max(32, Math.Min(SoftmaxSubgroupGroup, GroupSize) / 32 * 32);
        int perGroup = SubgroupsPerGroup(SoftmaxFile, options, kernel, local);
        // the kernel loops over rows with stride groups·(its own subgroup count), so a wrong perGroup costs time, not results
        long groups = ((long)rows + perGroup - 1) / perGroup;
        Launch(SoftmaxFile, kernel, options, [groups * local], [local], args);
    }

    /// <inheritdoc/>
    public override void Softmax(Storage x, Storage y, int rows, int cols, bool log)
    {
        CheckRows("Softmax", rows, cols);
        long size = (long)rows * cols;
        CheckBuffer(x, size, DType.Float32, "Softmax", nameof(x));
        CheckBuffer(y, size, DType.Float32, "Softmax", nameof(y));
        if (size == 0) return;
        // x, y: [rows, cols]
        LaunchSoftmax("softmax_rows", rows, cols, [x, y, rows, cols, log ? 1 : 0]);
    }

    /// <inheritdoc/>
    public override void SoftmaxBackward(Storage y, Storage dy, Storage dx, int rows, int cols, bool log)
    {
        CheckRows("SoftmaxBackward", rows, cols);
        long size = (long)rows * cols;
        CheckBuffer(y, size, DType.Float32, "SoftmaxBackward", nameof(y));
        CheckBuffer(dy, size, DType.Float32, "SoftmaxBackward", nameof(dy));
        CheckBuffer(dx, size, DType.Float32, "SoftmaxBackward", nameof(dx));
        if (size == 0) return;
        // y, dy, dx: [rows, cols]
        LaunchSoftmax("softmax_rows_backward", rows, cols, [y, dy, dx, rows, cols, log ? 1 : 0]);
    }

    /// <inheritdoc/>
    public override void BiasedSoftmax(Storage x, Storage? bias, Storage? keyMask, Storage y, int rows, int cols, int rowsPerMask, float scale)
    {
        CheckRows("BiasedSoftmax", rows, cols);
        long size = (long)rows * cols;
        CheckBuffer(x, size, DType.Float32, "BiasedSoftmax", nameof(x));
        CheckBuffer(y, size, DType.Float32, "BiasedSoftmax", nameof(y));
        if (bias is not null) CheckBuffer(bias, size, DType.Float32, "BiasedSoftmax", nameof(bias));
        if (keyMask is not null)
        {
            if (rowsPerMask <= 0)
                throw new ArgumentOutOfRangeException(nameof(rowsPerMask), $"BiasedSoftmax: rowsPerMask = {rowsPerMask} must be positive");
            CheckBuffer(keyMask, ((long)rows + rowsPerMask - 1) / rowsPerMask * cols, DType.Int32, "BiasedSoftmax", nameof(keyMask));
        }
        if (size == 0) return;
        // x, bias, y: [rows, cols]; keyMask: [rows / rowsPerMask, cols]
        LaunchSoftmax("biased_softmax", rows, cols,
            [x, bias ?? x, bias is null ? 0 : 1, keyMask ?? x, keyMask is null ? 0 : 1, y, rows, cols, keyMask is null ? 1 : rowsPerMask, scale]);
    }

    /// <inheritdoc/>
    public override void BiasedSoftmaxBackward(Storage y, Storage dy, Storage? dx, Storage? dBias, int rows, int cols, float scale)
    {
        CheckRows("BiasedSoftmaxBackward", rows, cols);
        long size = (long)rows * cols;
        CheckBuffer(y, size, DType.Float32, "BiasedSoftmaxBackward", nameof(y));
        CheckBuffer(dy, size, DType.Float32, "BiasedSoftmaxBackward", nameof(dy));
        if (dx is not null) CheckBuffer(dx, size, DType.Float32, "BiasedSoftmaxBackward", nameof(dx));
        if (dBias is not null) CheckBuffer(dBias, size, DType.Float32, "BiasedSoftmaxBackward", nameof(dBias));
        if (size == 0 || (dx is null && dBias is null)) return;
        // y, dy, dx, dBias: [rows, cols]
        LaunchSoftmax("biased_softmax_backward", rows, cols,
            [y, dy, dx ?? dy, dx is null ? 0 : 1, dBias ?? dy, dBias is null ? 0 : 1, rows, cols, scale]);
    }

    /// <summary>Throws unless rows and cols are ≥ 0 and the matrix fits the kernels' int indexing.</summary>
    internal static void CheckRows(string op, int rows, int cols)
    {
        CheckCount(rows, op, nameof(rows));
        CheckCount(cols, op, nameof(cols));
        if ((long)rows * cols > int.MaxValue)
            throw new ArgumentOutOfRangeException(nameof(rows), $"{op}: [{rows}, {cols}] has more than {int.MaxValue} elements");
    }
}
