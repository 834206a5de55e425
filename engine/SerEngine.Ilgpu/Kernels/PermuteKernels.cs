using ILGPU;

namespace SerEngine.Ilgpu.Kernels;

/// <summary>
/// The strided gather behind Permute and BroadcastTo (the twin of kernels/permute.cl, strided_gather):
/// y [d] contiguous, y[i] = x[Σ_k coord_k(i)·s[k]]. Words are ints, so Float32 and Int32 both work.
/// </summary>
internal static class PermuteKernels
{
    /// <summary>strided_gather over n outputs (grid-stride).</summary>
    public static void StridedGather(ArrayView<int> x, ArrayView<int> y, int n, Dims8 d, Dims8 s) // y [d]
    {
        for (int i = Grid.GlobalIndex.X; i < n; i += Grid.DimX * Group.DimX) y[i] = x[Dims8.Offset(i, d, s)];
    }
}
