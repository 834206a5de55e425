using ILGPU;
using ILGPU.Runtime;
using SerEngine.Backends;
using SerEngine.Backends.Cpu;
using SerEngine.Backends.Gpu;
using SerEngine.Ilgpu.Kernels;

namespace SerEngine.Ilgpu;

// Launch code for Kernels/PermuteKernels.cs: Permute (Float32 or Int32) and BroadcastTo, both the
// strided gather; shapes are collapsed first, and a gather that collapses to one run is a plain copy.
public sealed partial class IlgpuBackend
{
    private Action<KernelConfig, ArrayView<int>, ArrayView<int>, int, Dims8, Dims8>? _stridedGather;

    /// <inheritdoc/>
    public override void Permute(Storage x, Shape xShape, int[] perm, Storage y)
    {
        GpuBackend.CheckPermutation(xShape, perm);
        int rank = xShape.Rank;
        GpuBackend.CheckBuffer(x, xShape.Size, x.DType, "Permute", nameof(x));
        GpuBackend.CheckBuffer(y, xShape.Size, x.DType, "Permute", nameof(y));
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

    /// <inheritdoc/>
    public override void BroadcastTo(Storage x, Shape xShape, Storage y, Shape yShape)
    {
        GpuBackend.CheckSameRankOrOne("BroadcastTo", xShape, yShape);
        GpuBackend.CheckBuffer(x, xShape.Size, DType.Float32, "BroadcastTo", nameof(x));
        GpuBackend.CheckBuffer(y, yShape.Size, DType.Float32, "BroadcastTo", nameof(y));
        StridedGather("BroadcastTo", x, y, yShape.ToArray(), CpuReferenceBackend.BroadcastStrides(xShape, yShape));
    }

    /// <summary>y [yDims] (contiguous) = x read at <paramref name="strides"/> per y dim: a copy when it collapses to one run.</summary>
    private void StridedGather(string op, Storage x, Storage y, int[] yDims, int[] strides)
    {
        long n = 1;
        foreach (int d in yDims) n *= d;
        if (n == 0) return;
        var (dims, s) = GpuBackend.Collapse(yDims, strides);
        if (dims.Length == 0 || (dims.Length == 1 && s[0][0] == 1))
        {
            CopyBlocks(x, 0, (int)n, y, 0, (int)n, (int)n, 1);
            return;
        }
        if (dims.Length > Dims8.Rank)
            throw new NotSupportedException($"{op}: the view has {dims.Length} dims after collapsing; the kernel takes {Dims8.Rank}");
        ArrayView<int> xv = I(x), yv = I(y);
        var (d8, s8) = (Dims8.From(dims, 1), Dims8.From(s[0], 0));
        Run(ref _stridedGather, a => a.LoadStreamKernel<ArrayView<int>, ArrayView<int>, int, Dims8, Dims8>(PermuteKernels.StridedGather),
            k => k(Config1D(n), xv, yv, (int)n, d8, s8));
    }
}
