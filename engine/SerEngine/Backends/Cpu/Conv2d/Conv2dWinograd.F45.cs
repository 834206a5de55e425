using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using static SerEngine.Backends.Cpu.Conv2dEpilogue;
using static SerEngine.Backends.Cpu.CpuBackend;

namespace SerEngine.Backends.Cpu;

// The transforms of F(4×4, 5×5) for the per-call 5×5 passes over several images (Conv2dWinograd.F45Driver.cs):
// α = 8 points per axis (0, 1, −1, 2, −2, ½, −½, ∞; Toom-Cook), an 8×8 input patch per 4×4 outputs, 64
// multiplies per (output channel, input channel) for 16 outputs instead of F(2×2, 5×5)'s 144:
//   Bᵀ = [1 0 −21/4 0 21/4 0 −1 0; 0 1 1 −17/4 −17/4 1 1 0; 0 −1 1 17/4 −17/4 −1 1 0;
//         0 ½ ¼ −5/2 −5/4 2 1 0; 0 −½ ¼ 5/2 −5/4 −2 1 0; 0 2 4 −5/2 −5 ½ 1 0; 0 −2 4 5/2 −5 −½ 1 0;
//         0 −1 0 21/4 0 −21/4 0 1]
//   G  = [1 0 0 0 0; −2/9 (1 1 1 1 1); −2/9 (1 −1 1 −1 1); (1/90 1/45 2/45 4/45 8/45);
//         (1/90 −1/45 2/45 −4/45 8/45); (32/45 16/45 8/45 4/45 2/45); (32/45 −16/45 8/45 −4/45 2/45); 0 0 0 0 1]
//   Aᵀ = [1 1 1 1 1 1 1 0; 0 1 −1 2 −2 ½ −½ 0; 0 1 1 4 4 ¼ ¼ 0; 0 1 −1 8 −8 ⅛ −⅛ 1]
// (the first rows of Bᵀ and G negated against the textbook form: the product is the same, the signs simpler).
// The points ±2 and ±½ amplify rounding more than F(2×2, 5×5) does; packed filters (inference) take F(4×4, 5×5) only
// over many input channels (Conv2dWinograd.PackedTileSize; Conv2dWinograd.F45Packed.cs). All transforms are 256-bit:
// the same bits at either width.
internal static partial class Conv2dWinograd
{
    /// <summary>(G x)[0..8) for F(4, 5)'s G, each output the FMA chain over its row's entries in order.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void ApplyG8(Vector256<float> x0, Vector256<float> x1, Vector256<float> x2, Vector256<float> x3, Vector256<float> x4,
        Vector256<float>* y, int pitch)
    {
        var zero = Vector256<float>.Zero;
        Vector256<float> n29 = Vector256.Create(-2 / 9f), p29 = Vector256.Create(2 / 9f);
        Vector256<float> a90 = Vector256.Create(1 / 90f), a45 = Vector256.Create(1 / 45f), m45 = Vector256.Create(-1 / 45f);
        Vector256<float> b45 = Vector256.Create(2 / 45f), c45 = Vector256.Create(4 / 45f), n45 = Vector256.Create(-4 / 45f), d45 = Vector256.Create(8 / 45f);
        Vector256<float> e45 = Vector256.Create(32 / 45f), f45 = Vector256.Create(16 / 45f), g45 = Vector256.Create(-16 / 45f);
        y[0] = x0;
        y[pitch] = Fmadd(n29, x4, Fmadd(n29, x3, Fmadd(n29, x2, Fmadd(n29, x1, Fmadd(n29, x0, zero)))));
        y[2 * pitch] = Fmadd(n29, x4, Fmadd(p29, x3, Fmadd(n29, x2, Fmadd(p29, x1, Fmadd(n29, x0, zero)))));
        y[3 * pitch] = Fmadd(d45, x4, Fmadd(c45, x3, Fmadd(b45, x2, Fmadd(a45, x1, Fmadd(a90, x0, zero)))));
        y[4 * pitch] = Fmadd(d45, x4, Fmadd(n45, x3, Fmadd(b45, x2, Fmadd(m45, x1, Fmadd(a90, x0, zero)))));
        y[5 * pitch] = Fmadd(b45, x4, Fmadd(c45, x3, Fmadd(d45, x2, Fmadd(f45, x1, Fmadd(e45, x0, zero)))));
        y[6 * pitch] = Fmadd(b45, x4, Fmadd(n45, x3, Fmadd(d45, x2, Fmadd(g45, x1, Fmadd(e45, x0, zero)))));
        y[7 * pitch] = x4;
    }

    /// <summary>y[i·pitch] = (Bᵀ x)[i] for F(4, 5)'s Bᵀ (the rows in the file header).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void TransformB8(Vector256<float> x0, Vector256<float> x1, Vector256<float> x2, Vector256<float> x3,
        Vector256<float> x4, Vector256<float> x5, Vector256<float> x6, Vector256<float> x7, Vector256<float>* y, int pitch)
    {
        Vector256<float> c21 = Vector256.Create(21 / 4f), c17 = Vector256.Create(-17 / 4f), c5h = Vector256.Create(-5 / 2f);
        Vector256<float> c5q = Vector256.Create(-5 / 4f), half = Vector256.Create(0.5f), quarter = Vector256.Create(0.25f);
        Vector256<float> two = Vector256.Create(2f), four = Vector256.Create(4f), five = Vector256.Create(-5f);
        y[0] = Fmadd(c21, x4 - x2, x0 - x6);
        var t1 = Fmadd(c17, x4, x2 + x6);
        var t2 = Fmadd(c17, x3, x1 + x5);
        y[pitch] = t1 + t2;
        y[2 * pitch] = t1 - t2;
        var t3 = Fmadd(c5q, x4, Fmadd(quarter, x2, x6));
        var t4 = Fmadd(c5h, x3, Fmadd(half, x1, two * x5));
        y[3 * pitch] = t3 + t4;
        y[4 * pitch] = t3 - t4;
        var t5 = Fmadd(five, x4, Fmadd(four, x2, x6));
        var t6 = Fmadd(c5h, x3, Fmadd(two, x1, half * x5));
        y[5 * pitch] = t5 + t6;
        y[6 * pitch] = t5 - t6;
        y[7 * pitch] = Fmadd(c21, x3 - x5, x7 - x1);
    }

    /// <summary>y[i·pitch] = (Aᵀ x)[i], i &lt; 4, for F(4, 5)'s Aᵀ.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void ApplyA8(Vector256<float> x0, Vector256<float> x1, Vector256<float> x2, Vector256<float> x3,
        Vector256<float> x4, Vector256<float> x5, Vector256<float> x6, Vector256<float> x7, Vector256<float>* y, int pitch)
    {
        Vector256<float> s1 = x1 + x2, d1 = x1 - x2, s2 = x3 + x4, d2 = x3 - x4, s3 = x5 + x6, d3 = x5 - x6;
        y[0] = x0 + s1 + s2 + s3;
        y[pitch] = Fmadd(Vector256.Create(0.5f), d3, Fmadd(Vector256.Create(2f), d2, d1));
        y[2 * pitch] = Fmadd(Vector256.Create(0.25f), s3, Fmadd(Vector256.Create(4f), s2, s1));
        y[3 * pitch] = Fmadd(Vector256.Create(0.125f), d3, Fmadd(Vector256.Create(8f), d2, d1)) + x7;
    }

    /// <summary>
    /// V_ξ (ξ = 8ρ + σ) of 8 consecutive F(4×4, 5×5) tiles of a tile row: p is the padded plane at the first tile's
    /// 8×8 patch (row pitch <paramref name="wp"/>; the loads reach p[35] of each row), v the 8 tiles' slot in V_0
    /// (V_ξ <paramref name="xiStride"/> further).
    /// </summary>
    [SkipLocalsInit] // its stack buffers are written before they are read
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void Input8Alpha8(float* p, int wp, float* v, long xiStride)
    {
        var q = stackalloc Vector256<float>[64]; // (d B)[r, σ] at 8r + σ
        for (int r = 0; r < 8; r++)
        {
            float* row = p + r * wp;
            // tile t's columns 4t .. 4t + 3 in the 128-bit halves: tiles (0, 4), (1, 5), (2, 6), (3, 7), and (4, 8) for columns 4..7
            var a = Vector256.Create(Vector128.Load(row), Vector128.Load(row + 16));
            var b = Vector256.Create(Vector128.Load(row + 4), Vector128.Load(row + 20));
            var c = Vector256.Create(Vector128.Load(row + 8), Vector128.Load(row + 24));
            var d = Vector256.Create(Vector128.Load(row + 12), Vector128.Load(row + 28));
            var e = Vector256.Create(Vector128.Load(row + 16), Vector128.Load(row + 32));
            var (d0, d1, d2, d3) = Columns4(a, b, c, d);
            var (d4, d5, d6, d7) = Columns4(b, c, d, e);
            TransformB8(d0, d1, d2, d3, d4, d5, d6, d7, q + 8 * r, 1);
        }
        var col = stackalloc Vector256<float>[8];
        for (int sigma = 0; sigma < 8; sigma++)
        {
            TransformB8(q[sigma], q[8 + sigma], q[16 + sigma], q[24 + sigma], q[32 + sigma], q[40 + sigma], q[48 + sigma], q[56 + sigma], col, 1);
            for (int rho = 0; rho < 8; rho++) col[rho].Store(v + (8 * rho + sigma) * xiStride);
        }
    }

    /// <summary>
    /// Y = Aᵀ M A + bias (then ReLU when asked) of one F(4×4, 5×5) tile for 8 output channels (m: M_0's lanes of the tile,
    /// M_ξ <paramref name="xiStride"/> further) into y at dst (row pitch <paramref name="outW"/>, channels <paramref name="plane"/> apart):
    /// the first <paramref name="lanes"/> channels, <paramref name="rows"/> rows and <paramref name="cols"/> columns.
    /// </summary>
    [SkipLocalsInit] // its stack buffers are written before they are read
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void StoreTileAlpha8(float* m, long xiStride, Vector256<float> bias, bool relu, float* dst, long plane, int outW, int lanes, int rows, int cols)
    {
        var s = stackalloc Vector256<float>[32]; // (Aᵀ M)[a, σ] at 8a + σ
        for (int sigma = 0; sigma < 8; sigma++)
        {
            float* c = m + sigma * xiStride;
            ApplyA8(Vector256.Load(c), Vector256.Load(c + 8 * xiStride), Vector256.Load(c + 16 * xiStride), Vector256.Load(c + 24 * xiStride),
                Vector256.Load(c + 32 * xiStride), Vector256.Load(c + 40 * xiStride), Vector256.Load(c + 48 * xiStride), Vector256.Load(c + 56 * xiStride), s + sigma, 8);
        }
        var y = stackalloc Vector256<float>[16]; // Y[a, b] at 4a + b
        for (int a = 0; a < 4; a++)
        {
            ApplyA8(s[8 * a], s[8 * a + 1], s[8 * a + 2], s[8 * a + 3], s[8 * a + 4], s[8 * a + 5], s[8 * a + 6], s[8 * a + 7], y + 4 * a, 1);
            for (int b = 0; b < 4; b++) y[4 * a + b] = BiasRelu(y[4 * a + b], bias, relu);
        }
        StoreOutput4x4(y, dst, plane, outW, lanes, rows, cols);
    }
}
