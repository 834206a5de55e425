namespace SerEngine.Backends;

/// <summary>
/// Geometry of a 2-D pooling window. Input x [N, C, H, W], output y [N, C, OutH, OutW];
/// padded positions never win a max.
/// </summary>
public readonly record struct Pool2dGeometry(
    int N, int C, int H, int W,
    int KernelH, int KernelW,
    int StrideH, int StrideW,
    int PadH, int PadW)
{
    /// <summary>Output height: floor((H + 2·padH − kH) / strideH) + 1.</summary>
    public int OutH => StrideH <= 0 ? 0 : (H + 2 * PadH - KernelH) / StrideH + 1;

    /// <summary>Output width: floor((W + 2·padW − kW) / strideW) + 1.</summary>
    public int OutW => StrideW <= 0 ? 0 : (W + 2 * PadW - KernelW) / StrideW + 1;
}
