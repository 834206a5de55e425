using SerEngine.Backends;

namespace SerEngine.Benchmarks.Lab;

/// <summary>
/// kernels/reduce.cl: SumTo, x summed down to a shape whose dims equal x's or are 1. The launch code
/// picks the kernel from the pattern (sum_rows for leading rows or everything, sum_to_group when each
/// output sums ≥ 64 inputs, else sum_to_naive), so each check pins the kernel it expects.
/// </summary>
public sealed class SumToLab : LabOp
{
    /// <inheritdoc/>
    public override string Name => "sumto";

    /// <inheritdoc/>
    public override IReadOnlyList<LabVariant> Variants(bool quick)
    {
        int n = quick ? 4 : 32;
        return
        [
            new LabVariant("sum_rows",
                [
                    Case([7], [1], "sum_rows"), Case([5000], [1], "sum_rows"), Case([33, 65], [1, 65], "sum_rows"),
                    Case([1000, 3], [1, 3], "sum_rows"), Case([2, 3, 40], [1, 1, 40], "sum_rows"), Case([4100, 37], [1, 37], "sum_rows"),
                ],
                [Case([n * 128, 256], [1, 256], "sum_rows"), Case([n * 32768], [1], "sum_rows")]),
            new LabVariant("sum_to_group",
                [
                    Case([3, 5, 64], [1, 5, 1], "sum_to_group"), Case([2, 7, 9, 11], [1, 7, 1, 1], "sum_to_group"),
                    Case([5, 300], [5, 1], "sum_to_group"), Case([1, 3, 1000, 2], [1, 3, 1, 1], "sum_to_group"),
                ],
                [Case([n, 64, 26, 63], [1, 64, 1, 1], "sum_to_group")]),
            new LabVariant("sum_to_naive",
                [
                    Case([4, 5, 7], [4, 1, 7], "sum_to_naive"), Case([6, 10], [6, 1], "sum_to_naive"),
                    Case([3, 4, 5, 6], [3, 1, 5, 1], "sum_to_naive"), Case([300, 2, 3], [300, 1, 3], "sum_to_naive"),
                ],
                [Case([n * 128, 16, 32], [n * 128, 1, 32], "sum_to_naive")]),
        ];
    }

    private static LabCase Case(int[] xDims, int[] yDims, string kernel)
    {
        var (x, y) = (new Shape(xDims), new Shape(yDims));
        int count = x.Size / Math.Max(1, y.Size);
        // tree and chunked sums in float against the reference's: error grows like √count
        double tol = 1e-6 * (4 + Math.Sqrt(count));
        return new LabCase($"{x} → {y}", [LabBuffer.Normal("x", x.Size, (ulong)x.Size), LabBuffer.Output("y", y.Size, tol)],
            (b, s) => b.SumTo(s["x"], x, s["y"], y), expectKernel: kernel);
    }
}
