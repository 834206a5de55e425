namespace SerEngine.Backends;

// MaxPool2d(ReLU(BatchNorm2d(x))) as one primitive pair (Ops.BatchNormReluMaxPool): the rectified map
// before the pool is never stored. The defaults run the separate primitives (BatchNorm2dReluForward
// into a temporary map, MaxPool2dForward; MaxPool2dBackward of dy and of the pooled y, then
// BatchNorm2dReluBackward), so they are every backend's exact twin; the fast CPU backend pools each
// plane as it is normalised (CpuFast.BatchNormReluMaxPool.cs).
// Legend: x, dx [N, C, H, W]; yPool, dyPool, argmax [N, C, OutH, OutW] (g: the pool's geometry over x).
// The backward needs no pre-pool map: a position gets a gradient only as its window's winner, and the
// winner's value is the pooled one, so the rectifier's mask there is yPool > 0.
public abstract partial class Backend
{
    /// <summary>
    /// yPool = MaxPool2d(ReLU(BatchNorm2d(x))) with the winners' indices (as <see cref="MaxPool2dForward"/>), the
    /// statistics and running-buffer update of <see cref="BatchNorm2dForward"/> (unmasked); g.N, g.C, g.H, g.W are x's.
    /// </summary>
    public virtual void BatchNorm2dReluMaxPoolForward(Storage x, Storage? weight, Storage? bias, Storage yPool, Storage argmax,
        Storage mean, Storage invStd, Storage? runningMean, Storage? runningVar, in Pool2dGeometry g, float eps, float momentum, bool training)
    {
        int hw = g.H * g.W;
        var y = Allocate(g.N * g.C * hw, DType.Float32); // [N, C, H, W]
        try
        {
            BatchNorm2dReluForward(x, weight, bias, y, g.C, 0, mean, invStd, runningMean, runningVar, g.N, g.C, hw, eps, momentum, training);
            MaxPool2dForward(y, yPool, argmax, g);
        }
        finally
        {
            y.Dispose();
        }
    }

    /// <summary>
    /// Gradients of <see cref="BatchNorm2dReluMaxPoolForward"/>: dx [N, C, H, W] always, dWeight/dBias when given, and Σ dx
    /// per channel when <paramref name="dxChannelSum"/> is given (as <see cref="BatchNorm2dReluBackward"/>).
    /// </summary>
    public virtual void BatchNorm2dReluMaxPoolBackward(Storage dyPool, Storage yPool, Storage argmax, Storage x, Storage? weight,
        Storage mean, Storage invStd, Storage dx, Storage? dWeight, Storage? dBias, in Pool2dGeometry g, bool training, Storage? dxChannelSum = null)
    {
        int size = g.N * g.C * g.H * g.W;
        var dy = Allocate(size, DType.Float32); // [N, C, H, W]: dyPool at the winners, 0 elsewhere
        var y = Allocate(size, DType.Float32);  // [N, C, H, W]: yPool at the winners, 0 elsewhere (the mask where it matters)
        try
        {
            MaxPool2dBackward(dyPool, argmax, dy, g);
            MaxPool2dBackward(yPool, argmax, y, g);
            BatchNorm2dReluBackward(dy, y, g.C, 0, x, weight, mean, invStd, dx, dWeight, dBias, g.N, g.C, g.H * g.W, training, dxChannelSum);
        }
        finally
        {
            dy.Dispose();
            y.Dispose();
        }
    }
}
