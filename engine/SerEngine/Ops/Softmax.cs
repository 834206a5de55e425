namespace SerEngine;

// TODO(stub): softmax and log-softmax.
public static partial class Ops
{
    /// <summary>Softmax along <paramref name="axis"/>.</summary>
    public static Tensor Softmax(Tensor x, int axis = -1) => throw new NotImplementedException("softmax");

    /// <summary>Log-softmax along <paramref name="axis"/>.</summary>
    public static Tensor LogSoftmax(Tensor x, int axis = -1) => throw new NotImplementedException("log_softmax");
}
