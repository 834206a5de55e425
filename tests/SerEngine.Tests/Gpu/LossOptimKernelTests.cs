using SerEngine.Backends;
using SerEngine.Backends.Gpu;

namespace SerEngine.Tests.Gpu;

/// <summary>
/// kernels/loss.cl and optim.cl on the OpenCL backend against the CPU reference: cross-entropy
/// forward/backward (classes fewer and more than a work-group), the bad-label error, several Adam,
/// AdamW and SGD steps in a row, and a gradient check of cross-entropy on the OpenCL backend.
/// </summary>
[Collection(ProcessWideCollection.Name)] // switches the shared backend's Adam variant
public class LossOptimKernelTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData("opencl")]
    [InlineData("cuda")]
    [InlineData("ilgpu-cpu")]
    [InlineData("ilgpu")]
    public void CrossEntropyMatchesReference(string device)
    {
        if (KernelTwin.Device(device, output) is not { } be) return;
        var cpu = KernelTwin.Reference;
        foreach (var (n, c) in new[] { (1, 1), (4, 7), (3, 300), (37, 10), (2, 513) })
        {
            string what = $"cross-entropy [{n}, {c}]";
            using var logits = KernelTwin.Of(be, KernelTwin.Normal(n * c, n * c, scale: 3f, offset: -20f));
            using var labels = KernelTwin.Of(be, Enumerable.Range(0, n).Select(i => (i * 5 + 3) % c).ToArray());
            using var loss = KernelTwin.Output(be, n);
            using var probs = KernelTwin.Output(be, n * c);
            be.CrossEntropyForward(logits.Gpu, labels.Gpu, loss.Gpu, probs.Gpu, n, c);
            cpu.CrossEntropyForward(logits.Cpu, labels.Cpu, loss.Cpu, probs.Cpu, n, c);
            loss.AssertClose(1e-5, 1e-5, what + " loss");
            probs.AssertClose(1e-5, 1e-7, what + " probs");

            be.Write(probs.Gpu, probs.CpuFloats()); // compare the backward kernel alone
            using var dLoss = KernelTwin.Of(be, KernelTwin.Normal(n, n + 3));
            using var dLogits = KernelTwin.Output(be, n * c);
            be.CrossEntropyBackward(probs.Gpu, labels.Gpu, dLoss.Gpu, dLogits.Gpu, n, c);
            cpu.CrossEntropyBackward(probs.Cpu, labels.Cpu, dLoss.Cpu, dLogits.Cpu, n, c);
            dLogits.AssertClose(1e-6, 1e-7, what + " dLogits");
        }
    }

    [Theory]
    [InlineData("opencl")]
    [InlineData("cuda")]
    [InlineData("ilgpu-cpu")]
    [InlineData("ilgpu")]
    public void BadLabelThrowsTheReferenceError(string device)
    {
        if (KernelTwin.Device(device, output) is not { } be) return;
        const int n = 5, c = 4;
        using var logits = KernelTwin.Of(be, KernelTwin.Normal(n * c, 1));
        using var loss = KernelTwin.Output(be, n);
        using var probs = KernelTwin.Output(be, n * c);
        foreach (var bad in new[] { new[] { 0, 1, 4, 2, -1 }, new[] { 3, 2, 1, 0, -7 } })
        {
            using var labels = KernelTwin.Of(be, bad);
            var gpu = Assert.Throws<ArgumentException>(() => be.CrossEntropyForward(logits.Gpu, labels.Gpu, loss.Gpu, probs.Gpu, n, c));
            var cpu = Assert.Throws<ArgumentException>(() => KernelTwin.Reference.CrossEntropyForward(logits.Cpu, labels.Cpu, loss.Cpu, probs.Cpu, n, c));
            Assert.Equal(cpu.Message, gpu.Message);
            output.WriteLine(gpu.Message);
        }
        // the flag does not stick: a valid batch afterwards runs normally
        using var good = KernelTwin.Of(be, new[] { 0, 1, 2, 3, 0 });
        be.CrossEntropyForward(logits.Gpu, good.Gpu, loss.Gpu, probs.Gpu, n, c);
        KernelTwin.Reference.CrossEntropyForward(logits.Cpu, good.Cpu, loss.Cpu, probs.Cpu, n, c);
        loss.AssertClose(1e-5, 1e-5, "loss after a bad batch");
    }

    [Theory]
    [InlineData("opencl")]
    [InlineData("cuda")]
    [InlineData("ilgpu-cpu")]
    [InlineData("ilgpu")]
    public void AdamAndAdamWStepsMatchReference(string device)
    {
        if (KernelTwin.Device(device, output) is not { } be) return;
        foreach (int n in new[] { 3, 1000 })
        {
            foreach (var (decoupled, wd) in new[] { (false, 0f), (false, 0.01f), (true, 0.05f) })
            {
                string what = $"{(decoupled ? "AdamW" : "Adam")} wd={wd} n={n}";
                using var param = KernelTwin.Of(be, KernelTwin.Normal(n, n));
                using var m = KernelTwin.Of(be, new float[n]);
                using var v = KernelTwin.Of(be, new float[n]);
                for (int step = 1; step <= 4; step++)
                {
                    using var grad = KernelTwin.Of(be, KernelTwin.Normal(n, n * 10 + step, scale: 0.1f));
                    var p = new AdamStepParams(Lr: 1e-2f, Beta1: 0.9f, Beta2: 0.999f, Eps: 1e-8f, WeightDecay: wd, Decoupled: decoupled, Step: step);
                    be.AdamStep(param.Gpu, grad.Gpu, m.Gpu, v.Gpu, n, p);
                    KernelTwin.Reference.AdamStep(param.Cpu, grad.Cpu, m.Cpu, v.Cpu, n, p);
                }
                param.AssertClose(1e-6, 1e-7, what + " param");
                m.AssertClose(1e-6, 1e-9, what + " m");
                v.AssertClose(1e-6, 1e-12, what + " v");
            }
        }
    }

    [Theory]
    [InlineData("opencl")]
    [InlineData("cuda")]
    public void AdamStepMultiIsAdamStepBitForBitOverChunksOfTensors(string device)
    {
        if (KernelTwin.Device(device, output) is not GpuBackend be) return;
        string saved = be.AdamVariant;
        try
        {
            foreach (var variant in GpuBackend.AdamVariants)
            {
                be.AdamVariant = variant;
                CompareAdamStepMulti(be);
            }
        }
        finally { be.AdamVariant = saved; }
    }

    private static void CompareAdamStepMulti(Backend be)
    {
        // 12 tensors: one full chunk of 8 and a partial one; 70,001 elements is more than one launch row's groups cover
        int[] sizes = [1, 3, 7, 33, 64, 255, 257, 1000, 70_001, 2, 5, 17];
        const int pad = KernelTwin.OutputPadding;
        foreach (var (decoupled, wd) in new[] { (false, 0f), (false, 0.01f), (true, 0.05f) })
        {
            string what = decoupled ? "AdamW" : $"Adam wd={wd}";
            // [multi, single]: the same start values, updated by AdamStepMulti and by AdamStep tensor by tensor
            var state = sizes.Select((n, i) => (Param: KernelTwin.Of(be, [.. KernelTwin.Normal(n, i), .. Enumerable.Repeat(777.25f, pad)]),
                M: KernelTwin.Of(be, new float[n + pad]), V: KernelTwin.Of(be, new float[n + pad]))).ToArray();
            var single = sizes.Select((n, i) => (Param: KernelTwin.Of(be, [.. KernelTwin.Normal(n, i), .. Enumerable.Repeat(777.25f, pad)]),
                M: KernelTwin.Of(be, new float[n + pad]), V: KernelTwin.Of(be, new float[n + pad]))).ToArray();
            try
            {
                for (int step = 1; step <= 3; step++)
                {
                    var grads = sizes.Select((n, i) => KernelTwin.Of(be, KernelTwin.Normal(n, 100 * step + i, scale: 0.1f))).ToArray();
                    var p = new AdamStepParams(Lr: 1e-2f, Beta1: 0.9f, Beta2: 0.999f, Eps: 1e-8f, WeightDecay: wd, Decoupled: decoupled, Step: step);
                    be.AdamStepMulti([.. sizes.Select((n, i) => new AdamTensors(state[i].Param.Gpu, grads[i].Gpu, state[i].M.Gpu, state[i].V.Gpu, n))], p);
                    for (int i = 0; i < sizes.Length; i++)
                    {
                        be.AdamStep(single[i].Param.Gpu, grads[i].Gpu, single[i].M.Gpu, single[i].V.Gpu, sizes[i], p);
                        KernelTwin.Reference.AdamStep(state[i].Param.Cpu, grads[i].Cpu, state[i].M.Cpu, state[i].V.Cpu, sizes[i], p);
                    }
                    foreach (var g in grads) g.Dispose();
                }
                for (int i = 0; i < sizes.Length; i++)
                {
                    Assert.Equal(single[i].Param.GpuFloats(), state[i].Param.GpuFloats()); // bit for bit, padding included
                    Assert.Equal(single[i].M.GpuFloats(), state[i].M.GpuFloats());
                    Assert.Equal(single[i].V.GpuFloats(), state[i].V.GpuFloats());
                    state[i].Param.AssertClose(1e-6, 1e-7, $"{what} tensor {i} (n={sizes[i]}) param");
                }
            }
            finally
            {
                foreach (var t in state.Concat(single)) { t.Param.Dispose(); t.M.Dispose(); t.V.Dispose(); }
            }
        }
    }

    [Theory]
    [InlineData("opencl")]
    [InlineData("cuda")]
    public void AdamStepMultiWithASharedBufferRunsTensorByTensor(string device)
    {
        if (KernelTwin.Device(device, output) is not GpuBackend be) return;
        string saved = be.AdamVariant;
        be.AdamVariant = "multi_tensor";
        try { SharedBufferUpdate(be); }
        finally { be.AdamVariant = saved; }
    }

    private static void SharedBufferUpdate(Backend be)
    {
        const int n = 300;
        using var param = KernelTwin.Of(be, KernelTwin.Normal(n, 1));
        using var m = KernelTwin.Of(be, new float[n]);
        using var v = KernelTwin.Of(be, new float[n]);
        using var m2 = KernelTwin.Of(be, new float[n]);
        using var v2 = KernelTwin.Of(be, new float[n]);
        using var g1 = KernelTwin.Of(be, KernelTwin.Normal(n, 2));
        using var g2 = KernelTwin.Of(be, KernelTwin.Normal(n, 3));
        var p = new AdamStepParams(Lr: 1e-2f, Beta1: 0.9f, Beta2: 0.999f, Eps: 1e-8f, WeightDecay: 0f, Decoupled: false, Step: 1);
        // the same parameter twice (two gradients): in one launch the two updates would race
        be.AdamStepMulti([new AdamTensors(param.Gpu, g1.Gpu, m.Gpu, v.Gpu, n), new AdamTensors(param.Gpu, g2.Gpu, m2.Gpu, v2.Gpu, n)], p);
        KernelTwin.Reference.AdamStep(param.Cpu, g1.Cpu, m.Cpu, v.Cpu, n, p);
        KernelTwin.Reference.AdamStep(param.Cpu, g2.Cpu, m2.Cpu, v2.Cpu, n, p);
        param.AssertClose(1e-6, 1e-7, "param after two sequential updates");
    }

    [Theory]
    [InlineData("opencl")]
    [InlineData("cuda")]
    [InlineData("ilgpu-cpu")]
    [InlineData("ilgpu")]
    public void SgdStepsMatchReference(string device)
    {
        if (KernelTwin.Device(device, output) is not { } be) return;
        // (momentum, dampening, weight decay, nesterov)
        foreach (var (momentum, dampening, wd, nesterov) in new[] { (0f, 0f, 0f, false), (0f, 0f, 0.1f, false), (0.9f, 0f, 0f, false), (0.9f, 0.1f, 0.01f, false), (0.8f, 0f, 0.01f, true) })
        {
            const int n = 777;
            string what = $"SGD momentum={momentum} dampening={dampening} wd={wd} nesterov={nesterov}";
            using var param = KernelTwin.Of(be, KernelTwin.Normal(n, 1));
            using var buf = KernelTwin.Of(be, Enumerable.Repeat(123f, n).ToArray()); // overwritten on the first step
            for (int step = 0; step < 3; step++)
            {
                using var grad = KernelTwin.Of(be, KernelTwin.Normal(n, 40 + step));
                var p = new SgdStepParams(Lr: 0.05f, Momentum: momentum, Dampening: dampening, WeightDecay: wd, Nesterov: nesterov, FirstStep: step == 0);
                be.SgdStep(param.Gpu, grad.Gpu, momentum == 0f ? null : buf.Gpu, n, p);
                KernelTwin.Reference.SgdStep(param.Cpu, grad.Cpu, momentum == 0f ? null : buf.Cpu, n, p);
            }
            param.AssertClose(1e-6, 1e-7, what + " param");
            buf.AssertClose(1e-6, 1e-7, what + " momentum buffer");
        }
        using var x = be.Allocate(4, DType.Float32);
        var ex = Assert.Throws<ArgumentException>(() => be.SgdStep(x, x, null, 4, new SgdStepParams(0.1f, 0.9f, 0f, 0f, false, true)));
        Assert.Contains("momentum ≠ 0 needs a momentum buffer", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("opencl")]
    [InlineData("cuda")]
    [InlineData("ilgpu-cpu")]
    [InlineData("ilgpu")]
    public void CrossEntropyGradientIsCheckedOnTheDevice(string device)
    {
        if (KernelTwin.Device(device, output) is not { } be) return;
        var rng = new Generator(31);
        var logits = GradCheck.Param(be, rng, 4, 6);
        using var labels = Tensor.FromArray(new[] { 5, 0, 2, 2 }, new Shape(4), be);
        GradCheck.Check(t => Ops.CrossEntropy(t[0], labels), [logits]);
        GradCheck.Check(t => Ops.CrossEntropy(t[0], labels, Reduction.None), [logits]);
        Assert.Equal(device, logits.Grad!.Backend.Name);
    }
}
