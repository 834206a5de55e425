namespace SerEngine.Backends.Cpu;

// Cross-entropy of logits [n, c] against Int32 labels [n], fused with the softmax it needs:
//   probs[i, :] = softmax(logits[i, :])                    (kept for the backward pass)
//   loss[i]     = max_i + ln Σ_j e^(logits[i, j] − max_i) − logits[i, label_i]
// Backward: dLogits[i, j] = dLoss[i] · (probs[i, j] − [j = label_i]).
public partial class CpuReferenceBackend
{
    /// <summary>Throws <see cref="ArgumentException"/> naming the first label outside 0..c−1.</summary>
    internal static void ValidateLabels(ReadOnlySpan<int> labels, int c)
    {
        for (int i = 0; i < labels.Length; i++)
            if ((uint)labels[i] >= (uint)c)
                throw new ArgumentException($"cross_entropy: label {labels[i]} at index {i} is outside 0..{c - 1} ({c} classes)", nameof(labels));
    }

    /// <inheritdoc/>
    public override void CrossEntropyForward(Storage logits, Storage labels, Storage loss, Storage probs, int n, int c)
    {
        float[] xv = F(logits), lv = F(loss), pv = F(probs); // [n, c], [n], [n, c]
        int[] yv = I(labels);                                // [n]
        ValidateLabels(yv.AsSpan(0, n), c);
        for (int i = 0; i < n; i++)
        {
            int o = i * c;
            float max = float.NegativeInfinity;
            for (int j = 0; j < c; j++) max = MathF.Max(max, xv[o + j]);
            double sum = 0;
            for (int j = 0; j < c; j++) sum += Math.Exp(xv[o + j] - max);
            for (int j = 0; j < c; j++) pv[o + j] = (float)(Math.Exp(xv[o + j] - max) / sum);
            lv[i] = (float)(max + Math.Log(sum) - xv[o + yv[i]]);
        }
    }

    /// <inheritdoc/>
    public override void CrossEntropyBackward(Storage probs, Storage labels, Storage dLoss, Storage dLogits, int n, int c)
    {
        float[] pv = F(probs), gv = F(dLoss), dv = F(dLogits); // [n, c], [n], [n, c]
        int[] yv = I(labels);                                  // [n]
        for (int i = 0; i < n; i++)
        {
            int o = i * c;
            for (int j = 0; j < c; j++)
                dv[o + j] = gv[i] * (pv[o + j] - (j == yv[i] ? 1f : 0f));
        }
    }
}
