using ILGPU;

namespace SerEngine.Ilgpu.Kernels;

/// <summary>A SumTo launch: m outputs, count summands each, over collapsed dims whose reduced ones are the set bits of ReducedMask.</summary>
internal readonly record struct SumToArgs(int M, int Count, int ReducedMask);

/// <summary>
/// SumTo, the twin of kernels/reduce.cl (same kernels: sum_to_naive, sum_to_group, sum_rows).
/// Dimension legend: x has collapsed dims d (reduced and kept runs alternate, rank ≤ 8); y holds the
/// kept dims in order, m elements; count = |x| / m summands per output. Deterministic (no atomics).
/// The launch code also sums a whole buffer with ILGPU.Algorithms' reduction (IlgpuBackend.Reduce.cs).
/// </summary>
internal static class ReduceKernels
{
    /// <summary>Offset in x of output j (its kept coordinates) or of summand r (its reduced coordinates).</summary>
    private static int Offset(int j, in Dims8 d, int mask, bool reduced)
    {
        int offset = 0, stride = 1;
        for (int k = Dims8.Rank - 1; k >= 0; k--)
        {
            int dk = d[k];
            if ((((mask >> k) & 1) != 0) == reduced)
            {
                offset += j % dk * stride;
                j /= dk;
            }
            stride *= dk;
        }
        return offset;
    }

    /// <summary>sum_to_naive: one thread per output loops over its summands (grid-stride over outputs).</summary>
    public static void SumToNaive(ArrayView<float> x, ArrayView<float> y, SumToArgs a, Dims8 d) // x [d], y [m]
    {
        for (int j = Grid.GlobalIndex.X; j < a.M; j += Grid.DimX * Group.DimX)
        {
            int b = Offset(j, d, a.ReducedMask, false);
            float s = 0f;
            for (int r = 0; r < a.Count; r++) s += x[b + Offset(r, d, a.ReducedMask, true)];
            y[j] = s;
        }
    }

    /// <summary>sum_to_group: one group per output, a strided loop then a group reduction.</summary>
    public static void SumToGroup(ArrayView<float> x, ArrayView<float> y, SumToArgs a, Dims8 d) // x [d], y [m]
    {
        int j = Grid.IdxX;
        if (j >= a.M) return; // uniform over the group
        int b = Offset(j, d, a.ReducedMask, false);
        float s = 0f;
        for (int r = Group.IdxX; r < a.Count; r += Group.DimX) s += x[b + Offset(r, d, a.ReducedMask, true)];
        s = GroupReduce.Sum(s);
        if (Group.IdxX == 0) y[j] = s;
    }

    /// <summary>
    /// sum_rows: x [rows, cols] with the leading rows summed away, chunk by chunk: groups of TX columns ×
    /// TY rows; each thread sums a strided slice of one column of its chunk, then a tree over TY writes
    /// y [chunks, cols]. Run twice when there is more than one chunk.
    /// </summary>
    public static void SumRows(ArrayView<float> x, ArrayView<float> y, int rows, int cols, int rowsPerChunk)
    {
        var partial = SharedMemory.Allocate<float>(IlgpuBackend.MaxGroup); // [TY, TX]
        int lx = Group.IdxX, ly = Group.IdxY, tx = Group.DimX, ty = Group.DimY;
        int col = Grid.IdxX * tx + lx, chunk = Grid.IdxY;
        int first = chunk * rowsPerChunk, end = Math.Min(rows, first + rowsPerChunk);
        float s = 0f;
        for (int r = first + ly; r < end; r += ty)
            if (col < cols) s += x[r * cols + col];
        partial[ly * tx + lx] = s;
        Group.Barrier();
        for (int gap = ty / 2; gap > 0; gap >>= 1)
        {
            if (ly < gap) partial[ly * tx + lx] += partial[(ly + gap) * tx + lx];
            Group.Barrier();
        }
        if (ly == 0 && col < cols) y[chunk * cols + col] = partial[lx];
    }
}
