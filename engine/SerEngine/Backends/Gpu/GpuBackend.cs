namespace SerEngine.Backends.Gpu;

/// <summary>
/// What the OpenCL and CUDA backends share: every op's launch code, written once against
/// <see cref="Launch"/> in <c>GpuBackend.&lt;Op&gt;.cs</c>, over kernels written once in the dialect
/// (kernels/*.cl). A concrete backend supplies memory, program building and the launch itself.
/// </summary>
public abstract partial class GpuBackend : Backend
{
    /// <summary>Work-group (block) size used for 1-D launches.</summary>
    public abstract int GroupSize { get; }

    /// <summary>
    /// Launches <paramref name="kernel"/> of <paramref name="file"/> (compiled with the extra
    /// <paramref name="options"/>, e.g. <c>-DTILE=16</c>) over <paramref name="global"/> work-items per
    /// dimension in groups of <paramref name="local"/>; the global size is rounded up to whole groups,
    /// so kernels bounds-check. 1 to 3 dimensions; local must have the same rank. A grid beyond the
    /// device's y/z limits is cut into slices by <see cref="LaunchGeometry.Slices"/>; kernels see the
    /// same logical <c>GROUP(n)</c>/<c>GID(n)</c> either way.
    /// </summary>
    protected internal abstract void Launch(string file, string kernel, string options,
        ReadOnlySpan<long> global, ReadOnlySpan<int> local, ReadOnlySpan<KernelArg> args);

    /// <summary>The most groups per dimension one launch of this device may have (CUDA: 2^31−1, 65,535, 65,535).</summary>
    protected virtual GroupLimits DeviceGroupLimits => GroupLimits.Unlimited;

    /// <summary>
    /// Smaller limits to cut launches by, instead of the device's (null: the device's): lets a test make
    /// OpenCL cut a grid into y/z slices exactly as CUDA must above 65,535 groups.
    /// </summary>
    internal GroupLimits? GroupLimitsOverride { get; set; }

    /// <summary>The limits launches are cut by: <see cref="GroupLimitsOverride"/>, else the device's.</summary>
    internal GroupLimits EffectiveGroupLimits => GroupLimitsOverride ?? DeviceGroupLimits;

    /// <summary>A 1-D launch of <paramref name="n"/> work-items in groups of <see cref="GroupSize"/>.</summary>
    internal void Launch1D(string file, string kernel, long n, params ReadOnlySpan<KernelArg> args)
    {
        if (n <= 0) return;
        Launch(file, kernel, "", [n], [GroupSize], args);
    }

    /// <summary>Rounds <paramref name="n"/> up to a multiple of <paramref name="group"/>.</summary>
    internal static long RoundUp(long n, int group) => (n + group - 1) / group * group;
}
