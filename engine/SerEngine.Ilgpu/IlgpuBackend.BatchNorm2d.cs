using ILGPU;
using ILGPU.Runtime;
using SerEngine.Backends;
using SerEngine.Backends.Gpu;
using SerEngine.Ilgpu.Kernels;

namespace SerEngine.Ilgpu;

// BatchNorm2d launch code (Kernels/BatchNorm2dKernels.cs). Dimension legend: x, y, dy, dx [N, C, HW];
// weight, bias, mean, invStd, running stats [C]; count = N·HW values per channel (H·Σvalid with a
// column mask, whose [N] counts go up as an Int32 buffer and pick the *Masked kernels).
public sealed partial class IlgpuBackend
{
    private Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, NormArgs>? _bnStats;
    private Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, float>? _bnEvalStats;
    private Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, NormArgs>? _bnApply;
    private Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, NormArgs>? _bnBackwardReduce;
    private Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, NormArgs>? _bnBackwardDx;
    private Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, NormArgs, ArrayView<int>, NormMask>? _bnStatsMasked;
    private Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, NormArgs, ArrayView<int>, NormMask>? _bnApplyMasked;
    private Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, NormArgs, ArrayView<int>, NormMask>? _bnBackwardReduceMasked;
    private Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, NormArgs, ArrayView<int>, NormMask>? _bnBackwardDxMasked;

    /// <inheritdoc/>
    public override void BatchNorm2dForward(Storage x, Storage? weight, Storage? bias, Storage y,
        Storage mean, Storage invStd, Storage? runningMean, Storage? runningVar,
        int n, int c, int hw, float eps, float momentum, bool training, int[]? validColumns = null, int width = 0)
    {
        const string op = "BatchNorm2dForward";
        BatchNorm2dMask.Check(op, validColumns, n, hw, width);
        GpuBackend.CheckNorm(op, n, c, hw, ("x", x), ("y", y));
        GpuBackend.CheckNorm(op, 1, c, 1, ("mean", mean), ("invStd", invStd), ("weight", weight), ("bias", bias), ("runningMean", runningMean), ("runningVar", runningVar));
        if ((runningMean is null) != (runningVar is null))
            throw new ArgumentException($"{op}: runningMean and runningVar must be given together");
        if (c == 0) return;
        ArrayView<float> xv = F(x), yv = F(y), mv = F(mean), sv = F(invStd);
        ArrayView<float> wv = weight is null ? mv : F(weight), bv = bias is null ? mv : F(bias);
        var args = new NormArgs(n, c, hw, eps, momentum, weight is null ? 0 : 1, bias is null ? 0 : 1, runningMean is null ? 0 : 1, training ? 1 : 0);
        using var valid = UploadValidColumns(validColumns, width); // [N] or null
        var mask = new NormMask(width, (int)BatchNorm2dMask.Count(validColumns, n, hw, width));
        if (training)
        {
            if (mask.Count == 0) throw new ArgumentException($"{op}: training needs at least one value per channel, got N = {n}, HW = {hw}");
            ArrayView<float> rmv = runningMean is null ? mv : F(runningMean), rvv = runningVar is null ? sv : F(runningVar);
            var config = new KernelConfig(c, RowGroup(n * hw)); // one group per channel
            if (valid is null)
                Run(ref _bnStats, a => a.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, NormArgs>(BatchNorm2dKernels.Stats),
                    k => k(config, xv, mv, sv, rmv, rvv, args));
            else
            {
                var vv = I(valid);
                Run(ref _bnStatsMasked, a => a.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, NormArgs, ArrayView<int>, NormMask>(BatchNorm2dKernels.StatsMasked),
                    k => k(config, xv, mv, sv, rmv, rvv, args, vv, mask));
            }
        }
        else
        {
            if (runningMean is null || runningVar is null) throw new ArgumentException($"{op}: eval mode needs runningMean and runningVar");
            ArrayView<float> rmv = F(runningMean), rvv = F(runningVar);
            Run(ref _bnEvalStats, a => a.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, float>(BatchNorm2dKernels.EvalStats),
                k => k(Config1D(c), rmv, rvv, mv, sv, c, eps));
        }
        if (n * hw == 0) return;
        // y [N, C, HW] = (x − mean)·invStd·weight + bias (0 at padded positions)
        if (valid is null)
            Run(ref _bnApply, a => a.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, NormArgs>(BatchNorm2dKernels.Apply),
                k => k(Config1D((long)n * c * hw), xv, mv, sv, wv, bv, yv, args));
        else
        {
            var vv = I(valid);
            Run(ref _bnApplyMasked, a => a.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, NormArgs, ArrayView<int>, NormMask>(BatchNorm2dKernels.ApplyMasked),
                k => k(Config1D((long)n * c * hw), xv, mv, sv, wv, bv, yv, args, vv, mask));
        }
    }

