using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using static SerEngine.Backends.Cpu.Conv2dEpilogue;
using static SerEngine.Backends.Cpu.CpuBackend;

namespace SerEngine.Backends.Cpu;

// The transforms of F(4×4, 3×3) for the Winograd driver of Conv2dWinograd.cs (its forward passes with
// 3×3 filters over Conv2dWinograd.LargeTileMinChannels or more input channels): α = 6 points per axis
// (0, 1, −1, 2, −2, ∞), the points of F(2×2, 5×5), so Bᵀ is F25's (TransformB6); a 6×6 input patch per
// 4×4 outputs, 36 multiplies per (output channel, input channel) instead of F(2×2, 3×3)'s 64 for the
// same 16 outputs:
//   G = [¼ 0 0; −⅙ −⅙ −⅙; −⅙ ⅙ −⅙; 1/24 1/12 ⅙; 1/24 −1/12 ⅙; 0 0 1],
//   Aᵀ = [1 1 1 1 1 0; 0 1 −1 2 −2 0; 0 1 1 4 4 0; 0 1 −1 8 −8 1]
// Tiles start 4 columns apart: 8 tiles' column s of a patch row is gathered from two 128-bit loads per
// tile pair and two unpack steps. The backward-weight takes 4×4 tiles too (Conv2dWinograd.WeightTileSize).
internal static partial class Conv2dWinograd
{
    /// <summary>(G x)[i] for F(4, 3)'s G, each the FMA chain over the row's nonzero entries in order, to y[i·<paramref name="pitch"/>].</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void ApplyG43(Vector256<float> x0, Vector256<float> x1, Vector256<float> x2, Vector256<float>* y, int pitch)
    {
        var (y0, y1, y2, y3, y4, y5) = ApplyG43(x0, x1, x2);
        y[0] = y0; y[pitch] = y1; y[2 * pitch] = y2; y[3 * pitch] = y3; y[4 * pitch] = y4; y[5 * pitch] = y5;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void ApplyG43(Vector256<float> x0, Vector256<float> x1, Vector256<float> x2, float* y, long pitch)
    {
        var (y0, y1, y2, y3, y4, y5) = ApplyG43(x0, x1, x2);
        y0.Store(y); y1.Store(y + pitch); y2.Store(y + 2 * pitch); y3.Store(y + 3 * pitch); y4.Store(y + 4 * pitch); y5.Store(y + 5 * pitch);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (Vector256<float>, Vector256<float>, Vector256<float>, Vector256<float>, Vector256<float>, Vector256<float>) ApplyG43(
        Vector256<float> x0, Vector256<float> x1, Vector256<float> x2)
    {
        var zero = Vector256<float>.Zero;
        Vector256<float> sixth = Vector256.Create(1 / 6f), minusSixth = Vector256.Create(-1 / 6f), twelfth = Vector256.Create(1 / 12f);
        Vector256<float> minusTwelfth = Vector256.Create(-1 / 12f), twentyFourth = Vector256.Create(1 / 24f);
        return (Fmadd(Vector256.Create(1 / 4f), x0, zero),
            Fmadd(minusSixth, x2, Fmadd(minusSixth, x1, Fmadd(minusSixth, x0, zero))),
            Fmadd(minusSixth, x2, Fmadd(sixth, x1, Fmadd(minusSixth, x0, zero))),
            Fmadd(sixth, x2, Fmadd(twelfth, x1, Fmadd(twentyFourth, x0, zero))),
            Fmadd(sixth, x2, Fmadd(minusTwelfth, x1, Fmadd(twentyFourth, x0, zero))),
            Fmadd(Vector256.Create(1f), x2, zero));
    }

    /// <summary>
    /// V_ξ (ξ = 6ρ + σ) for 8 consecutive F(4×4, 3×3) tiles of a tile row: p is the padded plane at the first
    /// tile's 6×6 patch (row pitch <paramref name="wp"/>; the loads reach p[35] of each row), v the 8 tiles'
    /// slot in V_0 (V_ξ is <paramref name="xiStride"/> further).
    /// </summary>
    [SkipLocalsInit] // its stack buffers are written before they are read: zeroing them cost more than the transform
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void Input8Tile4(float* p, int wp, float* v, long xiStride)
    {
        var q = stackalloc Vector256<float>[36];
        for (int r = 0; r < 6; r++)
        {
            float* row = p + r * wp;
            // tile t's columns 4t .. 4t + 3 in the 128-bit halves: tiles (0, 4), (1, 5), (2, 6), (3, 7), and (4, 8) for columns 4 and 5
            var a = Vector256.Create(Vector128.Load(row), Vector128.Load(row + 16));
            var b = Vector256.Create(Vector128.Load(row + 4), Vector128.Load(row + 20));
            var c = Vector256.Create(Vector128.Load(row + 8), Vector128.Load(row + 24));
            var d = Vector256.Create(Vector128.Load(row + 12), Vector128.Load(row + 28));
            var e = Vector256.Create(Vector128.Load(row + 16), Vector128.Load(row + 32));
            var (d0, d1, d2, d3) = Columns4(a, b, c, d);
            var (d4, d5, _, _) = Columns4(b, c, d, e);
            TransformB6(d0, d1, d2, d3, d4, d5, q + 6 * r);
        }
        var col = stackalloc Vector256<float>[6];
        for (int sigma = 0; sigma < 6; sigma++)
        {
            TransformB6(q[sigma], q[6 + sigma], q[12 + sigma], q[18 + sigma], q[24 + sigma], q[30 + sigma], col);
            for (int rho = 0; rho < 6; rho++) col[rho].Store(v + (6 * rho + sigma) * xiStride);
        }
    }

    /// <summary>
    /// Columns 0..3 of 8 tiles whose 4 columns lie in the halves of a (tiles 0, 4), b (1, 5), c (2, 6), d (3, 7):
    /// a 4×4 transpose within each 128-bit half.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (Vector256<float>, Vector256<float>, Vector256<float>, Vector256<float>) Columns4(
        Vector256<float> a, Vector256<float> b, Vector256<float> c, Vector256<float> d)
    {
        var abLo = Avx.UnpackLow(a, b).AsDouble();  // a0 b0 a1 b1
        var abHi = Avx.UnpackHigh(a, b).AsDouble(); // a2 b2 a3 b3
        var cdLo = Avx.UnpackLow(c, d).AsDouble();
        var cdHi = Avx.UnpackHigh(c, d).AsDouble();
        return (Avx.UnpackLow(abLo, cdLo).AsSingle(), Avx.UnpackHigh(abLo, cdLo).AsSingle(),
            Avx.UnpackLow(abHi, cdHi).AsSingle(), Avx.UnpackHigh(abHi, cdHi).AsSingle());
    }

    /// <summary>(Aᵀ x)[0..3] for F(4, 3)'s Aᵀ.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void ApplyA46(Vector256<float> x0, Vector256<float> x1, Vector256<float> x2, Vector256<float> x3,
        Vector256<float> x4, Vector256<float> x5, Vector256<float>* y, int pitch)
    {
        Vector256<float> sum12 = x1 + x2, diff12 = x1 - x2, sum34 = x3 + x4, diff34 = x3 - x4;
        y[0] = x0 + sum12 + sum34;
        y[pitch] = Fmadd(Vector256.Create(2f), diff34, diff12);
        y[2 * pitch] = Fmadd(Vector256.Create(4f), sum34, sum12);
        y[3 * pitch] = Fmadd(Vector256.Create(8f), diff34, diff12) + x5;
    }

