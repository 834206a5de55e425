using ILGPU.Algorithms;
using ILGPU.Algorithms.ScanReduceOperations;

namespace SerEngine.Ilgpu.Kernels;

/// <summary>
/// Group-wide reductions (the twin of kernels/group.h's group_max / group_sum): ILGPU.Algorithms
/// has them as a primitive (<see cref="GroupExtensions.AllReduce{T, TReduction}"/>: warp shuffles,
/// then shared memory, per backend), so no shared array or barrier loop is written here. Every
/// thread of the group must call; every thread gets the result.
/// </summary>
internal static class GroupReduce
{
    /// <summary>The maximum of v over the group (at least float.MinValue, MaxFloat's identity: a group of −inf gives MinValue).</summary>
    public static float Max(float v) => GroupExtensions.AllReduce<float, MaxFloat>(v);

    /// <summary>The sum of v over the group.</summary>
    public static float Sum(float v) => GroupExtensions.AllReduce<float, AddFloat>(v);
}
