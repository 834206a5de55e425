using SerEngine.Backends;
using SerEngine.Backends.Cpu;

namespace SerEngine.Benchmarks.Lab;

/// <summary>
/// kernels/maxpool2d.cl: maxpool2d_fwd (y and the Int32 argmax, both exact) and maxpool2d_bwd (dx
/// gathered from dy through argmax). Geometry: x [N, C, H, W], y and argmax [N, C, OH, OW].
/// </summary>
public sealed class MaxPool2dLab : LabOp
{
    /// <inheritdoc/>
    public override string Name => "maxpool2d";

    // N, C, H, W, kH, kW, strideH, strideW, padH, padW
    private static readonly Pool2dGeometry[] Checks =
    [
        new(2, 3, 17, 15, 2, 2, 2, 2, 0, 0),   // odd sizes, the last row and column dropped
        new(1, 2, 13, 11, 3, 3, 2, 2, 1, 1),   // batch 1, padding
        new(2, 4, 9, 10, 3, 3, 1, 1, 1, 1),    // overlapping windows
        new(1, 3, 8, 9, 2, 3, 1, 2, 1, 1),     // rectangular window, unequal strides
        new(2, 8, 40, 70, 2, 2, 2, 2, 0, 0),   // several work-groups in both dims
    ];

    /// <inheritdoc/>
    public override IReadOnlyList<LabVariant> Variants(bool quick)
    {
        var big = new Pool2dGeometry(quick ? 4 : 32, 64, 26, 62, 2, 2, 2, 2, 0, 0);
        return
        [
            new LabVariant("maxpool2d",
                [.. Checks.SelectMany(g => new[] { Forward(g), Backward(g) })],
                [Forward(big), Backward(big)]),
        ];
    }

    private static string Label(in Pool2dGeometry g) =>
        $"[{g.N},{g.C},{g.H},{g.W}] {g.KernelH}x{g.KernelW} s({g.StrideH},{g.StrideW}) p({g.PadH},{g.PadW})";

    private static LabCase Forward(Pool2dGeometry g)
    {
        int x = g.N * g.C * g.H * g.W, y = g.N * g.C * g.OutH * g.OutW;
        return new LabCase($"fwd {Label(g)}",
            [LabBuffer.Normal("x", x, (ulong)x), LabBuffer.Output("y", y, 0), LabBuffer.IntOutput("argmax", y)],
            (b, s) => b.MaxPool2dForward(s["x"], s["y"], s["argmax"], g), expectKernel: "maxpool2d_fwd");
    }

    private static LabCase Backward(Pool2dGeometry g)
    {
        int x = g.N * g.C * g.H * g.W, y = g.N * g.C * g.OutH * g.OutW;
        return new LabCase($"bwd {Label(g)}",
            [LabBuffer.Normal("dy", y, (ulong)y + 1), LabBuffer.Ints("argmax", y, () => Argmax(g)), LabBuffer.Output("dx", x, 1e-6)],
            (b, s) => b.MaxPool2dBackward(s["dy"], s["argmax"], s["dx"], g), expectKernel: "maxpool2d_bwd");
    }

    /// <summary>The argmax a forward pass over the forward case's x gives (on the CPU reference).</summary>
    private static int[] Argmax(Pool2dGeometry g)
    {
        int x = g.N * g.C * g.H * g.W, y = g.N * g.C * g.OutH * g.OutW;
        var cpu = new CpuReferenceBackend();
        using var xs = cpu.Allocate(x, DType.Float32);
        using var ys = cpu.Allocate(y, DType.Float32);
        using var am = cpu.Allocate(y, DType.Int32);
        cpu.Write(xs, LabBuffer.NormalValues(x, (ulong)x));
        cpu.MaxPool2dForward(xs, ys, am, g);
        var result = new int[y];
        cpu.Read(am, result);
        return result;
    }
}
