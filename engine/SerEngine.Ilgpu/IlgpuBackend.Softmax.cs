using ILGPU;
using ILGPU.Runtime;
using SerEngine.Backends;
using SerEngine.Backends.Gpu;
using SerEngine.Ilgpu.Kernels;

namespace SerEngine.Ilgpu;

// Launch code for Kernels/SoftmaxKernels.cs: one group per row of [rows, cols], its size the next
// power of two at or above cols (32..GroupSize); longer rows loop inside the group.
public sealed partial class IlgpuBackend
{
    private Action<KernelConfig, ArrayView<float>, ArrayView<float>, int, int, int>? _softmaxRows;
    private Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, int>? _softmaxRowsBackward;
    private Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<int>, ArrayView<float>, BiasedSoftmaxArgs>? _biasedSoftmax;
    private Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, ArrayView<float>, int, int, int, float>? _biasedSoftmaxBackward;

    /// <inheritdoc/>
    public override void Softmax(Storage x, Storage y, int rows, int cols, bool log)
    {
        GpuBackend.CheckRows("Softmax", rows, cols);
        long size = (long)rows * cols;
        GpuBackend.CheckBuffer(x, size, DType.Float32, "Softmax", nameof(x));
        GpuBackend.CheckBuffer(y, size, DType.Float32, "Softmax", nameof(y));
        if (size == 0) return;
        ArrayView<float> xv = F(x), yv = F(y); // [rows, cols]
        var config = new KernelConfig(rows, RowGroup(cols));
        Run(ref _softmaxRows, a => a.LoadStreamKernel<ArrayView<float>, ArrayView<float>, int, int, int>(SoftmaxKernels.Rows),
            k => k(config, xv, yv, rows, cols, log ? 1 : 0));
    }

    /// <inheritdoc/>
    public override void SoftmaxBackward(Storage y, Storage dy, Storage dx, int rows, int cols, bool log)
    {
        GpuBackend.CheckRows("SoftmaxBackward", rows, cols);
        long size = (long)rows * cols;
        GpuBackend.CheckBuffer(y, size, DType.Float32, "SoftmaxBackward", nameof(y));
        GpuBackend.CheckBuffer(dy, size, DType.Float32, "SoftmaxBackward", nameof(dy));
        GpuBackend.CheckBuffer(dx, size, DType.Float32, "SoftmaxBackward", nameof(dx));
        if (size == 0) return;
        ArrayView<float> yv = F(y), dyv = F(dy), dxv = F(dx); // [rows, cols]
        var config = new KernelConfig(rows, RowGroup(cols));
        Run(ref _softmaxRowsBackward, a => a.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, int>(SoftmaxKernels.RowsBackward),
            k => k(config, yv, dyv, dxv, rows, cols, log ? 1 : 0));
    }

    /// <inheritdoc/>
    public override void BiasedSoftmax(Storage x, Storage? bias, Storage? keyMask, Storage y, int rows, int cols, int rowsPerMask, float scale)
    {
        GpuBackend.CheckRows("BiasedSoftmax", rows, cols);
        long size = (long)rows * cols;
        GpuBackend.CheckBuffer(x, size, DType.Float32, "BiasedSoftmax", nameof(x));
        GpuBackend.CheckBuffer(y, size, DType.Float32, "BiasedSoftmax", nameof(y));
        if (bias is not null) GpuBackend.CheckBuffer(bias, size, DType.Float32, "BiasedSoftmax", nameof(bias));
        if (keyMask is not null)
        {
            if (rowsPerMask <= 0)
                throw new ArgumentOutOfRangeException(nameof(rowsPerMask), $"BiasedSoftmax: rowsPerMask = {rowsPerMask} must be positive");
            GpuBackend.CheckBuffer(keyMask, ((long)rows + rowsPerMask - 1) / rowsPerMask * cols, DType.Int32, "BiasedSoftmax", nameof(keyMask));
        }
        if (size == 0) return;
        // x, bias, y: [rows, cols]; keyMask: [rows / rowsPerMask, cols]
        ArrayView<float> xv = F(x), yv = F(y), bv = bias is null ? xv : F(bias);
        ArrayView<int> mv = keyMask is null ? I(x) : I(keyMask);
        var args = new BiasedSoftmaxArgs(rows, cols, bias is null ? 0 : 1, keyMask is null ? 0 : 1, keyMask is null ? 1 : rowsPerMask, scale);
        var config = new KernelConfig(rows, RowGroup(cols));
        Run(ref _biasedSoftmax, a => a.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<int>, ArrayView<float>, BiasedSoftmaxArgs>(SoftmaxKernels.Biased),
            k => k(config, xv, bv, mv, yv, args));
    }

    /// <inheritdoc/>
    public override void BiasedSoftmaxBackward(Storage y, Storage dy, Storage? dx, Storage? dBias, int rows, int cols, float scale)
    {
        GpuBackend.CheckRows("BiasedSoftmaxBackward", rows, cols);
        long size = (long)rows * cols;
        GpuBackend.CheckBuffer(y, size, DType.Float32, "BiasedSoftmaxBackward", nameof(y));
        GpuBackend.CheckBuffer(dy, size, DType.Float32, "BiasedSoftmaxBackward", nameof(dy));
        if (dx is not null) GpuBackend.CheckBuffer(dx, size, DType.Float32, "BiasedSoftmaxBackward", nameof(dx));
        if (dBias is not null) GpuBackend.CheckBuffer(dBias, size, DType.Float32, "BiasedSoftmaxBackward", nameof(dBias));
        if (size == 0 || (dx is null && dBias is null)) return;
        ArrayView<float> yv = F(y), dyv = F(dy), dxv = dx is null ? dyv : F(dx), dbv = dBias is null ? dyv : F(dBias); // [rows, cols]
        var config = new KernelConfig(rows, RowGroup(cols));
        Run(ref _biasedSoftmaxBackward, a => a.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, int, ArrayView<float>, int, int, int, float>(SoftmaxKernels.BiasedBackward),
            k => k(config, yv, dyv, dxv, dx is null ? 0 : 1, dbv, dBias is null ? 0 : 1, rows, cols, scale));
    }
}
