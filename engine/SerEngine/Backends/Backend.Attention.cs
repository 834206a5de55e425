namespace SerEngine.Backends;

// Scaled dot-product attention over batchHeads independent (batch·head) items, forward and backward.
// Dimension legend: BH = batchHeads, T tokens (queries = keys), D head size.
//   forward:  S = scale·Q Kᵀ + bias, P = softmax over the kept keys of each row of S,
//             A = P ∘ dropMask (or P), O = A V
//   backward: dP = (dO Vᵀ) ∘ dropMask + dProbs, g = P ∘ (dP − Σ_j dP·P),
//             dBias = g, dQ = scale·g K, dK = scale·gᵀ Q, dV = Aᵀ dO
// P is kept rather than recomputed in the backward: for the short sequences this is used for it is
// small ([BH, T, T]), the backward needs no second softmax, and the module returns P anyway.
// The defaults below compose the device primitives (Gemm, BiasedSoftmax, Binary,
// BiasedSoftmaxBackward), so every backend runs attention on its own device and cpu-reference stays
// the plain-loop oracle; GPU backends override them with one fused kernel for short sequences
// (kernels/attention.cl, GpuBackend.Attention.cs).
public abstract partial class Backend
{
    /// <summary>
    /// Attention forward for <paramref name="batchHeads"/> items: q, k, v, o [BH, T, D]; bias
    /// (optional) [BH, T, T]; keyMask (optional, Int32 [BH / itemsPerMask, T], non-zero = keep) shared
    /// by <paramref name="itemsPerMask"/> consecutive items (the heads of one batch item); dropMask
    /// (optional) [BH, T, T] multiplies P before A·V (inverted dropout: 0 or 1/(1−p)); probs [BH, T, T]
    /// receives P (before dropout), which <see cref="AttentionBackward"/> reads. Masked keys get exactly
    /// zero weight; a row with every key masked is all zeros (and so is its output row).
    /// </summary>
    public virtual void AttentionForward(Storage q, Storage k, Storage v, Storage? bias, Storage? keyMask, Storage? dropMask,
        Storage probs, Storage o, int batchHeads, int t, int d, int itemsPerMask, float scale)
    {
        CheckAttentionSizes("AttentionForward", batchHeads, t, d);
        if (batchHeads == 0 || t == 0) return;
        int tt = t * t, n = batchHeads * tt;
        using var s = Allocate(n, DType.Float32);                                     // [BH, T, T]: S, then A
        Gemm(false, true, batchHeads, t, t, d, 1f, q, t * d, k, t * d, 0f, s, tt);      // Q Kᵀ
        BiasedSoftmax(s, bias, keyMask, probs, batchHeads * t, t, Math.Max(itemsPerMask, 1) * t, scale);
        var a = probs;
        if (dropMask is not null)
        {
            Binary(BinaryOp.Mul, probs, new Shape(n), dropMask, new Shape(n), s, new Shape(n)); // A = P ∘ dropMask
            a = s;
        }
        Gemm(false, false, batchHeads, t, d, t, 1f, a, tt, v, t * d, 0f, o, t * d);      // O = A V
    }

    /// <summary>
    /// Attention backward from the forward's P (<paramref name="probs"/>) and the upstream gradients
    /// dOut [BH, T, D] (of O) and dProbs [BH, T, T] (of P), either optional: writes the requested
    /// dQ, dK, dV [BH, T, D] and dBias [BH, T, T] (dV is zero without dOut). q, k, v and dropMask as
    /// in <see cref="AttentionForward"/>; keyMask is not needed (P is zero on masked keys).
    /// </summary>
    public virtual void AttentionBackward(Storage q, Storage k, Storage v, Storage probs, Storage? dropMask,
        Storage? dOut, Storage? dProbs, Storage? dQ, Storage? dK, Storage? dV, Storage? dBias,
        int batchHeads, int t, int d, float scale)
    {
        CheckAttentionSizes("AttentionBackward", batchHeads, t, d);
        if (batchHeads == 0 || t == 0) return;
        int tt = t * t, n = batchHeads * tt;
        var flat = new Shape(n);
        if (dV is not null)
        {
            if (dOut is null) Fill(dV, batchHeads * t * d, 0f);
            else
            {
                using var a = dropMask is null ? null : Allocate(n, DType.Float32);  // [BH, T, T] = P ∘ dropMask
                if (a is not null) Binary(BinaryOp.Mul, probs, flat, dropMask!, flat, a, flat);
                Gemm(true, false, batchHeads, t, d, t, 1f, a ?? probs, tt, dOut, t * d, 0f, dV, t * d); // Aᵀ dO
            }
        }
        if (dQ is null && dK is null && dBias is null) return;
        using var dP = Allocate(n, DType.Float32);                                         // [BH, T, T]
        if (dOut is null) Fill(dP, n, 0f);
        else
        {
            Gemm(false, true, batchHeads, t, t, d, 1f, dOut, t * d, v, t * d, 0f, dP, tt);  // dO Vᵀ
            if (dropMask is not null) Binary(BinaryOp.Mul, dP, flat, dropMask, flat, dP, flat);
        }
        if (dProbs is not null) Binary(BinaryOp.Add, dP, flat, dProbs, flat, dP, flat);
        using var gOwn = dBias is null ? Allocate(n, DType.Float32) : null;                 // [BH, T, T]
        var g = dBias ?? gOwn!;
        BiasedSoftmaxBackward(probs, dP, null, g, batchHeads * t, t, 1f);                  // g = P ∘ (dP − Σ dP·P)
        if (dQ is not null) Gemm(false, false, batchHeads, t, d, t, scale, g, tt, k, t * d, 0f, dQ, t * d);
        if (dK is not null) Gemm(true, false, batchHeads, t, d, t, scale, g, tt, q, t * d, 0f, dK, t * d);
    }

    /// <summary>
    /// The name of the implementation <see cref="AttentionForward"/> and <see cref="AttentionBackward"/>
    /// run for T tokens of head size D on this backend (profiles and benchmarks print it): the default
    /// composition is <c>composed</c>.
    /// </summary>
    public virtual string AttentionImplementation(int t, int d) => "composed";

    /// <summary>Throws unless the sizes are non-negative and [BH, T, T] and [BH, T, D] fit int indexing.</summary>
    private protected static void CheckAttentionSizes(string op, int batchHeads, int t, int d)
    {
        if (batchHeads < 0 || t < 0 || d < 0)
            throw new ArgumentOutOfRangeException(nameof(batchHeads), $"{op}: sizes BH {batchHeads}, T {t}, D {d} must not be negative");
        if ((long)batchHeads * t * Math.Max(t, d) > int.MaxValue)
            throw new ArgumentOutOfRangeException(nameof(batchHeads), $"{op}: [{batchHeads}, {t}, {Math.Max(t, d)}] has more than {int.MaxValue} elements");
    }
}
