using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using static SerEngine.Backends.Cpu.Conv2dEpilogue;
using static SerEngine.Backends.Cpu.CpuBackend;

namespace SerEngine.Backends.Cpu;

// The transforms of F(2×2, 5×5) for the Winograd driver of Conv2dWinograd.cs: α = 6 points
// per axis (0, 1, −1, 2, −2, ∞; Toom-Cook, as in Lavin & Gray), a 6×6 input patch per 2×2 outputs,
// 36 multiplies per (output channel, input channel) instead of 100:
//   Bᵀ = [4 0 −5 0 1 0; 0 −4 −4 1 1 0; 0 4 −4 −1 1 0; 0 −2 −1 2 1 0; 0 2 −1 −2 1 0; 0 4 0 −5 0 1]
//   G  = [1/4 0 0 0 0; −1/6 −1/6 −1/6 −1/6 −1/6; −1/6 1/6 −1/6 1/6 −1/6;
//         1/24 1/12 1/6 1/3 2/3; 1/24 −1/12 1/6 −1/3 2/3; 0 0 0 0 1]
//   Aᵀ = [1 1 1 1 1 0; 0 1 −1 2 −2 1]
// The larger points (±2) amplify rounding more than F(2×2, 3×3) does (CpuFastConv2dWinogradTests bounds
// both; the measured errors are in benchmarks/results).
internal static partial class Conv2dWinograd
{
    /// <summary>G of F(2, 5) [6, 5] (rows: the points 0, 1, −1, 2, −2, ∞).</summary>
    private static readonly float[] G5 =
    [
        1 / 4f, 0, 0, 0, 0,
        -1 / 6f, -1 / 6f, -1 / 6f, -1 / 6f, -1 / 6f,
        -1 / 6f, 1 / 6f, -1 / 6f, 1 / 6f, -1 / 6f,
        1 / 24f, 1 / 12f, 1 / 6f, 1 / 3f, 2 / 3f,
        1 / 24f, -1 / 12f, 1 / 6f, -1 / 3f, 2 / 3f,
        0, 0, 0, 0, 1,
    ];

