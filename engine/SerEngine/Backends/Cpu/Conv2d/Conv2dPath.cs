namespace SerEngine.Backends.Cpu;

/// <summary>
/// The implementations of conv2d on the fast CPU backend, one per technique. Which one runs a call is
/// decided by <see cref="CpuBackend.ChooseConv2dPath"/>; profiles and benchmarks print the choice by
/// its name (<see cref="Conv2dPathNames"/>, the one in each summary), and
/// <see cref="Conv2dPathSettings"/> forces or disables a path by that name.
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
    /// multiplies per 2×2 outputs instead of 36); forward (packed or per-call filters), backward-input and
    /// backward-weight. The routing takes it for packed filters; per call and for the backward passes only when forced.
    /// </summary>
    WinogradF23,

    /// <summary>
    /// <c>winograd-f25</c>: Winograd F(2×2, 5×5), 5×5 filters with stride 1 and no dilation (36
    /// multiplies instead of 100); forward (packed or per-call filters), backward-input and backward-weight,
    /// per call where enough channels and multiply-adds pay for the transforms.
    /// </summary>
    WinogradF25,

    /// <summary>
    /// <c>channel-vector</c>: 16 output channels × 6 pixels (or taps) per register tile, read from the
    /// padded image; forward and backward-weight at any stride, backward-input at stride 1.
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

/// <summary>
/// The names of <see cref="Conv2dPath"/> in settings (<see cref="Conv2dPathSettings"/>), profiles
/// (<c>path=NAME</c>) and benchmarks: lower case, words joined by hyphens.
/// </summary>
public static class Conv2dPathNames
{
    /// <summary>Every path's name, in the order of <see cref="Conv2dPath"/>.</summary>
    public static IReadOnlyList<string> All { get; } = [.. Enum.GetValues<Conv2dPath>().Select(Of)];

    /// <summary>The name of <paramref name="path"/>, e.g. <c>winograd-f23</c>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">not a defined path.</exception>
    public static string Of(Conv2dPath path) => path switch
    {
        Conv2dPath.OneChannelDirect => "one-channel-direct",
        Conv2dPath.WinogradF23 => "winograd-f23",
        Conv2dPath.WinogradF25 => "winograd-f25",
        Conv2dPath.ChannelVector => "channel-vector",
        Conv2dPath.ShiftedWindow => "shifted-window",
        Conv2dPath.ImplicitGemm => "implicit-gemm",
        _ => throw new ArgumentOutOfRangeException(nameof(path), path, "not a conv2d path"),
    };

    /// <summary>The path called <paramref name="name"/> (case and '_' for '-' do not matter).</summary>
    /// <exception cref="ArgumentException">no path has that name (the message lists them).</exception>
    public static Conv2dPath Parse(string name)
    {
        string key = name.Trim().Replace('_', '-');
        foreach (var path in Enum.GetValues<Conv2dPath>())
            if (string.Equals(Of(path), key, StringComparison.OrdinalIgnoreCase)) return path;
        throw new ArgumentException($"'{name}' is not a CPU conv2d path; expected one of: {string.Join(", ", All)}");
    }
}
