namespace SerEngine.Backends.Gpu;

// Launch code for kernels/permute.cl: Permute (Float32 or Int32) and the strided gather that
// BroadcastTo shares. Shapes are collapsed first; a gather that collapses to one contiguous run
// is a plain copy.
public abstract partial class GpuBackend
{
    private const string PermuteFile = "permute.cl";

    /// <inheritdoc/>
    public override void Permute(Storage x, Shape xShape, int[] perm, Storage y)
    {
        CheckPermutation(xShape, perm);
        int rank = xShape.Rank;
        CheckBuffer(x, xShape.Size, x.DType, "Permute", nameof(x));
        CheckBuffer(y, xShape.Size, x.DType, "Permute", nameof(y));

        var xs = xShape.Strides();
        var yDims = new int[rank];
        var strides = new int[rank]; // stride in x of each y axis
        for (int i = 0; i < rank; i++)
        {
            yDims[i] = xShape[perm[i]];
            strides[i] = xs[perm[i]];
        }
        StridedGather("Permute", x, y, yDims, strides);
    }

    /// <summary>
    /// y [yDims] (contiguous) = x read at <paramref name="strides"/> per y dim: a copy when the
    /// view collapses to one contiguous run, else the <c>strided_gather</c> kernel (32-bit words).
    /// </summary>
    private void StridedGather(string op, Storage x, Storage y, int[] yDims, int[] strides)
    {
        long n = 1;
        foreach (int d in yDims) n *= d;
        if (n == 0) return;
        var (dims, s) = Collapse(yDims, strides);
        if (dims.Length == 0 || (dims.Length == 1 && s[0][0] == 1))
        {
            CopyBlocks(x, 0, (int)n, y, 0, (int)n, (int)n, 1);
            return;
        }
        if (dims.Length > MaxKernelRank)
            throw new NotSupportedException($"{op}: the view has {dims.Length} dims after collapsing; the kernel takes {MaxKernelRank}");
        // x: strided over y's collapsed dims, y: [dims]
        var args = new List<KernelArg> { x, y, (int)n, dims.Length };
        AddStridedArgs(args, dims, s[0]);
        Launch(PermuteFile, "strided_gather", "", [n], [GroupSize], args.ToArray());
    }

    /// <summary>Throws unless <paramref name="perm"/> is a permutation of <paramref name="xShape"/>'s axes (shared with the ILGPU backend).</summary>
    internal static void CheckPermutation(Shape xShape, int[] perm)
    {
        ArgumentNullException.ThrowIfNull(perm);
        int rank = xShape.Rank;
        bool valid = perm.Length == rank;
        var seen = new bool[rank];
        for (int i = 0; valid && i < rank; i++)
        {
            valid = perm[i] >= 0 && perm[i] < rank && !seen[perm[i]];
            if (valid) seen[perm[i]] = true;
        }
        if (!valid)
            throw new ArgumentException($"Permute: [{string.Join(", ", perm)}] is not a permutation of the {rank} axes of {xShape}", nameof(perm));
    }
}
