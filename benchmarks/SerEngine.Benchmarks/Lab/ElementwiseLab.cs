using SerEngine.Backends;

namespace SerEngine.Benchmarks.Lab;

/// <summary>
/// kernels/elementwise.cl: Binary with NumPy broadcasting — binary_blocked (every operand one
/// contiguous run of y's dims: same shape, scalar, row, column, channel bias) and binary_strided
/// (general broadcasting), which the launch code picks from the shapes, so each check pins the kernel —
/// and unary / unary_backward for every UnaryOp.
/// </summary>
public sealed class ElementwiseLab : LabOp
{
    /// <inheritdoc/>
    public override string Name => "elementwise";

    /// <inheritdoc/>
    public override IReadOnlyList<LabVariant> Variants(bool quick)
    {
        int n = quick ? 4 : 32;
        int[] big = [n, 64, 26, 63];
        int size = new Shape(big).Size;
        int[] lengths = quick ? [1, 4099] : [1, 7, 256, 4099, 100_003];
        return
        [
            new LabVariant("binary_blocked",
                [
                    Binary(BinaryOp.Add, [3, 5, 7], [3, 5, 7], "binary_blocked"),
                    Binary(BinaryOp.Mul, [4, 5], [1], "binary_blocked"),
                    Binary(BinaryOp.Sub, [33, 65], [65], "binary_blocked"),
                    Binary(BinaryOp.Div, [33, 65], [33, 1], "binary_blocked"),
                    Binary(BinaryOp.Add, [2, 7, 5, 3], [1, 7, 1, 1], "binary_blocked"),
                    Binary(BinaryOp.Sub, [1, 7, 1, 1], [2, 7, 5, 3], "binary_blocked"),
                    Binary(BinaryOp.Mul, [3, 130, 70], [130, 1], "binary_blocked"),
                    Binary(BinaryOp.Div, [1], [1], "binary_blocked"),
                ],
                [Binary(BinaryOp.Add, big, [1, 64, 1, 1], "binary_blocked"), Binary(BinaryOp.Add, big, big, "binary_blocked")]),
            new LabVariant("binary_strided",
                [
                    Binary(BinaryOp.Add, [3, 1, 5], [1, 4, 1], "binary_strided"),
                    Binary(BinaryOp.Mul, [2, 3, 4], [2, 1, 4], "binary_strided"),
                    Binary(BinaryOp.Div, [4, 1, 6, 1], [1, 5, 1, 3], "binary_strided"),
                    Binary(BinaryOp.Sub, [3, 33, 1, 65], [3, 1, 17, 65], "binary_strided"),
                ],
                [Binary(BinaryOp.Mul, big, [n, 1, 26, 63], "binary_strided")]),
            new LabVariant("unary",
                [
                    .. Enum.GetValues<UnaryOp>().SelectMany(op => lengths.SelectMany(len => new[] { Unary(op, len, backward: false), Unary(op, len, backward: true) })),
                ],
                [Unary(UnaryOp.Relu, size, backward: false), Unary(UnaryOp.Tanh, size, backward: false), Unary(UnaryOp.Tanh, size, backward: true)]),
        ];
    }

    /// <summary>y = a op b; b is kept away from 0 so division is tame.</summary>
    private static LabCase Binary(BinaryOp op, int[] aDims, int[] bDims, string kernel)
    {
        var (a, b) = (new Shape(aDims), new Shape(bDims));
        var y = Shape.Broadcast(a, b);
        return new LabCase($"{op} {a} {b}",
            [
                LabBuffer.Normal("a", a.Size, (ulong)(a.Size * 7 + b.Size)),
                LabBuffer.Normal("b", b.Size, (ulong)(a.Size + b.Size * 13), 1f, 3f),
                LabBuffer.Output("y", y.Size, 1e-6),
            ],
            (be, s) => be.Binary(op, s["a"], a, s["b"], b, s["y"], y), expectKernel: kernel);
    }

    /// <summary>y = op(x), or dx = dy·op'(x) given x and y = op(x) (computed on the host).</summary>
    private static LabCase Unary(UnaryOp op, int n, bool backward)
    {
        const float alpha = 0.75f;
        bool positive = op is UnaryOp.Log or UnaryOp.Sqrt;
        float[] X() => [.. LabBuffer.NormalValues(n, (ulong)(n * 17) + (ulong)op).Select(v => positive ? Math.Abs(v) + 0.05f : v)];
        // e^x and tanh/sigmoid: a few ulps apart between the device's libm and .NET's
        double tol = op is UnaryOp.Exp or UnaryOp.Tanh or UnaryOp.Sigmoid or UnaryOp.Log ? 4e-6 : 1e-6;
        if (!backward)
        {
            return new LabCase($"fwd {op} n={n}", [LabBuffer.Floats("x", n, X), LabBuffer.Output("y", n, tol)],
                (b, s) => b.Unary(op, s["x"], s["y"], n, alpha), expectKernel: "unary");
        }
        return new LabCase($"bwd {op} n={n}",
            [
                LabBuffer.Floats("x", n, X), LabBuffer.Floats("y", n, () => [.. X().Select(v => Apply(op, v, alpha))]),
                LabBuffer.Normal("dy", n, (ulong)n + 99), LabBuffer.Output("dx", n, tol),
            ],
            (b, s) => b.UnaryBackward(op, s["x"], s["y"], s["dy"], s["dx"], n, alpha),
            bytes: 4.0 * 3 * n, // dy and one of x / y in, dx out
            expectKernel: "unary_backward");
    }

    private static float Apply(UnaryOp op, float x, float alpha) => op switch
    {
        UnaryOp.Neg => -x,
        UnaryOp.Relu => Math.Max(x, 0f),
        UnaryOp.Tanh => MathF.Tanh(x),
        UnaryOp.Sigmoid => 1f / (1f + MathF.Exp(-x)),
        UnaryOp.Exp => MathF.Exp(x),
        UnaryOp.Log => MathF.Log(x),
        UnaryOp.Scale => alpha * x,
        UnaryOp.AddScalar => x + alpha,
        UnaryOp.Square => x * x,
        UnaryOp.Sqrt => MathF.Sqrt(x),
        _ => throw new ArgumentOutOfRangeException(nameof(op), op, null),
    };
}
