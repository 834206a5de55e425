using SerEngine.Backends.Cpu;

namespace SerEngine.Backends.Gpu;

// Launch code for kernels/loss.cl. The forward pass is one work-group per row (softmax, loss) and
// flags a label outside 0..c−1 in a one-int error buffer; that flag is read back after the launch
// (a synchronisation point) and turned into the CPU reference's ArgumentException, naming the
// first bad label and its row. The backward pass is one work-item per element.
public abstract partial class GpuBackend
{
    private const string LossFile = "loss.cl";

    /// <inheritdoc/>
    /// <remarks>On a bad label, loss and probs have been written (the bad rows' loss is NaN) before the exception.</remarks>
    public override void CrossEntropyForward(Storage logits, Storage labels, Storage loss, Storage probs, int n, int c)
    {
        CheckRows("CrossEntropyForward", n, c);
        CheckBuffer(logits, (long)n * c, DType.Float32, "CrossEntropyForward", nameof(logits));
        CheckBuffer(labels, n, DType.Int32, "CrossEntropyForward", nameof(labels));
        CheckBuffer(loss, n, DType.Float32, "CrossEntropyForward", nameof(loss));
        CheckBuffer(probs, (long)n * c, DType.Float32, "CrossEntropyForward", nameof(probs));
        if (n == 0) return;
        using var error = Allocate(1, DType.Int32); // [1]
        Write(error, [0]);
        int group = ReductionGroup(c);
        // logits, probs: [n, c]; labels, loss: [n]; error: [1]
        Launch(LossFile, "cross_entropy_forward", "", [(long)n * group], [group], [logits, labels, loss, probs, error, n, c]);
        Span<int> flag = stackalloc int[1];
        Read(error, flag);
        if (flag[0] == 0) return;
        var host = new int[n];
        Read(labels, host);
        CpuReferenceBackend.ValidateLabels(host, c); // throws, naming the first bad label and its index
        throw new InvalidOperationException($"CrossEntropyForward: the kernel flagged a label outside 0..{c - 1}, but the labels read back are all valid");
    }

    /// <inheritdoc/>
    public override void CrossEntropyBackward(Storage probs, Storage labels, Storage dLoss, Storage dLogits, int n, int c)
    {
        CheckRows("CrossEntropyBackward", n, c);
        CheckBuffer(probs, (long)n * c, DType.Float32, "CrossEntropyBackward", nameof(probs));
        CheckBuffer(labels, n, DType.Int32, "CrossEntropyBackward", nameof(labels));
        CheckBuffer(dLoss, n, DType.Float32, "CrossEntropyBackward", nameof(dLoss));
        CheckBuffer(dLogits, (long)n * c, DType.Float32, "CrossEntropyBackward", nameof(dLogits));
        // probs, dLogits: [n, c]; labels, dLoss: [n]
        Launch1D(LossFile, "cross_entropy_backward", (long)n * c, probs, labels, dLoss, dLogits, n, c);
    }
}
