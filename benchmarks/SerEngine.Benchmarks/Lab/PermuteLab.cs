using SerEngine.Backends;

namespace SerEngine.Benchmarks.Lab;

/// <summary>
/// kernels/permute.cl: Permute through strided_gather (Float32 and Int32 words), after the launch
/// code has dropped size-1 dims and merged dims that stay contiguous.
/// </summary>
public sealed class PermuteLab : LabOp
{
    /// <inheritdoc/>
    public override string Name => "permute";

    /// <inheritdoc/>
    public override IReadOnlyList<LabVariant> Variants(bool quick)
    {
        int n = quick ? 4 : 32;
        return
        [
            new LabVariant("strided_gather",
                [
                    Case([2, 3, 4, 5], [0, 2, 1, 3]), Case([2, 3, 4, 5], [3, 2, 1, 0]), Case([33, 65], [1, 0]),
                    Case([1, 7, 1, 9], [2, 3, 0, 1]), Case([2, 3, 4, 5, 6], [4, 0, 3, 1, 2]), Case([3, 129, 2, 67], [0, 2, 1, 3]),
                    Case([5, 7], [1, 0], ints: true),
                ],
                [Case([n, 128, 4, 64], [0, 2, 1, 3]), Case([n, 64, 26, 63], [0, 2, 3, 1])]),
        ];
    }

    private static LabCase Case(int[] xDims, int[] perm, bool ints = false)
    {
        var x = new Shape(xDims);
        int size = x.Size;
        LabBuffer input = ints
            ? LabBuffer.Ints("x", size, () => [.. Enumerable.Range(0, size).Select(i => i * 7919 - 5)])
            : LabBuffer.Normal("x", size, (ulong)size);
        LabBuffer output = ints ? LabBuffer.IntOutput("y", size) : LabBuffer.Output("y", size, 0); // a copy: exact
        return new LabCase($"{x} ({string.Join(",", perm)}){(ints ? " int32" : "")}", [input, output],
            (b, s) => b.Permute(s["x"], x, perm, s["y"]), expectKernel: "strided_gather");
    }
}
