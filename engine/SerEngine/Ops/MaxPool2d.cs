namespace SerEngine;

// TODO(stub): maxpool2d forward/backward.
public static partial class Ops
{
    /// <summary>Max pooling over x [N, C, H, W]; stride defaults to the kernel size, padding to 0.</summary>
    public static Tensor MaxPool2d(Tensor x, (int H, int W) kernel, (int H, int W)? stride = null, (int H, int W)? padding = null) =>
        throw new NotImplementedException("maxpool2d");
}