    /// <summary>(G x)[i] for F(2, 5)'s G (rows of <see cref="G5"/>), each the FMA chain over the row's nonzero entries in order, to y[i·<paramref name="pitch"/>].</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void ApplyG5(Vector256<float> x0, Vector256<float> x1, Vector256<float> x2, Vector256<float> x3, Vector256<float> x4, Vector256<float>* y, int pitch)
    {
        var (y0, y1, y2, y3, y4, y5) = ApplyG5(x0, x1, x2, x3, x4);
        y[0] = y0; y[pitch] = y1; y[2 * pitch] = y2; y[3 * pitch] = y3; y[4 * pitch] = y4; y[5 * pitch] = y5;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void ApplyG5(Vector256<float> x0, Vector256<float> x1, Vector256<float> x2, Vector256<float> x3, Vector256<float> x4, float* y, long pitch)
    {
        var (y0, y1, y2, y3, y4, y5) = ApplyG5(x0, x1, x2, x3, x4);
        y0.Store(y); y1.Store(y + pitch); y2.Store(y + 2 * pitch); y3.Store(y + 3 * pitch); y4.Store(y + 4 * pitch); y5.Store(y + 5 * pitch);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (Vector256<float>, Vector256<float>, Vector256<float>, Vector256<float>, Vector256<float>, Vector256<float>) ApplyG5(
        Vector256<float> x0, Vector256<float> x1, Vector256<float> x2, Vector256<float> x3, Vector256<float> x4)
    {
        var zero = Vector256<float>.Zero;
        Vector256<float> sixth = Vector256.Create(1 / 6f), minusSixth = Vector256.Create(-1 / 6f), twelfth = Vector256.Create(1 / 12f);
        Vector256<float> minusTwelfth = Vector256.Create(-1 / 12f), third = Vector256.Create(1 / 3f), minusThird = Vector256.Create(-1 / 3f);
        Vector256<float> twentyFourth = Vector256.Create(1 / 24f), twoThirds = Vector256.Create(2 / 3f);
        return (Fmadd(Vector256.Create(1 / 4f), x0, zero),
            Fmadd(minusSixth, x4, Fmadd(minusSixth, x3, Fmadd(minusSixth, x2, Fmadd(minusSixth, x1, Fmadd(minusSixth, x0, zero))))),
            Fmadd(minusSixth, x4, Fmadd(sixth, x3, Fmadd(minusSixth, x2, Fmadd(sixth, x1, Fmadd(minusSixth, x0, zero))))),
            Fmadd(twoThirds, x4, Fmadd(third, x3, Fmadd(sixth, x2, Fmadd(twelfth, x1, Fmadd(twentyFourth, x0, zero))))),
            Fmadd(twoThirds, x4, Fmadd(minusThird, x3, Fmadd(sixth, x2, Fmadd(minusTwelfth, x1, Fmadd(twentyFourth, x0, zero))))),
            Fmadd(Vector256.Create(1f), x4, zero));
    }

    /// <summary>
    /// V_ξ (ξ = 6ρ + σ) for 8 consecutive tiles of a tile row: p is the padded plane at the first
    /// tile's 6×6 patch (row pitch <paramref name="wp"/>), v the 8 tiles' slot in V_0 (V_ξ is
    /// <paramref name="xiStride"/> further).
    /// </summary>
    [SkipLocalsInit] // its stack buffers are written before they are read: zeroing them cost more than the transform
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void Input8Alpha6(float* p, int wp, float* v, long xiStride)
    {
        // q[r, ·] = Bᵀ applied to patch row r (columns 0..5 of 8 tiles: the even and odd columns from
        // the tiles' start, from two and from four columns on), then V[·, σ] = Bᵀ applied to column σ of q
        var q = stackalloc Vector256<float>[36];
        for (int r = 0; r < 6; r++)
        {
            float* row = p + r * wp;
            var (d0, d1) = Deinterleave(row);
            var (d2, d3) = Deinterleave(row + 2);
            var (d4, d5) = Deinterleave(row + 4);
            TransformB6(d0, d1, d2, d3, d4, d5, q + 6 * r);
        }
        var col = stackalloc Vector256<float>[6];
        for (int sigma = 0; sigma < 6; sigma++)
        {
            TransformB6(q[sigma], q[6 + sigma], q[12 + sigma], q[18 + sigma], q[24 + sigma], q[30 + sigma], col);
            for (int rho = 0; rho < 6; rho++) col[rho].Store(v + (6 * rho + sigma) * xiStride);
        }
    }

    /// <summary>y[i] = (Bᵀ x)[i] for F(2, 5)'s Bᵀ (the rows in the file header).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void TransformB6(Vector256<float> x0, Vector256<float> x1, Vector256<float> x2, Vector256<float> x3,
        Vector256<float> x4, Vector256<float> x5, Vector256<float>* y)
    {
        var four = Vector256.Create(4f);
        var five = Vector256.Create(5f);
        var x4m2 = x4 - x2;                                   // common to rows 1..4
        y[0] = Fmadd(four, x0, x4) - five * x2;               // 4x0 − 5x2 + x4
        var a = four * (x1 + x2);                             // rows 1, 2: ∓4x1 − 4x2 ± x3 + x4
        var b = four * x1;
        y[1] = x3 + x4 - a;
        y[2] = b - four * x2 - x3 + x4;
        var c = (x3 - x1) * Vector256.Create(2f);             // rows 3, 4: ±2(x3 − x1) − x2 + x4
        y[3] = c + x4m2;
        y[4] = x4m2 - c;
        y[5] = Fmadd(four, x1, x5) - five * x3;      // 4x1 − 5x3 + x5
    }

    /// <summary>
    /// Y = Aᵀ M A + bias (then ReLU when asked) for 8 output channels of one F(2×2, 5×5) tile: m is
    /// M_0's 8 lanes of the tile, M_ξ <paramref name="xiStride"/> further; y_ab is the output at row a,
    /// column b of the tile.
    /// </summary>
    [SkipLocalsInit] // its stack buffers are written before they are read: zeroing them cost more than the transform
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void Output8Alpha6(float* m, long xiStride, Vector256<float> bias, bool relu,
        out Vector256<float> y00, out Vector256<float> y01, out Vector256<float> y10, out Vector256<float> y11)
    {
        // s_a[σ] = (Aᵀ M)[a, σ] column by column, then Y[a, b] = (s_a A)[b]
        var s0 = stackalloc Vector256<float>[6];
        var s1 = stackalloc Vector256<float>[6];
        for (int sigma = 0; sigma < 6; sigma++)
        {
            float* c = m + sigma * xiStride;
            Vector256<float> m0 = Vector256.Load(c), m1 = Vector256.Load(c + 6 * xiStride), m2 = Vector256.Load(c + 12 * xiStride);
            Vector256<float> m3 = Vector256.Load(c + 18 * xiStride), m4 = Vector256.Load(c + 24 * xiStride), m5 = Vector256.Load(c + 30 * xiStride);
            (s0[sigma], s1[sigma]) = ApplyA6(m0, m1, m2, m3, m4, m5);
        }
        var (a00, a01) = ApplyA6(s0[0], s0[1], s0[2], s0[3], s0[4], s0[5]);
        var (a10, a11) = ApplyA6(s1[0], s1[1], s1[2], s1[3], s1[4], s1[5]);
        y00 = BiasRelu(a00, bias, relu);
        y01 = BiasRelu(a01, bias, relu);
        y10 = BiasRelu(a10, bias, relu);
        y11 = BiasRelu(a11, bias, relu);
    }

    /// <summary>(Aᵀ x)[0], (Aᵀ x)[1] for F(2, 5)'s Aᵀ: x0 + x1 + x2 + x3 + x4 and x1 − x2 + 2(x3 − x4) + x5.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (Vector256<float>, Vector256<float>) ApplyA6(Vector256<float> x0, Vector256<float> x1, Vector256<float> x2,
        Vector256<float> x3, Vector256<float> x4, Vector256<float> x5) =>
        (x0 + x1 + x2 + x3 + x4, Fmadd(Vector256.Create(2f), x3 - x4, x1 - x2 + x5));
}
