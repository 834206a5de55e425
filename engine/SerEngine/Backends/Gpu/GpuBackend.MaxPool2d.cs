namespace SerEngine.Backends.Gpu;

// MaxPool2d launch code (kernels/maxpool2d.cl). Dimension legend: x [N, C, H, W] = N·C planes,
// y and argmax [N, C, OH, OW].
public abstract partial class GpuBackend
{
    private const int PoolGroupX = 64, PoolGroupY = 4;

    /// <inheritdoc/>
    public override void MaxPool2dForward(Storage x, Storage y, Storage argmax, in Pool2dGeometry g)
    {
        CheckPool2d("MaxPool2dForward", g, x, "x", y, "y", argmax);
        int planes = g.N * g.C, p = g.OutH * g.OutW;
        // x [planes, H, W] → y, argmax [planes, OH, OW]
        Launch("maxpool2d.cl", "maxpool2d_fwd", "", [p, planes], [PoolGroupX, PoolGroupY], [x, y, argmax, .. PoolArgs(g)]);
    }

    /// <inheritdoc/>
    public override void MaxPool2dBackward(Storage dy, Storage argmax, Storage dx, in Pool2dGeometry g)
    {
        CheckPool2d("MaxPool2dBackward", g, dx, "dx", dy, "dy", argmax);
        int planes = g.N * g.C, hw = g.H * g.W;
        // dy, argmax [planes, OH, OW] → dx [planes, H, W], every element written (0 where nothing won)
        Launch("maxpool2d.cl", "maxpool2d_bwd", "", [hw, planes], [PoolGroupX, PoolGroupY], [dy, argmax, dx, .. PoolArgs(g)]);
    }

    /// <summary>maxpool2d.cl's POOL_GEOMETRY arguments, in order.</summary>
    private static KernelArg[] PoolArgs(in Pool2dGeometry g) =>
        [g.N * g.C, g.H, g.W, g.OutH, g.OutW, g.KernelH, g.KernelW, g.StrideH, g.StrideW, g.PadH, g.PadW];

    internal static void CheckPool2d(string op, in Pool2dGeometry g, Storage input, string inputName, Storage output, string outputName, Storage argmax)
    {
        if (g.N < 0 || g.C < 0 || g.H < 1 || g.W < 1 || g.KernelH < 1 || g.KernelW < 1 || g.StrideH < 1 || g.StrideW < 1 ||
            g.PadH < 0 || g.PadW < 0 || 2 * g.PadH > g.KernelH || 2 * g.PadW > g.KernelW)
            throw new ArgumentException($"{op}: invalid geometry {Describe(g)} (padding may be at most half the window)");
        if (g.OutH < 1 || g.OutW < 1)
            throw new ArgumentException($"{op}: invalid geometry {Describe(g)}: the window is larger than the padded input (output {g.OutH}×{g.OutW})");
        string outShape = $"[{g.N}, {g.C}, {g.OutH}, {g.OutW}]";
        CheckBuffer(op, inputName, input, (long)g.N * g.C * g.H * g.W, $"[{g.N}, {g.C}, {g.H}, {g.W}]");
        CheckBuffer(op, outputName, output, (long)g.N * g.C * g.OutH * g.OutW, outShape);
        CheckBuffer(op, "argmax", argmax, (long)g.N * g.C * g.OutH * g.OutW, outShape, DType.Int32);
    }

    /// <summary>The geometry's fields without the derived sizes (which divide by the stride).</summary>
    internal static string Describe(in Pool2dGeometry g) =>
        $"x [{g.N}, {g.C}, {g.H}, {g.W}], window {g.KernelH}×{g.KernelW}, stride ({g.StrideH}, {g.StrideW}), padding ({g.PadH}, {g.PadW})";
}
