using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using static SerEngine.Backends.Cpu.Conv2dEpilogue;
using static SerEngine.Backends.Cpu.CpuBackend;

namespace SerEngine.Backends.Cpu;

// The transforms of F(2×2, 3×3) for the Winograd driver of Conv2dWinograd.cs: α = 4 points per axis
// (0, 1, −1, ∞), a 4×4 input patch per 2×2 outputs, 16 multiplies per (output channel, input
// channel) instead of 36:
//   Bᵀ = [1 0 −1 0; 0 1 1 0; 0 −1 1 0; 0 1 0 −1],  G = [1 0 0; ½ ½ ½; ½ −½ ½; 0 0 1],  Aᵀ = [1 1 1 0; 0 1 −1 −1]
internal static partial class Conv2dWinograd
{
    /// <summary>G of F(2, 3) [4, 3] (rows: the points 0, 1, −1, ∞).</summary>
    private static readonly float[] G3 = [1, 0, 0, 0.5f, 0.5f, 0.5f, 0.5f, -0.5f, 0.5f, 0, 0, 1];

    /// <summary>
    /// (G x)[i] for F(2, 3)'s G (rows of <see cref="G3"/>), each the FMA chain over the row's nonzero entries in order,
    /// to y[i·<paramref name="pitch"/>] (a vector pointer: G·g into registers' slots; a float pointer: panels in memory).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void ApplyG3(Vector256<float> x0, Vector256<float> x1, Vector256<float> x2, Vector256<float>* y, int pitch)
    {
        var (y0, y1, y2, y3) = ApplyG3(x0, x1, x2);
        y[0] = y0; y[pitch] = y1; y[2 * pitch] = y2; y[3 * pitch] = y3;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void ApplyG3(Vector256<float> x0, Vector256<float> x1, Vector256<float> x2, float* y, long pitch)
    {
        var (y0, y1, y2, y3) = ApplyG3(x0, x1, x2);
        y0.Store(y); y1.Store(y + pitch); y2.Store(y + 2 * pitch); y3.Store(y + 3 * pitch);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (Vector256<float>, Vector256<float>, Vector256<float>, Vector256<float>) ApplyG3(Vector256<float> x0, Vector256<float> x1, Vector256<float> x2)
    {
        Vector256<float> zero = Vector256<float>.Zero, one = Vector256.Create(1f), half = Vector256.Create(0.5f), minusHalf = Vector256.Create(-0.5f);
        return (Fmadd(one, x0, zero),
            Fmadd(half, x2, Fmadd(half, x1, Fmadd(half, x0, zero))),
            Fmadd(half, x2, Fmadd(minusHalf, x1, Fmadd(half, x0, zero))),
            Fmadd(one, x2, zero));
    }

    /// <summary>
    /// V_ξ for 8 consecutive tiles of a tile row: p is the padded plane at the first tile's patch
    /// (row pitch <paramref name="wp"/>), v the 8 tiles' slot in V_0 (V_ξ is <paramref name="xiStride"/> further).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void Input8(float* p, int wp, float* v, long xiStride) =>
        InputTransform(new TileRows(), p, wp, v, xiStride);

    /// <summary>The rows q_r = (d B)[r, ·] of a 4×4 patch group, 8 lanes wide; how the lanes lie in memory is the implementation's.</summary>
    private interface IInputRows
    {
        /// <summary>(d B)[r, ·] of the patch row starting at p: d0 − d2, d1 + d2, d2 − d1, d1 − d3 with d_s its column s.</summary>
        unsafe (Vector256<float>, Vector256<float>, Vector256<float>, Vector256<float>) Row(float* p);
    }

    /// <summary>8 consecutive tiles of a padded plane in the lanes (<see cref="InputRow"/>).</summary>
    private readonly struct TileRows : IInputRows
    {
        public unsafe (Vector256<float>, Vector256<float>, Vector256<float>, Vector256<float>) Row(float* p) => InputRow(p);
    }

    /// <summary>
    /// V = Bᵀ q for one patch group whose rows <paramref name="rows"/> reads from p, p + rowStride, …: V_ξ to
    /// v + ξ·<paramref name="xiStride"/>. Row 3 is read after rows 0–2 are stored, so 16 vectors at most are live.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void InputTransform<TRows>(TRows rows, float* p, long rowStride, float* v, long xiStride)
        where TRows : struct, IInputRows
    {
        var (q00, q01, q02, q03) = rows.Row(p);
        var (q10, q11, q12, q13) = rows.Row(p + rowStride);
        var (q20, q21, q22, q23) = rows.Row(p + 2 * rowStride);
        (q00 - q20).Store(v);
        (q01 - q21).Store(v + xiStride);
        (q02 - q22).Store(v + 2 * xiStride);
        (q03 - q23).Store(v + 3 * xiStride);
        (q10 + q20).Store(v + 4 * xiStride);
        (q11 + q21).Store(v + 5 * xiStride);
        (q12 + q22).Store(v + 6 * xiStride);
        (q13 + q23).Store(v + 7 * xiStride);
        (q20 - q10).Store(v + 8 * xiStride);
        (q21 - q11).Store(v + 9 * xiStride);
        (q22 - q12).Store(v + 10 * xiStride);
        (q23 - q13).Store(v + 11 * xiStride);
        var (q30, q31, q32, q33) = rows.Row(p + 3 * rowStride);
        (q10 - q30).Store(v + 12 * xiStride);
        (q11 - q31).Store(v + 13 * xiStride);
        (q12 - q32).Store(v + 14 * xiStride);
        (q13 - q33).Store(v + 15 * xiStride);
    }

    /// <summary>(d B)[r, ·] of 8 tiles' patch row r starting at p: d0 − d2, d1 + d2, d2 − d1, d1 − d3 with d_s their column s.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe (Vector256<float>, Vector256<float>, Vector256<float>, Vector256<float>) InputRow(float* p)
    {
        var (d0, d1) = Deinterleave(p);
        var (d2, d3) = Deinterleave(p + 2);
        return (d0 - d2, d1 + d2, d2 - d1, d1 - d3);
    }

    /// <summary>
    /// Y = Aᵀ M A + bias (then ReLU when asked) for 8 output channels of one tile: m is M_0's 8 lanes of
    /// the tile, M_ξ <paramref name="xiStride"/> further; y_ab is the output at row a, column b of the tile.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void Output8(float* m, long xiStride, Vector256<float> bias, bool relu,
        out Vector256<float> y00, out Vector256<float> y01, out Vector256<float> y10, out Vector256<float> y11)
    {
        // s_a[σ] = (Aᵀ M)[a, σ] column by column, then Y[a, b] = (s_a A)[b]
        float* m4 = m + 4 * xiStride, m8 = m + 8 * xiStride, m12 = m + 12 * xiStride;
        Vector256<float> m0 = Vector256.Load(m), m1 = Vector256.Load(m4), m2 = Vector256.Load(m8), m3 = Vector256.Load(m12);
        Vector256<float> s00 = m0 + m1 + m2, s10 = m1 - m2 - m3;
        m0 = Vector256.Load(m + xiStride); m1 = Vector256.Load(m4 + xiStride); m2 = Vector256.Load(m8 + xiStride); m3 = Vector256.Load(m12 + xiStride);
        Vector256<float> s01 = m0 + m1 + m2, s11 = m1 - m2 - m3;
        m0 = Vector256.Load(m + 2 * xiStride); m1 = Vector256.Load(m4 + 2 * xiStride); m2 = Vector256.Load(m8 + 2 * xiStride); m3 = Vector256.Load(m12 + 2 * xiStride);
        Vector256<float> s02 = m0 + m1 + m2, s12 = m1 - m2 - m3;
        m0 = Vector256.Load(m + 3 * xiStride); m1 = Vector256.Load(m4 + 3 * xiStride); m2 = Vector256.Load(m8 + 3 * xiStride); m3 = Vector256.Load(m12 + 3 * xiStride);
        Vector256<float> s03 = m0 + m1 + m2, s13 = m1 - m2 - m3;
        y00 = BiasRelu(s00 + s01 + s02, bias, relu);
        y01 = BiasRelu(s01 - s02 - s03, bias, relu);
        y10 = BiasRelu(s10 + s11 + s12, bias, relu);
        y11 = BiasRelu(s11 - s12 - s13, bias, relu);
    }
}
