namespace SerEngine.Backends.Gpu;

// Launch code for kernels/attention.cl: one work-group per (batch·head) item, its size T rounded up
// to a multiple of 16 (work-item i owns query row i). Shapes outside the kernel's bounds (T > 128,
// D > 64) run the default composition of Backend (Gemm + BiasedSoftmax + Gemm), as does the
// `composed` variant; ChooseAttention is the one place that decides.
// Dimension legend: BH batch·heads, T tokens, D head size.
public abstract partial class GpuBackend
{
    private const string AttentionFile = "attention.cl";

    /// <summary>Environment variable choosing the attention variant (one of <see cref="AttentionVariants"/>).</summary>
    public const string AttentionVariantEnvironmentVariable = "SERENGINE_ATTENTION_VARIANT";

    /// <summary>Attention implementations, simplest first: the composed primitives, the fused kernel.</summary>
    public static IReadOnlyList<string> AttentionVariants { get; } = ["composed", "fused"];

    /// <summary>The default attention variant: fused where its bounds allow.</summary>
    public const string DefaultAttentionVariant = "fused";

    /// <summary>Longest sequence the fused kernel takes (one work-item per query in one work-group).</summary>
    public const int AttentionMaxTokens = 128;

    /// <summary>Largest head size the fused kernel takes (its per-row register arrays).</summary>
    public const int AttentionMaxHeadDim = 64;

    private const int AttentionKeyChunk = 32; // keys per local tile: 2 tiles · 32 · 64 floats = 16 KiB
    internal static readonly string AttentionOptions =
        $"-DATT_TMAX={AttentionMaxTokens} -DATT_DMAX={AttentionMaxHeadDim} -DATT_KC={AttentionKeyChunk}";

    private string? _attentionVariant;

    /// <summary>
    /// The variant asked for: <c>fused</c> (the default; shapes beyond its bounds still compose) or
    /// <c>composed</c>. Starts as <c>$SERENGINE_ATTENTION_VARIANT</c>, else <see cref="DefaultAttentionVariant"/>.
    /// </summary>
    /// <exception cref="ArgumentException">An unknown variant name.</exception>
    public string AttentionVariant
    {
        get => _attentionVariant ??= VariantFromEnvironment(AttentionVariantEnvironmentVariable, AttentionVariants, DefaultAttentionVariant, "attention");
        set => _attentionVariant = CheckVariant(value, AttentionVariants, "attention");
    }

    /// <summary>
    /// The implementation attention of T tokens and head size D runs: <c>fused</c> when that variant is
    /// asked for and T ≤ <see cref="AttentionMaxTokens"/> (one work-group holds every query) and
    /// D ≤ <see cref="AttentionMaxHeadDim"/> (a row fits the registers); else <c>composed</c>.
    /// </summary>
    public string ChooseAttention(int t, int d) =>
        AttentionVariant == "fused" && t <= AttentionMaxTokens && d <= AttentionMaxHeadDim ? "fused" : "composed";

    /// <inheritdoc/>
    public override string AttentionImplementation(int t, int d) => ChooseAttention(t, d);

