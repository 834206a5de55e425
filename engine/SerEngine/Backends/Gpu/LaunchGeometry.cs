namespace SerEngine.Backends.Gpu;

/// <summary>The most groups (blocks) one launch may have per dimension.</summary>
/// <param name="X">Groups along x.</param>
/// <param name="Y">Groups along y.</param>
/// <param name="Z">Groups along z.</param>
public readonly record struct GroupLimits(long X, long Y, long Z)
{
    /// <summary>No limit (OpenCL sizes are <c>size_t</c>).</summary>
    public static GroupLimits Unlimited { get; } = new(long.MaxValue, long.MaxValue, long.MaxValue);

    /// <summary>CUDA's grid limits: x ≤ 2^31−1, y and z ≤ 65,535.</summary>
    public static GroupLimits Cuda { get; } = new(int.MaxValue, 65_535, 65_535);
}

/// <summary>
/// One launch of a launch cut into slices: the first logical group along y and z it covers, and its
/// group counts. Kernels add the base to their y/z group id (the dialect's <c>GROUP(n)</c> does it), so
/// they see the same logical indices as in one launch.
/// </summary>
/// <param name="BaseY">First logical group along y.</param>
/// <param name="BaseZ">First logical group along z.</param>
/// <param name="GroupsX">Groups along x (never cut).</param>
/// <param name="GroupsY">Groups along y in this slice.</param>
/// <param name="GroupsZ">Groups along z in this slice.</param>
public readonly record struct LaunchSlice(long BaseY, long BaseZ, long GroupsX, long GroupsY, long GroupsZ);

/// <summary>
/// The launch geometry shared by the GPU backends: group counts from global and local sizes, and the
/// cut of a grid whose y or z exceeds the device's limits (CUDA: 65,535) into slices along y and z.
/// x is never cut: kernels use <c>GSIZE(0)</c>/<c>NGROUPS(0)</c> for grid-stride loops, while
/// <c>NGROUPS</c>/<c>GSIZE</c> of y and z are the slice's own and no kernel reads them.
/// </summary>
public static class LaunchGeometry
{
    /// <summary>Groups per dimension (x, y, z; missing dimensions are 1): global sizes rounded up to whole groups. Zero when any global size is ≤ 0.</summary>
    /// <exception cref="ArgumentException">Ranks differ, the rank is not 1 to 3, or a local size is not positive.</exception>
    public static (long X, long Y, long Z) Groups(ReadOnlySpan<long> global, ReadOnlySpan<int> local)
    {
        if (local.Length != global.Length || global.Length is < 1 or > 3)
            throw new ArgumentException($"global size has {global.Length} dims, local size {local.Length} (1 to 3, equal)");
        Span<long> g = [1, 1, 1];
        for (int i = 0; i < global.Length; i++)
        {
            if (local[i] <= 0) throw new ArgumentException($"local size {local[i]} in dimension {i} is not positive");
            if (global[i] <= 0) return (0, 0, 0);
            g[i] = (global[i] + local[i] - 1) / local[i];
        }
        return (g[0], g[1], g[2]);
    }

    /// <summary>True when the grid fits <paramref name="limits"/> in one launch.</summary>
    public static bool Fits((long X, long Y, long Z) groups, GroupLimits limits) =>
        groups.X <= limits.X && groups.Y <= limits.Y && groups.Z <= limits.Z;

    /// <summary>
    /// The slices that cover <paramref name="groups"/> within <paramref name="limits"/>: z-major, then y,
    /// each slice as large as the limits allow. One slice, based at 0, when the grid fits.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">x exceeds its limit (x is never cut), or a limit is not positive.</exception>
    public static IReadOnlyList<LaunchSlice> Slices((long X, long Y, long Z) groups, GroupLimits limits)
    {
        if (limits.X <= 0 || limits.Y <= 0 || limits.Z <= 0) throw new ArgumentOutOfRangeException(nameof(limits), $"limits {limits} must be positive");
        if (groups.X > limits.X)
            throw new ArgumentOutOfRangeException(nameof(groups), $"{groups.X} groups along x exceed the device's {limits.X}");
        if (groups.X <= 0 || groups.Y <= 0 || groups.Z <= 0) return [];
        var slices = new List<LaunchSlice>();
        for (long z = 0; z < groups.Z; z += limits.Z)
            for (long y = 0; y < groups.Y; y += limits.Y)
                slices.Add(new LaunchSlice(y, z, groups.X, Math.Min(limits.Y, groups.Y - y), Math.Min(limits.Z, groups.Z - z)));
        return slices;
    }
}
