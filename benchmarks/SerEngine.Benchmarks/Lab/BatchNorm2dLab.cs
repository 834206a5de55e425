namespace SerEngine.Benchmarks.Lab;

/// <summary>
/// kernels/batchnorm2d.cl over x [N, C, HW]: training forward (batchnorm2d_stats: batch mean, invStd
/// and the running-stat update; batchnorm2d_apply), training backward (batchnorm2d_bwd_reduce,
/// batchnorm2d_bwd_dx: dx through the batch statistics, dWeight, dBias), and eval forward / backward.
/// </summary>
public sealed class BatchNorm2dLab : LabOp
{
    private const float Eps = 1e-5f, Momentum = 0.1f;

    /// <inheritdoc/>
    public override string Name => "batchnorm2d";

    // (N, C, HW): odd sizes, batch 1, a plane longer than the reduction group, 1-pixel planes, many channels
    private static readonly (int N, int C, int HW)[] Checks = [(2, 3, 5), (1, 4, 33), (3, 7, 300), (4, 2, 1), (2, 70, 9)];

    /// <inheritdoc/>
    public override IReadOnlyList<LabVariant> Variants(bool quick)
    {
        var big = (N: quick ? 4 : 32, C: 64, HW: 26 * 63);
        return
        [
            new LabVariant("batchnorm2d",
                [.. Checks.SelectMany(s => new[] { Forward(s.N, s.C, s.HW, true), Backward(s.N, s.C, s.HW, true), Forward(s.N, s.C, s.HW, false), Backward(s.N, s.C, s.HW, false) })],
                [Forward(big.N, big.C, big.HW, true), Backward(big.N, big.C, big.HW, true)]),
        ];
    }

    private static double Tol(int count) => 2e-6 * (4 + Math.Sqrt(count));

    private static float[] X(int n, int c, int hw) => LabBuffer.NormalValues(n * c * hw, (ulong)(n * c * hw), 2f, 0.5f);

    private static LabCase Forward(int n, int c, int hw, bool training)
    {
        int size = n * c * hw;
        double tol = Tol(n * hw);
        return new LabCase($"{(training ? "train" : "eval")} fwd [{n}, {c}, {hw}]",
            [
                LabBuffer.Floats("x", size, () => X(n, c, hw)),
                LabBuffer.Normal("weight", c, 11, 0.1f, 1f), LabBuffer.Normal("bias", c, 12, 0.1f),
                LabBuffer.Output("y", size, tol), LabBuffer.Output("mean", c, tol), LabBuffer.Output("invStd", c, tol),
                LabBuffer.InOut("runningMean", c, () => LabBuffer.NormalValues(c, 13, 0.1f), tol),
                LabBuffer.InOut("runningVar", c, () => [.. LabBuffer.NormalValues(c, 14, 0.1f).Select(v => 1f + Math.Abs(v))], tol),
            ],
            (b, s) => b.BatchNorm2dForward(s["x"], s["weight"], s["bias"], s["y"], s["mean"], s["invStd"], s["runningMean"], s["runningVar"],
                n, c, hw, Eps, Momentum, training),
            expectKernel: "batchnorm2d_apply");
    }

    private static LabCase Backward(int n, int c, int hw, bool training)
    {
        int size = n * c * hw;
        double tol = Tol(n * hw);
        return new LabCase($"{(training ? "train" : "eval")} bwd [{n}, {c}, {hw}]",
            [
                LabBuffer.Normal("dy", size, (ulong)size + 1), LabBuffer.Floats("x", size, () => X(n, c, hw)),
                LabBuffer.Normal("weight", c, 11, 0.1f, 1f),
                LabBuffer.Floats("mean", c, () => Stats(n, c, hw).Mean), LabBuffer.Floats("invStd", c, () => Stats(n, c, hw).InvStd),
                LabBuffer.Output("dx", size, tol), LabBuffer.Output("dWeight", c, tol), LabBuffer.Output("dBias", c, tol),
            ],
            (b, s) => b.BatchNorm2dBackward(s["dy"], s["x"], s["weight"], s["mean"], s["invStd"], s["dx"], s["dWeight"], s["dBias"], n, c, hw, training),
            expectKernel: "batchnorm2d_bwd_dx");
    }

    /// <summary>The batch statistics of the forward case's x (what a training forward pass hands the backward).</summary>
    private static (float[] Mean, float[] InvStd) Stats(int n, int c, int hw)
    {
        var x = X(n, c, hw);
        float[] mean = new float[c], invStd = new float[c];
        for (int ch = 0; ch < c; ch++)
        {
            double sum = 0, sq = 0;
            for (int i = 0; i < n; i++)
                for (int p = 0; p < hw; p++) sum += x[(i * c + ch) * hw + p];
            double m = sum / (n * hw);
            for (int i = 0; i < n; i++)
                for (int p = 0; p < hw; p++) sq += Math.Pow(x[(i * c + ch) * hw + p] - m, 2);
            mean[ch] = (float)m;
            invStd[ch] = (float)(1 / Math.Sqrt(sq / (n * hw) + Eps));
        }
        return (mean, invStd);
    }
}
