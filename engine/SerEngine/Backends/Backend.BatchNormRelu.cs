namespace SerEngine.Backends;

// BatchNorm2d followed by ReLU as one primitive pair (Ops.BatchNormRelu), with the result written into
// a channel slice of a wider map, so two branches' results can land side by side (a channel concat)
// without a copy. The defaults here run the separate primitives (BatchNorm2dForward, Unary Relu,
// CopyBlocks; UnaryBackward Relu, BatchNorm2dBackward), so they are every backend's exact twin; the
// fast CPU backend overrides them with one pass per channel (CpuFast.BatchNormRelu.cs).
// Legend: x [N, C, HW]; y, dy [N, CY, HW] with this op's channels at CY offsets yOffset..yOffset+C−1.
public abstract partial class Backend
{
    /// <summary>
    /// y[:, yOffset..yOffset+C] = ReLU(BatchNorm2d(x)) for x [N, C, HW] and y [N, <paramref name="yChannels"/>, HW]:
    /// the statistics and running-buffer update of <see cref="BatchNorm2dForward"/>, then the rectifier. Other
    /// channels of y are left as they are. <paramref name="validColumns"/> and <paramref name="width"/> mask as
    /// BatchNorm2dForward's (the statistics skip the padded columns, whose y is 0).
    /// </summary>
    public virtual void BatchNorm2dReluForward(Storage x, Storage? weight, Storage? bias, Storage y, int yChannels, int yOffset,
        Storage mean, Storage invStd, Storage? runningMean, Storage? runningVar, int n, int c, int hw, float eps, float momentum, bool training,
        int[]? validColumns = null, int width = 0)
    {
        int size = n * c * hw;
        bool whole = yChannels == c && yOffset == 0;
        var t = whole ? y : Allocate(size, DType.Float32); // [N, C, HW]
        try
        {
            BatchNorm2dForward(x, weight, bias, t, mean, invStd, runningMean, runningVar, n, c, hw, eps, momentum, training, validColumns, width);
            Unary(UnaryOp.Relu, t, t, size, 0f);
            if (!whole) CopyBlocks(t, 0, c * hw, y, yOffset * hw, yChannels * hw, c * hw, n);
        }
        finally
        {
            if (!whole) t.Dispose();
        }
    }

    /// <summary>
    /// Gradients of <see cref="BatchNorm2dReluForward"/>: dy and y are [N, <paramref name="yChannels"/>, HW]
    /// read at channels yOffset..yOffset+C; dy counts where y &gt; 0 (the rectifier's mask), then
    /// <see cref="BatchNorm2dBackward"/> gives dx [N, C, HW] and dWeight/dBias when given; <paramref name="dxChannelSum"/>,
    /// when given, gets Σ dx per channel [C] (as SumTo to [1, C, 1]): the gradient of a per-channel bias already added to x.
    /// <paramref name="validColumns"/> and <paramref name="width"/> mask as BatchNorm2dBackward's.
    /// </summary>
    public virtual void BatchNorm2dReluBackward(Storage dy, Storage y, int yChannels, int yOffset, Storage x, Storage? weight,
        Storage mean, Storage invStd, Storage dx, Storage? dWeight, Storage? dBias, int n, int c, int hw, bool training, Storage? dxChannelSum = null,
        int[]? validColumns = null, int width = 0)
    {
        int size = n * c * hw;
        bool whole = yChannels == c && yOffset == 0;
        var ys = whole ? y : Allocate(size, DType.Float32);  // [N, C, HW]
        var gs = whole ? dy : Allocate(size, DType.Float32); // [N, C, HW]
        var masked = Allocate(size, DType.Float32);          // [N, C, HW] = dy where y > 0
        try
        {
            if (!whole)
            {
                CopyBlocks(y, yOffset * hw, yChannels * hw, ys, 0, c * hw, c * hw, n);
                CopyBlocks(dy, yOffset * hw, yChannels * hw, gs, 0, c * hw, c * hw, n);
            }
            UnaryBackward(UnaryOp.Relu, ys, ys, gs, masked, size, 0f);
            BatchNorm2dBackward(masked, x, weight, mean, invStd, dx, dWeight, dBias, n, c, hw, training, validColumns, width);
            if (dxChannelSum is not null) SumTo(dx, new Shape(n, c, hw), dxChannelSum, new Shape(1, c, 1));
        }
        finally
        {
            masked.Dispose();
            if (!whole)
            {
                ys.Dispose();
                gs.Dispose();
            }
        }
    }
}
