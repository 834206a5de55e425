using ILGPU;
using ILGPU.Runtime;
using SerEngine.Backends;
using SerEngine.Backends.Gpu;
using SerEngine.Ilgpu.Kernels;

namespace SerEngine.Ilgpu;

// MaxPool2d launch code (Kernels/MaxPool2dKernels.cs). Dimension legend: x [N, C, H, W] = N·C planes,
// y and argmax [N, C, OH, OW].
public sealed partial class IlgpuBackend
{
    private Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<int>, PoolGeometry>? _maxPoolForward;
    private Action<KernelConfig, ArrayView<float>, ArrayView<int>, ArrayView<float>, PoolGeometry>? _maxPoolBackward;

    /// <inheritdoc/>
    public override void MaxPool2dForward(Storage x, Storage y, Storage argmax, in Pool2dGeometry g)
    {
        GpuBackend.CheckPool2d("MaxPool2dForward", g, x, "x", y, "y", argmax);
        var geo = Geometry(g);
        long total = (long)geo.Planes * geo.OH * geo.OW;
        if (total == 0) return;
        ArrayView<float> xv = F(x), yv = F(y);
        ArrayView<int> av = I(argmax);
        Run(ref _maxPoolForward, a => a.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<int>, PoolGeometry>(MaxPool2dKernels.Forward),
            k => k(Config1D(total), xv, yv, av, geo));
    }

    /// <inheritdoc/>
    public override void MaxPool2dBackward(Storage dy, Storage argmax, Storage dx, in Pool2dGeometry g)
    {
        GpuBackend.CheckPool2d("MaxPool2dBackward", g, dx, "dx", dy, "dy", argmax);
        var geo = Geometry(g);
        long total = (long)geo.Planes * geo.H * geo.W;
        if (total == 0) return;
        ArrayView<float> dyv = F(dy), dxv = F(dx);
        ArrayView<int> av = I(argmax);
        // every dx element written (0 where nothing won)
        Run(ref _maxPoolBackward, a => a.LoadStreamKernel<ArrayView<float>, ArrayView<int>, ArrayView<float>, PoolGeometry>(MaxPool2dKernels.Backward),
            k => k(Config1D(total), dyv, av, dxv, geo));
    }

    private static PoolGeometry Geometry(in Pool2dGeometry g) =>
        new(g.N * g.C, g.H, g.W, g.OutH, g.OutW, g.KernelH, g.KernelW, g.StrideH, g.StrideW, g.PadH, g.PadW);
}
