namespace SerEngine.Backends.Gpu;

// What the launch code of the elementwise, reduction, permute and softmax kernels shares: shape
// collapsing for the strided kernels (rank ≤ 8 after it), work-group sizes for the local-memory
// reductions (powers of two ≤ MAX_GROUP), and buffer checks (a kernel that writes out of bounds
// corrupts memory silently, so sizes are checked on the host and named in the error).
public abstract partial class GpuBackend
{
    /// <summary>Most dims a strided kernel takes (MAX_RANK in the kernels).</summary>
    internal const int MaxKernelRank = 8;

    /// <summary>Largest work-group of the reduction kernels (MAX_GROUP, the size of their local arrays).</summary>
    internal const int MaxReductionGroup = 256;

    /// <summary>Largest power of two that is at most <see cref="GroupSize"/> and <see cref="MaxReductionGroup"/>.</summary>
    internal int ReductionGroupLimit
    {
        get
        {
            int limit = Math.Clamp(GroupSize, 1, MaxReductionGroup);
            return 1 << (31 - int.LeadingZeroCount(limit));
        }
    }

    /// <summary>
    /// Work-group size for one group per row of <paramref name="length"/> elements: the next power of
    /// two at or above the length, at least 32 (a warp), at most <see cref="ReductionGroupLimit"/>.
    /// </summary>
    internal int ReductionGroup(int length)
    {
        int limit = ReductionGroupLimit;
        int want = length <= 32 ? 32 : 1 << (32 - int.LeadingZeroCount(length - 1));
        return Math.Min(want, limit);
    }

    /// <summary>
    /// Simplifies a strided view for the kernels: drops size-1 dims of <paramref name="dims"/> and
    /// merges neighbours k, k+1 when every operand steps through them as one dim
    /// (stride[k] = stride[k+1]·dims[k+1]). Returns the new dims and each operand's new strides.
    /// </summary>
    internal static (int[] Dims, int[][] Strides) Collapse(int[] dims, params int[][] strides)
    {
        var d = new List<int>(dims.Length);
        var s = strides.Select(_ => new List<int>(dims.Length)).ToArray();
        for (int k = 0; k < dims.Length; k++)
        {
            if (dims[k] == 1) continue;
            int last = d.Count - 1;
            bool merge = last >= 0;
            for (int o = 0; merge && o < strides.Length; o++)
                merge = s[o][last] == strides[o][k] * dims[k];
            if (merge)
            {
                d[last] *= dims[k];
                for (int o = 0; o < strides.Length; o++) s[o][last] = strides[o][k];
            }
            else
            {
                d.Add(dims[k]);
                for (int o = 0; o < strides.Length; o++) s[o].Add(strides[o][k]);
            }
        }
        return ([.. d], [.. s.Select(l => l.ToArray())]);
    }

    /// <summary>Appends rank dims then rank strides per operand, each padded to <see cref="MaxKernelRank"/> (dims with 1, strides with 0).</summary>
    internal static void AddStridedArgs(List<KernelArg> args, int[] dims, params int[][] strides)
    {
        for (int k = 0; k < MaxKernelRank; k++) args.Add(k < dims.Length ? dims[k] : 1);
        foreach (var s in strides)
            for (int k = 0; k < MaxKernelRank; k++) args.Add(k < s.Length ? s[k] : 0);
    }

    /// <summary>Throws unless <paramref name="s"/> is a <paramref name="dtype"/> buffer with at least <paramref name="needed"/> elements.</summary>
    internal static void CheckBuffer(Storage s, long needed, DType dtype, string op, string name)
    {
        if (s.DType != dtype)
            throw new ArgumentException($"{op}: {name} must be a {dtype} buffer, found {s.DType}", name);
        if (needed > s.Length)
            throw new ArgumentException($"{op}: {name} needs {needed} elements, its buffer has {s.Length}", name);
    }

    /// <summary>Throws unless <paramref name="value"/> is ≥ 0.</summary>
    internal static void CheckCount(int value, string op, string name)
    {
        if (value < 0) throw new ArgumentOutOfRangeException(name, $"{op}: {name} = {value} is negative");
    }
}
