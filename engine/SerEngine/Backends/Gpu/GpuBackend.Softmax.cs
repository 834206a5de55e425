namespace SerEngine.Backends.Gpu;

// Launch code for kernels/softmax.cl: one work-group per row of [rows, cols], its size the next
// power of two at or above cols (32..256, see ReductionGroup); longer rows loop inside the group.
// Optional buffers travel as a has* flag plus a stand-in buffer that the kernel never reads.
public abstract partial class GpuBackend
{
    private const string SoftmaxFile = "softmax.cl";

    /// <inheritdoc/>
    public override void Softmax(Storage x, Storage y, int rows, int cols, bool log)
    {
        CheckRows("Softmax", rows, cols);
        long size = (long)rows * cols;
        CheckBuffer(x, size, DType.Float32, "Softmax", nameof(x));
        CheckBuffer(y, size, DType.Float32, "Softmax", nameof(y));
        if (size == 0) return;
        int group = ReductionGroup(cols);
        // x, y: [rows, cols]
        Launch(SoftmaxFile, "softmax_rows", "", [(long)rows * group], [group], [x, y, rows, cols, log ? 1 : 0]);
    }

    /// <inheritdoc/>
    public override void SoftmaxBackward(Storage y, Storage dy, Storage dx, int rows, int cols, bool log)
    {
        CheckRows("SoftmaxBackward", rows, cols);
        long size = (long)rows * cols;
        CheckBuffer(y, size, DType.Float32, "SoftmaxBackward", nameof(y));
        CheckBuffer(dy, size, DType.Float32, "SoftmaxBackward", nameof(dy));
        CheckBuffer(dx, size, DType.Float32, "SoftmaxBackward", nameof(dx));
        if (size == 0) return;
        int group = ReductionGroup(cols);
        // y, dy, dx: [rows, cols]
        Launch(SoftmaxFile, "softmax_rows_backward", "", [(long)rows * group], [group], [y, dy, dx, rows, cols, log ? 1 : 0]);
    }

    /// <inheritdoc/>
    public override void BiasedSoftmax(Storage x, Storage? bias, Storage? keyMask, Storage y, int rows, int cols, int rowsPerMask, float scale)
    {
        CheckRows("BiasedSoftmax", rows, cols);
        long size = (long)rows * cols;
        CheckBuffer(x, size, DType.Float32, "BiasedSoftmax", nameof(x));
        CheckBuffer(y, size, DType.Float32, "BiasedSoftmax", nameof(y));
        if (bias is not null) CheckBuffer(bias, size, DType.Float32, "BiasedSoftmax", nameof(bias));
        if (keyMask is not null)
        {
            if (rowsPerMask <= 0)
                throw new ArgumentOutOfRangeException(nameof(rowsPerMask), $"BiasedSoftmax: rowsPerMask = {rowsPerMask} must be positive");
            CheckBuffer(keyMask, ((long)rows + rowsPerMask - 1) / rowsPerMask * cols, DType.Int32, "BiasedSoftmax", nameof(keyMask));
        }
        if (size == 0) return;
        int group = ReductionGroup(cols);
        // x, bias, y: [rows, cols]; keyMask: [rows / rowsPerMask, cols]
        Launch(SoftmaxFile, "biased_softmax", "", [(long)rows * group], [group],
            [x, bias ?? x, bias is null ? 0 : 1, keyMask ?? x, keyMask is null ? 0 : 1, y, rows, cols, keyMask is null ? 1 : rowsPerMask, scale]);
    }

    /// <inheritdoc/>
    public override void BiasedSoftmaxBackward(Storage y, Storage dy, Storage? dx, Storage? dBias, int rows, int cols, float scale)
    {
        CheckRows("BiasedSoftmaxBackward", rows, cols);
        long size = (long)rows * cols;
        CheckBuffer(y, size, DType.Float32, "BiasedSoftmaxBackward", nameof(y));
        CheckBuffer(dy, size, DType.Float32, "BiasedSoftmaxBackward", nameof(dy));
        if (dx is not null) CheckBuffer(dx, size, DType.Float32, "BiasedSoftmaxBackward", nameof(dx));
        if (dBias is not null) CheckBuffer(dBias, size, DType.Float32, "BiasedSoftmaxBackward", nameof(dBias));
        if (size == 0 || (dx is null && dBias is null)) return;
        int group = ReductionGroup(cols);
        // y, dy, dx, dBias: [rows, cols]
        Launch(SoftmaxFile, "biased_softmax_backward", "", [(long)rows * group], [group],
            [y, dy, dx ?? dy, dx is null ? 0 : 1, dBias ?? dy, dBias is null ? 0 : 1, rows, cols, scale]);
    }

    /// <summary>Throws unless rows and cols are ≥ 0 and the matrix fits the kernels' int indexing.</summary>
    internal static void CheckRows(string op, int rows, int cols)
    {
        CheckCount(rows, op, nameof(rows));
        CheckCount(cols, op, nameof(cols));
        if ((long)rows * cols > int.MaxValue)
            throw new ArgumentOutOfRangeException(nameof(rows), $"{op}: [{rows}, {cols}] has more than {int.MaxValue} elements");
    }
}
