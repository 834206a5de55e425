using ILGPU;
using ILGPU.Runtime;
using SerEngine.Backends;
using SerEngine.Backends.Cpu;
using SerEngine.Backends.Gpu;
using SerEngine.Ilgpu.Kernels;

namespace SerEngine.Ilgpu;

// Launch code for Kernels/LossKernels.cs. The forward pass flags a label outside 0..c−1 in a one-int
// error buffer, read back after the launch and turned into the CPU reference's ArgumentException.
public sealed partial class IlgpuBackend
{
    private Action<KernelConfig, ArrayView<float>, ArrayView<int>, ArrayView<float>, ArrayView<float>, ArrayView<int>, int, int>? _crossEntropyForward;
    private Action<KernelConfig, ArrayView<float>, ArrayView<int>, ArrayView<float>, ArrayView<float>, int, int>? _crossEntropyBackward;

    /// <inheritdoc/>
    /// <remarks>On a bad label, loss and probs have been written (the bad rows' loss is NaN) before the exception.</remarks>
    public override void CrossEntropyForward(Storage logits, Storage labels, Storage loss, Storage probs, int n, int c)
    {
        GpuBackend.CheckRows("CrossEntropyForward", n, c);
        GpuBackend.CheckBuffer(logits, (long)n * c, DType.Float32, "CrossEntropyForward", nameof(logits));
        GpuBackend.CheckBuffer(labels, n, DType.Int32, "CrossEntropyForward", nameof(labels));
        GpuBackend.CheckBuffer(loss, n, DType.Float32, "CrossEntropyForward", nameof(loss));
        GpuBackend.CheckBuffer(probs, (long)n * c, DType.Float32, "CrossEntropyForward", nameof(probs));
        if (n == 0) return;
        using var error = Allocate(1, DType.Int32); // [1]
        Write(error, [0]);
        // logits, probs: [n, c]; labels, loss: [n]; error: [1]
        ArrayView<float> lv = F(logits), lossv = F(loss), pv = F(probs);
        ArrayView<int> labv = I(labels), ev = I(error);
        var config = new KernelConfig(n, RowGroup(c));
        Run(ref _crossEntropyForward, a => a.LoadStreamKernel<ArrayView<float>, ArrayView<int>, ArrayView<float>, ArrayView<float>, ArrayView<int>, int, int>(LossKernels.Forward),
            k => k(config, lv, labv, lossv, pv, ev, n, c));
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
        GpuBackend.CheckRows("CrossEntropyBackward", n, c);
        GpuBackend.CheckBuffer(probs, (long)n * c, DType.Float32, "CrossEntropyBackward", nameof(probs));
        GpuBackend.CheckBuffer(labels, n, DType.Int32, "CrossEntropyBackward", nameof(labels));
        GpuBackend.CheckBuffer(dLoss, n, DType.Float32, "CrossEntropyBackward", nameof(dLoss));
        GpuBackend.CheckBuffer(dLogits, (long)n * c, DType.Float32, "CrossEntropyBackward", nameof(dLogits));
        if ((long)n * c == 0) return;
        ArrayView<float> pv = F(probs), dlv = F(dLoss), dv = F(dLogits); // probs, dLogits [n, c]; dLoss [n]
        ArrayView<int> labv = I(labels);
        Run(ref _crossEntropyBackward, a => a.LoadStreamKernel<ArrayView<float>, ArrayView<int>, ArrayView<float>, ArrayView<float>, int, int>(LossKernels.Backward),
            k => k(Config1D((long)n * c), pv, labv, dlv, dv, n, c));
    }
}
