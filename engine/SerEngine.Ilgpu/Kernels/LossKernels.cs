using ILGPU;
using ILGPU.Algorithms;

namespace SerEngine.Ilgpu.Kernels;

/// <summary>
/// Cross-entropy of logits [n, c] against Int32 labels [n], fused with its softmax: the twin of
/// kernels/loss.cl (cross_entropy_forward: one group per row; cross_entropy_backward: one thread per
/// element, grid-stride). A label outside 0..c−1 sets error[0] = 1 and its loss to NaN; the launch
/// code reads the flag and throws naming the label.
/// </summary>
internal static class LossKernels
{
    /// <summary>cross_entropy_forward: probs = softmax(logits), loss = max + ln Σ e^(logits − max) − logits[label].</summary>
    public static void Forward(ArrayView<float> logits, ArrayView<int> labels, ArrayView<float> loss, ArrayView<float> probs,
        ArrayView<int> error, int n, int c)
    {
        int row = Grid.IdxX;
        if (row >= n) return; // uniform over the group
        int o = row * c, label = labels[row];
        bool bad = label < 0 || label >= c;
        float m = float.NegativeInfinity;
        for (int j = Group.IdxX; j < c; j += Group.DimX) m = XMath.Max(m, logits[o + j]);
        m = GroupReduce.Max(m);
        float s = 0f;
        for (int j = Group.IdxX; j < c; j += Group.DimX) s += XMath.Exp(logits[o + j] - m);
        s = GroupReduce.Sum(s);
        for (int j = Group.IdxX; j < c; j += Group.DimX) probs[o + j] = XMath.Exp(logits[o + j] - m) / s;
        if (Group.IdxX == 0)
        {
            if (bad) error[0] = 1; // every writer stores the same value
            loss[row] = bad ? float.NaN : m + XMath.Log(s) - logits[o + label];
        }
    }

    /// <summary>cross_entropy_backward: dLogits = dLoss[i]·(probs − [j = label]).</summary>
    public static void Backward(ArrayView<float> probs, ArrayView<int> labels, ArrayView<float> dLoss, ArrayView<float> dLogits, int n, int c)
    {
        int total = n * c;
        for (int i = Grid.GlobalIndex.X; i < total; i += Grid.DimX * Group.DimX)
        {
            int row = i / c, j = i - row * c;
            dLogits[i] = dLoss[row] * (probs[i] - (j == labels[row] ? 1f : 0f));
        }
    }
}
