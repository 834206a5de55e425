namespace SerEngine;

// TODO(stub): the fused softmax(scale·x + bias) with key mask.
public static partial class Ops
{
    /// <summary>
    /// y = softmax(scale·x + bias) over the last axis. x [N, ..., L]; bias (optional) x's shape;
    /// keyMask (optional, Int32 [N, L], 1 = keep) broadcast over the middle axes: masked keys get
    /// exactly zero weight and a fully masked row is all zeros.
    /// </summary>
    public static Tensor BiasedSoftmax(Tensor x, Tensor? bias = null, Tensor? keyMask = null, float scale = 1f) =>
        throw new NotImplementedException("biased_softmax");
}
