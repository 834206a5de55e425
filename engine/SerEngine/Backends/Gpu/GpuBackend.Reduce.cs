namespace SerEngine.Backends.Gpu;

// Launch code for kernels/reduce.cl (SumTo) and its adjoint BroadcastTo (a strided gather from
// kernels/permute.cl with stride 0 on broadcast dims).
//   SumTo variant choice, after collapsing x's dims into alternating reduced/kept runs:
//     nothing reduced              → a plain copy
//     [R reduced, K kept] or [R]   → sum_rows (tree reduction, one or two passes)
//     else, ≥ 64 summands / output → sum_to_group (one work-group per output)
//     else                         → sum_to_naive (one work-item per output)
public abstract partial class GpuBackend
{
    private const string ReduceFile = "reduce.cl";

    /// <summary>Fewest summands per output for which sum_to_group beats sum_to_naive.</summary>
    internal const int SumToGroupThreshold = 64;

    /// <summary>Most row chunks (work-groups down the rows) of the first sum_rows pass.</summary>
    internal const int SumRowsMaxChunks = 128;

    /// <inheritdoc/>
    public override void SumTo(Storage x, Shape xShape, Storage y, Shape yShape)
    {
        CheckSameRankOrOne("SumTo", yShape, xShape);
        CheckBuffer(x, xShape.Size, DType.Float32, "SumTo", nameof(x));
        CheckBuffer(y, yShape.Size, DType.Float32, "SumTo", nameof(y));
        int m = yShape.Size, total = xShape.Size;
        if (m == 0) return;
        if (total == 0)
        {
            Fill(y, m, 0f); // sums over empty dims
            return;
        }

        var (dims, reduced) = CollapseSumRuns(xShape, yShape);
        if (!reduced.Contains(true))
        {
            CopyBlocks(x, 0, total, y, 0, total, total, 1);
            return;
        }
        if (reduced[0] && dims.Count <= 2)
        {
            // [R, K] with the leading R summed away (K = 1 when everything is reduced)
            SumRows(x, y, dims[0], dims.Count == 2 ? dims[1] : 1);
            return;
        }
        if (dims.Count > MaxKernelRank)
            throw new NotSupportedException($"SumTo: {xShape} → {yShape} alternates reduced and kept dims {dims.Count} times; the kernel takes {MaxKernelRank}");

        int count = total / m, mask = 0;
        for (int k = 0; k < dims.Count; k++)
            if (reduced[k]) mask |= 1 << k;
        var args = new List<KernelArg> { x, y, m, count, dims.Count, mask };
        AddStridedArgs(args, [.. dims]);
        if (count >= SumToGroupThreshold)
        {
            int group = ReductionGroup(count);
            // x: [dims], y: [m], one work-group per output element
            Launch(ReduceFile, "sum_to_group", "", [(long)m * group], [group], args.ToArray());
        }
        else
        {
            // x: [dims], y: [m], one work-item per output element
            Launch(ReduceFile, "sum_to_naive", "", [m], [GroupSize], args.ToArray());
        }
    }

    /// <summary>y [cols] = Σ over rows of x [rows, cols]: one sum_rows pass, or two through partial sums.</summary>
    private void SumRows(Storage x, Storage y, int rows, int cols)
    {
        var (_, ty) = SumRowsGroup(cols);
        // about 8 rows per work-item in the first pass, at most SumRowsMaxChunks chunks
        int chunks = (int)Math.Clamp(((long)rows + 8L * ty - 1) / (8L * ty), 1, SumRowsMaxChunks);
        int rowsPerChunk = (rows + chunks - 1) / chunks;
        chunks = (rows + rowsPerChunk - 1) / rowsPerChunk;
        if (chunks == 1)
        {
            SumRowsPass(x, y, rows, cols, rows, 1);
            return;
        }
        using var partial = Allocate(chunks * cols, DType.Float32); // [chunks, cols]
        SumRowsPass(x, partial, rows, cols, rowsPerChunk, chunks);
        SumRowsPass(partial, y, chunks, cols, chunks, 1);
    }

    /// <summary>sum_rows work-group: TX columns (up to 32, a power of two) × TY rows, TX·TY = the reduction group limit.</summary>
    private (int Tx, int Ty) SumRowsGroup(int cols)
    {
        int limit = ReductionGroupLimit;
        int tx = Math.Min(Math.Min(32, limit), cols <= 1 ? 1 : 1 << (32 - int.LeadingZeroCount(cols - 1)));
        return (tx, limit / tx);
    }

    /// <summary>One sum_rows launch: y [chunks, cols] from x [rows, cols].</summary>
    private void SumRowsPass(Storage x, Storage y, int rows, int cols, int rowsPerChunk, int chunks)
    {
        var (tx, ty) = SumRowsGroup(cols);
        // x: [rows, cols], y: [chunks, cols]
        Launch(ReduceFile, "sum_rows", "", [cols, (long)chunks * ty], [tx, ty], [x, y, rows, cols, rowsPerChunk]);
    }

    /// <inheritdoc/>
    public override void BroadcastTo(Storage x, Shape xShape, Storage y, Shape yShape)
    {
        CheckSameRankOrOne("BroadcastTo", xShape, yShape);
        CheckBuffer(x, xShape.Size, DType.Float32, "BroadcastTo", nameof(x));
        CheckBuffer(y, yShape.Size, DType.Float32, "BroadcastTo", nameof(y));
        var strides = Cpu.CpuReferenceBackend.BroadcastStrides(xShape, yShape); // x's strides over y's dims, 0 where x broadcasts
        StridedGather("BroadcastTo", x, y, yShape.ToArray(), strides);
    }

    /// <summary>
    /// x's dims collapsed into runs of reduced (y's dim is 1) and kept dims, size-1 dims dropped: the
    /// shapes SumTo's kernels see (shared with the ILGPU backend's launch code).
    /// </summary>
    internal static (List<int> Dims, List<bool> Reduced) CollapseSumRuns(Shape xShape, Shape yShape)
    {
        var dims = new List<int>();
        var reduced = new List<bool>();
        for (int k = 0; k < xShape.Rank; k++)
        {
            if (xShape[k] == 1) continue;
            bool r = yShape[k] == 1;
            if (reduced.Count > 0 && reduced[^1] == r) dims[^1] *= xShape[k];
            else
            {
                dims.Add(xShape[k]);
                reduced.Add(r);
            }
        }
        return (dims, reduced);
    }

    /// <summary>Throws unless <paramref name="small"/> has <paramref name="full"/>'s rank and each dim equal to full's or 1.</summary>
    internal static void CheckSameRankOrOne(string op, Shape small, Shape full)
    {
        bool ok = small.Rank == full.Rank;
        for (int k = 0; ok && k < small.Rank; k++) ok = small[k] == full[k] || small[k] == 1;
        if (!ok)
            throw new ArgumentException($"{op}: {small} must have the rank of {full} with each dim equal to it or 1");
    }
}
