namespace SerEngine.Benchmarks.Lab;

/// <summary>
/// kernels/loss.cl: cross_entropy_forward (one work-group per row: probs = softmax(logits), loss =
/// −log probs[label]) and cross_entropy_backward (dLogits = dLoss·(probs − onehot)). logits, probs,
/// dLogits [N, C]; labels (Int32), loss, dLoss [N].
/// </summary>
public sealed class CrossEntropyLab : LabOp
{
    /// <inheritdoc/>
    public override string Name => "cross_entropy";

    private static readonly (int N, int C)[] Checks = [(1, 1), (3, 4), (7, 33), (5, 300), (130, 10)];

    /// <inheritdoc/>
    public override IReadOnlyList<LabVariant> Variants(bool quick)
    {
        int rows = quick ? 2048 : 16384;
        return
        [
            new LabVariant("cross_entropy",
                [.. Checks.SelectMany(s => new[] { Forward(s.N, s.C), Backward(s.N, s.C) })],
                [Forward(32, 4), Forward(rows, 512), Backward(rows, 512)]),
        ];
    }

    private static int[] Labels(int n, int c) => [.. Enumerable.Range(0, n).Select(i => i * 7 % c)];

    private static LabCase Forward(int n, int c) => new($"fwd [{n}, {c}]",
        [
            LabBuffer.Normal("logits", n * c, (ulong)(n * c), 3f), LabBuffer.Ints("labels", n, () => Labels(n, c)),
            LabBuffer.Output("loss", n, 2e-6), LabBuffer.Output("probs", n * c, 2e-6),
        ],
        (b, s) => b.CrossEntropyForward(s["logits"], s["labels"], s["loss"], s["probs"], n, c),
        expectKernel: "cross_entropy_forward");

    private static LabCase Backward(int n, int c) => new($"bwd [{n}, {c}]",
        [
            LabBuffer.Floats("probs", n * c, () => Softmax(n, c)), LabBuffer.Ints("labels", n, () => Labels(n, c)),
            LabBuffer.Normal("dLoss", n, (ulong)n + 5, 0.1f, 1f), LabBuffer.Output("dLogits", n * c, 1e-6),
        ],
        (b, s) => b.CrossEntropyBackward(s["probs"], s["labels"], s["dLoss"], s["dLogits"], n, c),
        expectKernel: "cross_entropy_backward");

    private static float[] Softmax(int n, int c)
    {
        var p = LabBuffer.NormalValues(n * c, (ulong)(n * c) + 3, 2f);
        for (int r = 0; r < n; r++)
        {
            var row = p.AsSpan(r * c, c);
            double sum = 0;
            foreach (float v in row) sum += Math.Exp(v);
            for (int j = 0; j < c; j++) row[j] = (float)(Math.Exp(row[j]) / sum);
        }
        return p;
    }
}
