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

    /// <summary>Environment variable choosing how a list of tensors is updated (one of <see cref="AdamVariants"/>).</summary>
    public const string AdamVariantEnvironmentVariable = "SERENGINE_ADAM_VARIANT";

    /// <summary>How <see cref="AdamStepMulti"/> runs, simplest first: one <c>adam_step</c> launch per tensor, or <c>adam_step_multi</c>.</summary>
    public static IReadOnlyList<string> AdamVariants { get; } = ["per_tensor", "multi_tensor"];

    private string? _adamVariant;

    /// <summary>
    /// The default: <c>multi_tensor</c> on a GPU, where a step's dozens of small updates cost a launch each;
    /// <c>per_tensor</c> on a CPU device (PoCL), whose launches are cheap and which vectorises the single-tensor
    /// kernel but not the multi-tensor one (measured: benchmarks/results/amd-epyc-avx512-2vcpu/LAUNCHES-2026-12-06.md).
    /// </summary>
    public string DefaultAdamVariant => IsHostDevice ? "per_tensor" : "multi_tensor";

    /// <summary>The variant <see cref="AdamStepMulti"/> runs: <c>$SERENGINE_ADAM_VARIANT</c>, else <see cref="DefaultAdamVariant"/>.</summary>
    public string AdamVariant
    {
        get => _adamVariant ??= VariantFromEnvironment(AdamVariantEnvironmentVariable, AdamVariants, DefaultAdamVariant, "Adam");
        set => _adamVariant = CheckVariant(value, AdamVariants, "Adam");
    }

    /// <summary>True when the device is the host's CPU (PoCL): some kernels are chosen differently there.</summary>
    protected virtual bool IsHostDevice => false;

    /// <inheritdoc/>
    /// <remarks>
    /// <see cref="AdamVariant"/> <c>multi_tensor</c>: one <c>adam_step_multi</c> launch per <see cref="AdamMultiTensors"/> tensors (a model's 42 tensors: 6 launches,
    /// not 42), each tensor its own run of work-groups of one work-item per element, the same float operations
    /// per element as <see cref="AdamStep"/>. Tensors sharing a buffer would race in one launch, so such a list runs
    /// tensor by tensor, in order, as the default does; so does a chunk of more than 2^31 − 1 elements.
    /// </remarks>
    public override void AdamStepMulti(ReadOnlySpan<AdamTensors> tensors, in AdamStepParams p)
    {
        if (AdamVariant == "per_tensor")
        {
            base.AdamStepMulti(tensors, p);
            return;
        }
        var seen = new HashSet<Storage>(ReferenceEqualityComparer.Instance);
        long all = 0;
        foreach (var t in tensors)
        {
            CheckCount(t.Count, "AdamStepMulti", "Count");
            CheckBuffer(t.Param, t.Count, DType.Float32, "AdamStepMulti", nameof(t.Param));
            CheckBuffer(t.Grad, t.Count, DType.Float32, "AdamStepMulti", nameof(t.Grad));
            CheckBuffer(t.ExpAvg, t.Count, DType.Float32, "AdamStepMulti", nameof(t.ExpAvg));
            CheckBuffer(t.ExpAvgSq, t.Count, DType.Float32, "AdamStepMulti", nameof(t.ExpAvgSq));
            all += t.Count;
            if (!seen.Add(t.Param) | !seen.Add(t.ExpAvg) | !seen.Add(t.ExpAvgSq) || all > int.MaxValue)
            {
                base.AdamStepMulti(tensors, p);
                return;
            }
        }
        var a = AdamScalars.For(p);
        Span<KernelArg> args = new KernelArg[AdamMultiTensors * 6 + 10];
        for (int first = 0; first < tensors.Length; first += AdamMultiTensors)
        {
            var chunk = tensors.Slice(first, Math.Min(AdamMultiTensors, tensors.Length - first));
            long groups = 0;
            for (int k = 0; k < chunk.Length; k++) groups += (chunk[k].Count + GroupSize - 1) / GroupSize;
            if (groups == 0) continue;
            long start = 0;
            for (int k = 0; k < AdamMultiTensors; k++)
            {
                // slot k: param, grad, m, v [n_k] and its first group; an unused slot repeats tensor 0's buffers
                // with n_k = 0 and starts at the group count (no group maps to it)
                var t = chunk[k < chunk.Length ? k : 0];
                args[6 * k] = t.Param;
                args[6 * k + 1] = t.Grad;
                args[6 * k + 2] = t.ExpAvg;
                args[6 * k + 3] = t.ExpAvgSq;
                args[6 * k + 4] = k < chunk.Length ? t.Count : 0;
                args[6 * k + 5] = (int)(k < chunk.Length ? start : groups);
                if (k < chunk.Length) start += (t.Count + GroupSize - 1) / GroupSize;
            }
            int i = AdamMultiTensors * 6;
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
            Launch1D(OptimFile, "adam_step_multi", groups * GroupSize, args);
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
