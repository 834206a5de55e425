using ILGPU;
using ILGPU.Algorithms;

namespace SerEngine.Ilgpu.Kernels;

/// <summary>An operand of binary_blocked: element i reads operand[(i / Inner) % Mid].</summary>
internal readonly record struct BlockIndex(int Inner, int Mid);

/// <summary>The op codes and element count of an elementwise launch.</summary>
internal readonly record struct ElementwiseArgs(int Op, int N, float Alpha);

/// <summary>
/// Binary ops with broadcasting, unary ops and their derivatives, the dropout mask: the twin of
/// kernels/elementwise.cl, same kernels and same variant names (binary_blocked, binary_strided,
/// unary, unary_backward, dropout_mask). Grid-stride loops over the n output elements.
/// Op codes are the <c>BinaryOp</c> / <c>UnaryOp</c> enum values.
/// </summary>
internal static class ElementwiseKernels
{
    private static float Apply(int op, float a, float b) => op switch
    {
        0 => a + b, // Add
        1 => a - b, // Sub
        2 => a * b, // Mul
        _ => a / b, // Div
    };

    /// <summary>binary_blocked: y[i] = a[(i / aInner) % aMid] op b[(i / bInner) % bMid].</summary>
    public static void BinaryBlocked(ArrayView<float> a, BlockIndex ai, ArrayView<float> b, BlockIndex bi,
        ArrayView<float> y, ElementwiseArgs e) // y [n]; may alias a
    {
        for (int i = Grid.GlobalIndex.X; i < e.N; i += Grid.DimX * Group.DimX)
            y[i] = Apply(e.Op, a[i / ai.Inner % ai.Mid], b[i / bi.Inner % bi.Mid]);
    }

    /// <summary>binary_strided: general NumPy broadcasting, per-operand strides over y's (collapsed) dims.</summary>
    public static void BinaryStrided(ArrayView<float> a, ArrayView<float> b, ArrayView<float> y, ElementwiseArgs e,
        Dims8 dims, Dims8 aStrides, Dims8 bStrides) // y [dims]
    {
        for (int i = Grid.GlobalIndex.X; i < e.N; i += Grid.DimX * Group.DimX)
            y[i] = Apply(e.Op, a[Dims8.Offset(i, dims, aStrides)], b[Dims8.Offset(i, dims, bStrides)]);
    }

    /// <summary>unary: y = op(x).</summary>
    public static void Unary(ArrayView<float> x, ArrayView<float> y, ElementwiseArgs e) // x, y [n]; y may alias x
    {
        for (int i = Grid.GlobalIndex.X; i < e.N; i += Grid.DimX * Group.DimX)
        {
            float v = x[i];
            y[i] = e.Op switch
            {
                0 => -v,                              // Neg
                1 => v > 0f ? v : 0f,                 // Relu
                2 => XMath.Tanh(v),                   // Tanh
                3 => 1f / (1f + XMath.Exp(-v)),       // Sigmoid
                4 => XMath.Exp(v),                    // Exp
                5 => XMath.Log(v),                    // Log
                6 => e.Alpha * v,                     // Scale
                7 => v + e.Alpha,                     // AddScalar
                8 => v * v,                           // Square
                _ => XMath.Sqrt(v),                   // Sqrt
            };
        }
    }

    /// <summary>unary_backward: dx = dy · op'(x), from x or y = op(x).</summary>
    public static void UnaryBackward(ArrayView<float> x, ArrayView<float> y, ArrayView<float> dy, ArrayView<float> dx,
        ElementwiseArgs e) // all [n]
    {
        for (int i = Grid.GlobalIndex.X; i < e.N; i += Grid.DimX * Group.DimX)
        {
            float g = dy[i];
            dx[i] = e.Op switch
            {
                0 => -g,
                1 => x[i] > 0f ? g : 0f,
                2 => g * (1f - y[i] * y[i]),
                3 => g * y[i] * (1f - y[i]),
                4 => g * y[i],
                5 => g / x[i],
                6 => e.Alpha * g,
                7 => g,
                8 => 2f * x[i] * g,
                _ => g * 0.5f / y[i],
            };
        }
    }

    /// <summary>
    /// dropout_mask: SplitMix64 finaliser over seed + (i + 1)·golden ratio, the top 24 bits as a
    /// uniform in [0, 1): bit for bit the CPU reference's DropoutUniform, so every backend draws the
    /// same mask. keep = 1 / (1 − p), formed once on the host in float.
    /// </summary>
    public static void DropoutMask(ArrayView<float> mask, int n, float p, float keep, ulong seed) // mask [n]
    {
        for (int i = Grid.GlobalIndex.X; i < n; i += Grid.DimX * Group.DimX)
        {
            ulong z = seed + ((ulong)i + 1UL) * 0x9E3779B97F4A7C15UL;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            z ^= z >> 31;
            float u = (uint)(z >> 40) * (1f / 16777216f);
            mask[i] = u < p ? 0f : keep;
        }
    }
}