    /// <summary>
    /// Y = Aᵀ M A + bias (then ReLU when asked) of one F(4×4, 3×3) tile for 8 output channels (m: M_0's lanes of the tile,
    /// M_ξ <paramref name="xiStride"/> further) into y at dst (row pitch <paramref name="outW"/>, channels <paramref name="plane"/> apart):
    /// the first <paramref name="lanes"/> channels, <paramref name="rows"/> rows and <paramref name="cols"/> columns.
    /// </summary>
    [SkipLocalsInit] // its stack buffers are written before they are read: zeroing them cost more than the transform
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void StoreTile4(float* m, long xiStride, Vector256<float> bias, bool relu, float* dst, long plane, int outW, int lanes, int rows, int cols)
    {
        var s = stackalloc Vector256<float>[24];
        var y = stackalloc Vector256<float>[16]; // Y[a, b] at 4a + b
        OutputTile4(m, xiStride, bias, relu, s, y);
        StoreOutput4x4(y, dst, plane, outW, lanes, rows, cols);
    }

    /// <summary>
    /// Y = Aᵀ M A + bias (then ReLU when asked) of one F(4×4, 3×3) tile for 8 output channels into y [16] (Y[a, b] at 4a + b),
    /// through the caller's s [24] ((Aᵀ M)[a, σ] at 6a + σ; the caller allocates both so this inlines).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void OutputTile4(float* m, long xiStride, Vector256<float> bias, bool relu, Vector256<float>* s, Vector256<float>* y)
    {
        for (int sigma = 0; sigma < 6; sigma++)
        {
            float* c = m + sigma * xiStride;
            ApplyA46(Vector256.Load(c), Vector256.Load(c + 6 * xiStride), Vector256.Load(c + 12 * xiStride),
                Vector256.Load(c + 18 * xiStride), Vector256.Load(c + 24 * xiStride), Vector256.Load(c + 30 * xiStride), s + sigma, 6);
        }
        for (int a = 0; a < 4; a++)
        {
            ApplyA46(s[6 * a], s[6 * a + 1], s[6 * a + 2], s[6 * a + 3], s[6 * a + 4], s[6 * a + 5], y + 4 * a, 1);
            for (int b = 0; b < 4; b++) y[4 * a + b] = BiasRelu(y[4 * a + b], bias, relu);
        }
    }

