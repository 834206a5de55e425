namespace SerEngine.Backends.Cpu;

/// <summary>
/// The implementations of conv2d on the fast CPU backend, one per technique, each named by the
/// setting name in its summary.
/// </summary>
public enum Conv2dPath
{
    /// <summary>
    /// <c>one-channel-direct</c>: register-blocked loops over a zero-padded copy of a one-channel image,
    /// stride 1 along W (FocusCalibrationNet's conv1a 10×2, conv1b 2×8); forward and backward-weight.
    /// </summary>
    OneChannelDirect,

    /// <summary>
    /// <c>winograd-f23</c>: Winograd F(2×2, 3×3), 3×3 filters with stride 1 and no dilation (16
    /// multiplies per 2×2 outputs instead of 36); forward (packed or per-call filters) and backward-input.
    /// </summary>
    WinogradF23,

    /// <summary>
    /// <c>winograd-f25</c>: Winograd F(2×2, 5×5), 5×5 filters with stride 1 and no dilation (36
    /// multiplies instead of 100); forward (packed or per-call filters) and backward-input.
    /// </summary>
    WinogradF25,

    /// <summary>
    /// <c>channel-vector</c>: 16 output channels × 6 pixels (or taps) per register tile, read from the
    /// padded image; forward at any stride, backward-input and backward-weight at stride 1.
    /// </summary>
    ChannelVector,

    /// <summary>
    /// <c>shifted-window</c>: 6 output channels × 16 consecutive outputs of the padded image's
    /// virtual grid per register tile, each tap one contiguous load; every pass at stride 1.
    /// </summary>
    ShiftedWindow,

    /// <summary>
    /// <c>implicit-gemm</c>: the packed GEMM driver reading the im2col matrix without forming it
    /// (backward-input: a GEMM into columns, then col2im); every geometry, the fallback.
    /// </summary>
    ImplicitGemm,
}

/// <summary>The conv2d passes a <see cref="Conv2dPath"/> is chosen for.</summary>
public enum Conv2dPass
{
    /// <summary>y = conv(x, w) (+ bias, ReLU) with the filters as given.</summary>
    Forward,

    /// <summary>The forward pass with filters prepared by <see cref="Backend.PackConv2dWeight"/>.</summary>
    ForwardPacked,

    /// <summary>dx from dy and w.</summary>
    BackwardInput,

    /// <summary>dw from x and dy.</summary>
    BackwardWeight,
}
