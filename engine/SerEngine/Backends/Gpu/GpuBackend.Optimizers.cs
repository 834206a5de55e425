namespace SerEngine.Backends.Gpu;

// Launch code for kernels/optim.cl: AdamStep and SgdStep, one work-item per parameter. Adam's scalars
// come from AdamScalars.For, as the CPU backends' do, so the kernel repeats the reference's float operations.
public abstract partial class GpuBackend
{
    private const string OptimFile = "optim.cl";

    /// <inheritdoc/>
    public override void AdamStep(Storage param, Storage grad, Storage m, Storage v, int n, in AdamStepParams p)
    {
        CheckCount(n, "AdamStep", nameof(n));
        CheckBuffer(param, n, DType.Float32, "AdamStep", nameof(param));
        CheckBuffer(grad, n, DType.Float32, "AdamStep", nameof(grad));
        CheckBuffer(m, n, DType.Float32, "AdamStep", nameof(m));
        CheckBuffer(v, n, DType.Float32, "AdamStep", nameof(v));
        var a = AdamScalars.For(p);
        // param, grad, m, v: [n]
        Launch1D(OptimFile, "adam_step", n, param, grad, m, v, n, a.Decoupled ? 1 : 0, a.Decay, a.WeightDecay,
            a.B1, a.OneMinusB1, a.B2, a.OneMinusB2, a.StepSize, a.Bc2Sqrt, a.Eps);
    }

    /// <summary>Tensors per <c>adam_step_multi</c> launch (its <c>ADAM_MULTI</c>).</summary>
    internal const int AdamMultiTensors = 8;

    /// <summary>Most work-groups per tensor row of an <c>adam_step_multi</c> launch; larger tensors are strided over.</summary>
    private const int AdamMultiMaxGroups = 256;

    /// <inheritdoc/>
    /// <remarks>
    /// One <c>adam_step_multi</c> launch per <see cref="AdamMultiTensors"/> tensors (a model's 42 tensors: 6 launches,
    /// not 42), the same float operations per element as <see cref="AdamStep"/>. Tensors sharing a buffer would
    /// race in one launch, so such a list runs tensor by tensor, in order, as the default does.
    /// </remarks>
    public override void AdamStepMulti(ReadOnlySpan<AdamTensors> tensors, in AdamStepParams p)
    {
        var seen = new HashSet<Storage>(ReferenceEqualityComparer.Instance);
        foreach (var t in tensors)
        {
            CheckCount(t.Count, "AdamStepMulti", "Count");
            CheckBuffer(t.Param, t.Count, DType.Float32, "AdamStepMulti", nameof(t.Param));
            CheckBuffer(t.Grad, t.Count, DType.Float32, "AdamStepMulti", nameof(t.Grad));
            CheckBuffer(t.ExpAvg, t.Count, DType.Float32, "AdamStepMulti", nameof(t.ExpAvg));
            CheckBuffer(t.ExpAvgSq, t.Count, DType.Float32, "AdamStepMulti", nameof(t.ExpAvgSq));
            if (!seen.Add(t.Param) | !seen.Add(t.ExpAvg) | !seen.Add(t.ExpAvgSq))
            {
                base.AdamStepMulti(tensors, p);
                return;
            }
        }
        var a = AdamScalars.For(p);
        Span<KernelArg> args = new KernelArg[AdamMultiTensors * 5 + 10];
        for (int start = 0; start < tensors.Length; start += AdamMultiTensors)
        {
            var chunk = tensors.Slice(start, Math.Min(AdamMultiTensors, tensors.Length - start));
            int maxCount = 0;
            for (int k = 0; k < AdamMultiTensors; k++)
            {
                // slot k: param, grad, m, v [n_k]; an unused slot repeats tensor 0's buffers with n_k = 0 (never read)
                var t = chunk[k < chunk.Length ? k : 0];
                int n = k < chunk.Length ? t.Count : 0;
                maxCount = Math.Max(maxCount, n);
                args[5 * k] = t.Param;
                args[5 * k + 1] = t.Grad;
                args[5 * k + 2] = t.ExpAvg;
                args[5 * k + 3] = t.ExpAvgSq;
                args[5 * k + 4] = n;
            }
            if (maxCount == 0) continue;
            int i = AdamMultiTensors * 5;
            args[i++] = a.Decoupled ? 1 : 0;
            args[i++] = a.Decay;
            args[i++] = a.WeightDecay;
            args[i++] = a.B1;
            args[i++] = a.OneMinusB1;
            args[i++] = a.B2;
            args[i++] = a.OneMinusB2;
            args[i++] = a.StepSize;
            args[i++] = a.Bc2Sqrt;
            args[i] = a.Eps;
            // x: work-items striding over a tensor's elements; y: the chunk's tensors
            long x = Math.Min(RoundUp(maxCount, GroupSize), (long)AdamMultiMaxGroups * GroupSize);
            Launch(OptimFile, "adam_step_multi", "", [x, chunk.Length], [GroupSize, 1], args);
        }
    }

    /// <inheritdoc/>
    public override void SgdStep(Storage param, Storage grad, Storage? momentumBuffer, int n, in SgdStepParams p)
    {
        CheckCount(n, "SgdStep", nameof(n));
        if (p.Momentum != 0f && momentumBuffer is null)
            throw new ArgumentException("SgdStep: momentum ≠ 0 needs a momentum buffer", nameof(momentumBuffer));
        CheckBuffer(param, n, DType.Float32, "SgdStep", nameof(param));
        CheckBuffer(grad, n, DType.Float32, "SgdStep", nameof(grad));
        if (momentumBuffer is not null) CheckBuffer(momentumBuffer, n, DType.Float32, "SgdStep", nameof(momentumBuffer));
        float oneMinusDampening = (float)(1.0 - p.Dampening);
        // param, grad, momentumBuffer: [n] (grad stands in for a missing momentum buffer, never read)
        Launch1D(OptimFile, "sgd_step", n, param, grad, momentumBuffer ?? grad, n,
            p.Lr, p.Momentum, oneMinusDampening, p.WeightDecay, p.Nesterov ? 1 : 0, p.FirstStep ? 1 : 0);
    }
}
