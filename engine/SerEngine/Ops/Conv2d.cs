namespace SerEngine;

// TODO(stub): conv2d forward/backward.
public static partial class Ops
{
    /// <summary>
    /// 2-D convolution (cross-correlation, as PyTorch): x [N, C, H, W], weight [K, C, R, S], bias [K]
    /// optional; padding may differ per side (top, bottom, left, right).
    /// </summary>
    public static Tensor Conv2d(Tensor x, Tensor weight, Tensor? bias,
        (int H, int W) stride, (int Top, int Bottom, int Left, int Right) padding, (int H, int W) dilation) =>
        throw new NotImplementedException("conv2d");

    /// <summary>2-D convolution with symmetric padding (PyTorch's <c>padding=(ph, pw)</c>).</summary>
    public static Tensor Conv2d(Tensor x, Tensor weight, Tensor? bias = null,
        (int H, int W)? stride = null, (int H, int W)? padding = null, (int H, int W)? dilation = null)
    {
        var p = padding ?? (0, 0);
        return Conv2d(x, weight, bias, stride ?? (1, 1), (p.H, p.H, p.W, p.W), dilation ?? (1, 1));
    }
}