    /// <inheritdoc/>
    public override void AttentionForward(Storage q, Storage k, Storage v, Storage? bias, Storage? keyMask, Storage? dropMask,
        Storage probs, Storage o, int batchHeads, int t, int d, int itemsPerMask, float scale)
    {
        if (ChooseAttention(t, d) != "fused")
        {
            base.AttentionForward(q, k, v, bias, keyMask, dropMask, probs, o, batchHeads, t, d, itemsPerMask, scale);
            return;
        }
        const string op = "AttentionForward";
        CheckAttentionSizes(op, batchHeads, t, d);
        long td = (long)batchHeads * t * d, tt = (long)batchHeads * t * t;
        CheckBuffer(q, td, DType.Float32, op, nameof(q));
        CheckBuffer(k, td, DType.Float32, op, nameof(k));
        CheckBuffer(v, td, DType.Float32, op, nameof(v));
        CheckBuffer(o, td, DType.Float32, op, nameof(o));
        CheckBuffer(probs, tt, DType.Float32, op, nameof(probs));
        if (bias is not null) CheckBuffer(bias, tt, DType.Float32, op, nameof(bias));
        if (dropMask is not null) CheckBuffer(dropMask, tt, DType.Float32, op, nameof(dropMask));
        if (keyMask is not null)
        {
            if (itemsPerMask <= 0)
                throw new ArgumentOutOfRangeException(nameof(itemsPerMask), $"{op}: itemsPerMask = {itemsPerMask} must be positive");
            CheckBuffer(keyMask, ((long)batchHeads + itemsPerMask - 1) / itemsPerMask * t, DType.Int32, op, nameof(keyMask));
        }
        if (batchHeads == 0 || t == 0) return;
        int group = AttentionGroup(t);
        // q, k, v, o: [BH, T, D]; bias, dropMask, probs: [BH, T, T]; keyMask: [BH / itemsPerMask, T]
        Launch(AttentionFile, "attention_fwd", AttentionOptions, [(long)batchHeads * group], [group],
            [q, k, v, bias ?? q, bias is null ? 0 : 1, keyMask ?? q, keyMask is null ? 0 : 1, dropMask ?? q, dropMask is null ? 0 : 1,
             probs, o, t, d, keyMask is null ? 1 : itemsPerMask, scale]);
    }

    /// <inheritdoc/>
    public override void AttentionBackward(Storage q, Storage k, Storage v, Storage probs, Storage? dropMask,
        Storage? dOut, Storage? dProbs, Storage? dQ, Storage? dK, Storage? dV, Storage? dBias,
        int batchHeads, int t, int d, float scale)
    {
        if (ChooseAttention(t, d) != "fused")
        {
            base.AttentionBackward(q, k, v, probs, dropMask, dOut, dProbs, dQ, dK, dV, dBias, batchHeads, t, d, scale);
            return;
        }
        const string op = "AttentionBackward";
        CheckAttentionSizes(op, batchHeads, t, d);
        long td = (long)batchHeads * t * d, tt = (long)batchHeads * t * t;
        CheckBuffer(q, td, DType.Float32, op, nameof(q));
        CheckBuffer(k, td, DType.Float32, op, nameof(k));
        CheckBuffer(v, td, DType.Float32, op, nameof(v));
        CheckBuffer(probs, tt, DType.Float32, op, nameof(probs));
        if (dropMask is not null) CheckBuffer(dropMask, tt, DType.Float32, op, nameof(dropMask));
        if (dOut is not null) CheckBuffer(dOut, td, DType.Float32, op, nameof(dOut));
        if (dProbs is not null) CheckBuffer(dProbs, tt, DType.Float32, op, nameof(dProbs));
        if (dQ is not null) CheckBuffer(dQ, td, DType.Float32, op, nameof(dQ));
        if (dK is not null) CheckBuffer(dK, td, DType.Float32, op, nameof(dK));
        if (dV is not null) CheckBuffer(dV, td, DType.Float32, op, nameof(dV));
        if (dBias is not null) CheckBuffer(dBias, tt, DType.Float32, op, nameof(dBias));
        if (batchHeads == 0 || t == 0 || (dQ is null && dK is null && dV is null && dBias is null)) return;
        int group = AttentionGroup(t);
        // q, k, v, dOut, dQ, dK, dV: [BH, T, D]; probs, dropMask, dProbs, dBias: [BH, T, T]
        Launch(AttentionFile, "attention_bwd", AttentionOptions, [(long)batchHeads * group], [group],
            [q, k, v, probs, dropMask ?? q, dropMask is null ? 0 : 1, dOut ?? q, dOut is null ? 0 : 1, dProbs ?? q, dProbs is null ? 0 : 1,
             dQ ?? probs, dQ is null ? 0 : 1, dK ?? probs, dK is null ? 0 : 1, dV ?? probs, dV is null ? 0 : 1, dBias ?? probs, dBias is null ? 0 : 1,
             t, d, scale]);
    }

    /// <summary>Work-items per group: T rounded up to a multiple of 16 (a group owns every query row).</summary>
    private static int AttentionGroup(int t) => (t + 15) / 16 * 16;
}