    /// <inheritdoc/>
    public override void BatchNorm2dBackward(Storage dy, Storage x, Storage? weight, Storage mean, Storage invStd,
        Storage dx, Storage? dWeight, Storage? dBias, int n, int c, int hw, bool training, int[]? validColumns = null, int width = 0)
    {
        const string op = "BatchNorm2dBackward";
        BatchNorm2dMask.Check(op, validColumns, n, hw, width);
        GpuBackend.CheckNorm(op, n, c, hw, ("dy", dy), ("x", x), ("dx", dx));
        GpuBackend.CheckNorm(op, 1, c, 1, ("mean", mean), ("invStd", invStd), ("weight", weight), ("dWeight", dWeight), ("dBias", dBias));
        if (c == 0) return;
        bool reduce = training || dWeight is not null || dBias is not null;
        using var sums = reduce ? Allocate(2 * c, DType.Float32) : null; // [2, C]: Σdy, Σdy·x̂
        ArrayView<float> dyv = F(dy), xv = F(x), mv = F(mean), sv = F(invStd), dxv = F(dx);
        ArrayView<float> wv = weight is null ? mv : F(weight), smv = sums is null ? mv : F(sums);
        // HasWeight/HasBias mean dWeight/dBias in the reduce kernel, weight in the dx kernel
        var reduceArgs = new NormArgs(n, c, hw, 0f, 0f, dWeight is null ? 0 : 1, dBias is null ? 0 : 1, 0, training ? 1 : 0);
        using var valid = UploadValidColumns(validColumns, width); // [N] or null
        var mask = new NormMask(width, (int)BatchNorm2dMask.Count(validColumns, n, hw, width));
        if (sums is not null)
        {
            ArrayView<float> dwv = dWeight is null ? smv : F(dWeight), dbv = dBias is null ? smv : F(dBias);
            var config = new KernelConfig(c, RowGroup(n * hw));
            if (valid is null)
                Run(ref _bnBackwardReduce, a => a.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, NormArgs>(BatchNorm2dKernels.BackwardReduce),
                    k => k(config, dyv, xv, mv, sv, smv, dwv, dbv, reduceArgs));
            else
            {
                var vv = I(valid);
                Run(ref _bnBackwardReduceMasked, a => a.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, NormArgs, ArrayView<int>, NormMask>(BatchNorm2dKernels.BackwardReduceMasked),
                    k => k(config, dyv, xv, mv, sv, smv, dwv, dbv, reduceArgs, vv, mask));
            }
        }
        if (n * hw == 0) return;
        var dxArgs = reduceArgs with { HasWeight = weight is null ? 0 : 1 };
        if (valid is null)
            Run(ref _bnBackwardDx, a => a.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, NormArgs>(BatchNorm2dKernels.BackwardDx),
                k => k(Config1D((long)n * c * hw), dyv, xv, wv, mv, sv, smv, dxv, dxArgs));
        else
        {
            var vv = I(valid);
            Run(ref _bnBackwardDxMasked, a => a.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, NormArgs, ArrayView<int>, NormMask>(BatchNorm2dKernels.BackwardDxMasked),
                k => k(Config1D((long)n * c * hw), dyv, xv, wv, mv, sv, smv, dxv, dxArgs, vv, mask));
        }
    }

    /// <summary>The clamped valid column counts [N] in a pooled Int32 buffer (null without a mask).</summary>
    private Storage? UploadValidColumns(int[]? validColumns, int width)
    {
        if (validColumns is null) return null;
        var valid = Allocate(validColumns.Length, DType.Int32);
        Write(valid, BatchNorm2dMask.Clamped(validColumns, width));
        return valid;
    }
}
