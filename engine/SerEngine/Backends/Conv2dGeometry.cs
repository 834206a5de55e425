namespace SerEngine.Backends;

/// <summary>
/// Everything a conv2d kernel needs to know. Input x [N, C, H, W], weight w [K, C, R, S],
/// output y [N, K, OutH, OutW]. Padding may differ on each side (top/bottom, left/right).
/// </summary>
public readonly record struct Conv2dGeometry(
    int N, int C, int H, int W,
    int K, int R, int S,
    int StrideH, int StrideW,
    int PadTop, int PadBottom, int PadLeft, int PadRight,
    int DilationH, int DilationW)
{
    /// <summary>Output height: floor((H + padTop + padBottom − dilH·(R−1) − 1) / strideH) + 1.</summary>
    public int OutH => StrideH <= 0 ? 0 : (H + PadTop + PadBottom - DilationH * (R - 1) - 1) / StrideH + 1;

    /// <summary>Output width: floor((W + padLeft + padRight − dilW·(S−1) − 1) / strideW) + 1.</summary>
    public int OutW => StrideW <= 0 ? 0 : (W + PadLeft + PadRight - DilationW * (S - 1) - 1) / StrideW + 1;

    /// <summary>Multiply-adds of the forward pass.</summary>
    public long Macs => (long)N * K * OutH * OutW * C * R * S;
}
