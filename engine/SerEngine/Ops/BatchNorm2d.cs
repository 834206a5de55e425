namespace SerEngine;

// TODO(stub): batchnorm2d forward/backward.
public static partial class Ops
{
    /// <summary>
    /// Batch normalisation over x [N, C, H, W] per channel. Training: batch statistics, and the
    /// running buffers (when given) move by <paramref name="momentum"/> (unbiased variance). Eval:
    /// the running buffers normalise.
    /// </summary>
    public static Tensor BatchNorm2d(Tensor x, Tensor? weight, Tensor? bias, Tensor? runningMean, Tensor? runningVar,
        bool training, float momentum = 0.1f, float eps = 1e-5f) =>
        throw new NotImplementedException("batchnorm2d");
}