    /// <summary>
    /// A 4×4 output tile of 8 channels (Y[a, b] at y[4a + b], one lane per channel) into y at dst (row pitch
    /// <paramref name="outW"/>, channels <paramref name="plane"/> apart): the first <paramref name="lanes"/> channels,
    /// <paramref name="rows"/> rows and <paramref name="cols"/> columns (F(4×4, 3×3) and F(4×4, 5×5) share it).
    /// </summary>
    [SkipLocalsInit] // the edge tile is written before it is read
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void StoreOutput4x4(Vector256<float>* y, float* dst, long plane, int outW, int lanes, int rows, int cols)
    {
        bool whole = lanes == 8 && rows == 4 && cols == 4;
        var tile = stackalloc float[8 * 16]; // an edge tile: [channel][a][b]
        for (int a = 0; a < 4; a++)
        {
            // 8 channels' row a as four floats each: a 4×4 transpose within each 128-bit half
            var (c0, c1, c2, c3) = Columns4(y[4 * a], y[4 * a + 1], y[4 * a + 2], y[4 * a + 3]);
            float* at = whole ? dst + a * outW : tile + 4 * a;
            long pitch = whole ? plane : 16;
            c0.GetLower().Store(at); c1.GetLower().Store(at + pitch); c2.GetLower().Store(at + 2 * pitch); c3.GetLower().Store(at + 3 * pitch);
            c0.GetUpper().Store(at + 4 * pitch); c1.GetUpper().Store(at + 5 * pitch); c2.GetUpper().Store(at + 6 * pitch); c3.GetUpper().Store(at + 7 * pitch);
        }
        if (whole) return;
        for (int i = 0; i < lanes; i++)
            for (int a = 0; a < rows; a++)
                for (int b = 0; b < cols; b++)
                    dst[i * plane + a * outW + b] = tile[16 * i + 4 * a + b];
    }
}
