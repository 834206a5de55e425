using ILGPU;
using ILGPU.Runtime;
using SerEngine.Backends;
using SerEngine.Backends.Gpu;
using SerEngine.Ilgpu.Kernels;

namespace SerEngine.Ilgpu;

// Launch code for Kernels/ReduceKernels.cs (SumTo), with GpuBackend.Reduce.cs's choice, after
// collapsing x's dims into alternating reduced/kept runs:
//   nothing reduced              → a plain copy
//   [R reduced, K kept] or [R]   → sum_rows (one or two passes)
//   else, ≥ 64 summands / output → sum_to_group (one group per output)
//   else                         → sum_to_naive (one thread per output)
public sealed partial class IlgpuBackend
{
    private Action<KernelConfig, ArrayView<float>, ArrayView<float>, SumToArgs, Dims8>? _sumToNaive, _sumToGroup;
    private Action<KernelConfig, ArrayView<float>, ArrayView<float>, int, int, int>? _sumRows;

    /// <inheritdoc/>
    public override void SumTo(Storage x, Shape xShape, Storage y, Shape yShape)
    {
        GpuBackend.CheckSameRankOrOne("SumTo", yShape, xShape);
        GpuBackend.CheckBuffer(x, xShape.Size, DType.Float32, "SumTo", nameof(x));
        GpuBackend.CheckBuffer(y, yShape.Size, DType.Float32, "SumTo", nameof(y));
        int m = yShape.Size, total = xShape.Size;
        if (m == 0) return;
        if (total == 0)
        {
            Fill(y, m, 0f); // sums over empty dims
            return;
        }
        var (dims, reduced) = GpuBackend.CollapseSumRuns(xShape, yShape);
        if (!reduced.Contains(true))
        {
            CopyBlocks(x, 0, total, y, 0, total, total, 1);
            return;
        }
        if (reduced[0] && dims.Count <= 2)
        {
            SumRows(x, y, dims[0], dims.Count == 2 ? dims[1] : 1); // [R, K] → [K]
            return;
        }
        if (dims.Count > Dims8.Rank)
            throw new NotSupportedException($"SumTo: {xShape} → {yShape} alternates reduced and kept dims {dims.Count} times; the kernel takes {Dims8.Rank}");
        int count = total / m, mask = 0;
        for (int k = 0; k < dims.Count; k++)
            if (reduced[k]) mask |= 1 << k;
        var args = new SumToArgs(m, count, mask);
        var d8 = Dims8.From([.. dims], 1);
        ArrayView<float> xv = F(x), yv = F(y); // x [dims], y [m]
        if (count >= GpuBackend.SumToGroupThreshold)
        {
            int group = RowGroup(count);
            Run(ref _sumToGroup, a => a.LoadStreamKernel<ArrayView<float>, ArrayView<float>, SumToArgs, Dims8>(ReduceKernels.SumToGroup),
                k => k(new KernelConfig(m, group), xv, yv, args, d8));
        }
        else
        {
            Run(ref _sumToNaive, a => a.LoadStreamKernel<ArrayView<float>, ArrayView<float>, SumToArgs, Dims8>(ReduceKernels.SumToNaive),
                k => k(Config1D(m), xv, yv, args, d8));
        }
    }

    /// <summary>y [cols] = Σ over rows of x [rows, cols]: one sum_rows pass, or two through partial sums.</summary>
    private void SumRows(Storage x, Storage y, int rows, int cols)
    {
        var (_, ty) = SumRowsGroup(cols);
        int chunks = (int)Math.Clamp(((long)rows + 8L * ty - 1) / (8L * ty), 1, GpuBackend.SumRowsMaxChunks);
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

    /// <summary>sum_rows group: TX columns (up to 32, a power of two) × TY rows, TX·TY = <see cref="GroupSize"/>.</summary>
    private (int Tx, int Ty) SumRowsGroup(int cols)
    {
        int tx = Math.Min(Math.Min(32, GroupSize), cols <= 1 ? 1 : 1 << (32 - int.LeadingZeroCount(cols - 1)));
        return (tx, GroupSize / tx);
    }

    /// <summary>One sum_rows launch: y [chunks, cols] from x [rows, cols].</summary>
    private void SumRowsPass(Storage x, Storage y, int rows, int cols, int rowsPerChunk, int chunks)
    {
        var (tx, ty) = SumRowsGroup(cols);
        ArrayView<float> xv = F(x), yv = F(y);
        var config = new KernelConfig(new Index2D((cols + tx - 1) / tx, chunks), new Index2D(tx, ty));
        Run(ref _sumRows, a => a.LoadStreamKernel<ArrayView<float>, ArrayView<float>, int, int, int>(ReduceKernels.SumRows),
            k => k(config, xv, yv, rows, cols, rowsPerChunk));
    }
}
