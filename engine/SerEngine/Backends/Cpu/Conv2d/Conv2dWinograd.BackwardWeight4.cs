using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using static SerEngine.Backends.Cpu.CpuBackend;

namespace SerEngine.Backends.Cpu;

// The backward-weight of Conv2dWinograd.BackwardWeight.cs on 4×4 tiles (Conv2dWinograd.WeightTileSize): F(4×4, 3×3)
// (α = 6) and F(4×4, 5×5) (α = 8) with the forward's transforms, so per (k, c, tile) 36 or 64 multiply-adds
// of the GEMM serve 16 outputs of dy instead of 16 or 36 serving 4:
//   V  = Bᵀ d B          the forward's input transforms of x (Input8Tile4, Input8Alpha8)
//   dM = A dY Aᵀ         dY the 4×4 block of dy under a tile; A = (Aᵀ)ᵀ of F(4, 3) (rows: the points 0, 1, −1, 2, −2, ∞)
//                        or of F(4, 5) (0, 1, −1, 2, −2, ½, −½, ∞): the adjoint of the forward's output transform
//   dw = Gᵀ dU G         G of F(4, 3) [6, 3] or F(4, 5) [8, 5], the forward's filter transforms (ApplyG43, ApplyG8)
// The banded driver (Conv2dWinograd.BackwardWeight.cs) or the batch-wide one (Conv2dWinograd.BackwardWeightBatched.cs) runs them
// with the 2×2 tiles' GEMM and FMA chains; every transform here is 256-bit.
internal static partial class Conv2dWinograd
{
    /// <summary>G of F(4, 3) [6, 3] (rows: the points 0, 1, −1, 2, −2, ∞), as <see cref="ApplyG43(Vector256{float}, Vector256{float}, Vector256{float})"/> applies it.</summary>
    private static readonly float[] G43 =
    [
        1 / 4f, 0, 0,
        -1 / 6f, -1 / 6f, -1 / 6f,
        -1 / 6f, 1 / 6f, -1 / 6f,
        1 / 24f, 1 / 12f, 1 / 6f,
        1 / 24f, -1 / 12f, 1 / 6f,
        0, 0, 1,
    ];

    /// <summary>G of F(4, 5) [8, 5] (rows: the points 0, 1, −1, 2, −2, ½, −½, ∞), as <see cref="ApplyG8"/> applies it.</summary>
    private static readonly float[] G45 =
    [
        1, 0, 0, 0, 0,
        -2 / 9f, -2 / 9f, -2 / 9f, -2 / 9f, -2 / 9f,
        -2 / 9f, 2 / 9f, -2 / 9f, 2 / 9f, -2 / 9f,
        1 / 90f, 1 / 45f, 2 / 45f, 4 / 45f, 8 / 45f,
        1 / 90f, -1 / 45f, 2 / 45f, -4 / 45f, 8 / 45f,
        32 / 45f, 16 / 45f, 8 / 45f, 4 / 45f, 2 / 45f,
        32 / 45f, -16 / 45f, 8 / 45f, -4 / 45f, 2 / 45f,
        0, 0, 0, 0, 1,
    ];

    /// <summary>
    /// V_ξ of 8 consecutive tiles of one channel of x with the forward's input transform of <paramref name="wg"/>'s tiles:
    /// p is the padded plane at the first tile's patch, dst + 64ξ the 8 tiles' V_ξ.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void InputWeight(in TileGeometry wg, float* p, float* dst)
    {
        switch ((wg.M, wg.Alpha))
        {
            case (2, 4): Input8(p, wg.Wp, dst, 64); break;
            case (2, _): Input8Alpha6(p, wg.Wp, dst, 64); break;
            case (4, 6): Input8Tile4(p, wg.Wp, dst, 64); break;
            default: Input8Alpha8(p, wg.Wp, dst, 64); break;
        }
    }

    /// <summary>
    /// dM = A dY Aᵀ (α = 6 or 8) for 8 consecutive 4×4 tiles of one channel of dy: p is the padded dy plane at the first
    /// tile's 4×4 block (row pitch <paramref name="pitch"/>; the loads reach p[31] of each row), dM_ξ of the 8 tiles to
    /// dst + 64ξ; <paramref name="work"/> holds 40 vectors. <see cref="OutputAdjointGather"/> with the tiles 4 floats apart.
    /// </summary>
    private static unsafe void OutputAdjoint8Tile4(int alpha, float* p, int pitch, float* dst, Vector256<float>* work)
    {
        var off = stackalloc long[8];
        for (int t = 0; t < 8; t++) off[t] = 4 * t;
        OutputAdjointGather(alpha, p, off, pitch, dst, work);
    }

    /// <summary>
    /// A·(a0, a1, a2, a3) for A = (Aᵀ)ᵀ of F(4, 3) (α = 6: the values of the cubic with coefficients a at 0, 1, −1, 2, −2,
    /// and a3 for ∞) or F(4, 5) (α = 8: also at ½ and −½): even and odd parts, each point once.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void ExpandA4(int alpha, Vector256<float> a0, Vector256<float> a1, Vector256<float> a2, Vector256<float> a3, Vector256<float>* y)
    {
        Vector256<float> even1 = a0 + a2, odd1 = a1 + a3;
        Vector256<float> even2 = Fmadd(Vector256.Create(4f), a2, a0), odd2 = Fmadd(Vector256.Create(8f), a3, a1 + a1);
        y[0] = a0;
        y[1] = even1 + odd1;
        y[2] = even1 - odd1;
        y[3] = even2 + odd2;
        y[4] = even2 - odd2;
        if (alpha == 6)
        {
            y[5] = a3;
            return;
        }
        Vector256<float> even3 = Fmadd(Vector256.Create(0.25f), a2, a0), odd3 = Fmadd(Vector256.Create(0.125f), a3, Vector256.Create(0.5f) * a1);
        y[5] = even3 + odd3;
        y[6] = even3 - odd3;
        y[7] = a3;
    }
    /// <summary>
    /// V_ξ (ξ = αρ + σ, α = 6 or 8) of 8 tiles of one channel of x with the forward's input transform (Input8Tile4's or
    /// Input8Alpha8's arithmetic lane for lane): tile t's patch at plane + off[t] (row pitch <paramref name="wp"/>; the
    /// loads reach 8 columns of each row), the 8 tiles' V_ξ to dst + 64ξ.
    /// </summary>
    [SkipLocalsInit] // its stack buffers are written before they are read
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void InputGather(int alpha, float* plane, long* off, int wp, float* dst)
    {
        var q = stackalloc Vector256<float>[64]; // (d B)[r, σ] at αr + σ
        float* p0 = plane + off[0], p1 = plane + off[1], p2 = plane + off[2], p3 = plane + off[3];
        float* p4 = plane + off[4], p5 = plane + off[5], p6 = plane + off[6], p7 = plane + off[7];
        for (int r = 0, o = 0; r < alpha; r++, o += wp)
        {
            // tile t's columns 0..3 and 4..7 in the 128-bit halves: tiles (0, 4), (1, 5), (2, 6), (3, 7)
            var (d0, d1, d2, d3) = Columns4(Vector256.Create(Vector128.Load(p0 + o), Vector128.Load(p4 + o)), Vector256.Create(Vector128.Load(p1 + o), Vector128.Load(p5 + o)),
                Vector256.Create(Vector128.Load(p2 + o), Vector128.Load(p6 + o)), Vector256.Create(Vector128.Load(p3 + o), Vector128.Load(p7 + o)));
            var (d4, d5, d6, d7) = Columns4(Vector256.Create(Vector128.Load(p0 + o + 4), Vector128.Load(p4 + o + 4)), Vector256.Create(Vector128.Load(p1 + o + 4), Vector128.Load(p5 + o + 4)),
                Vector256.Create(Vector128.Load(p2 + o + 4), Vector128.Load(p6 + o + 4)), Vector256.Create(Vector128.Load(p3 + o + 4), Vector128.Load(p7 + o + 4)));
            if (alpha == 6) TransformB6(d0, d1, d2, d3, d4, d5, q + 6 * r);
            else TransformB8(d0, d1, d2, d3, d4, d5, d6, d7, q + 8 * r, 1);
        }
        var col = stackalloc Vector256<float>[8];
        for (int sigma = 0; sigma < alpha; sigma++)
        {
            if (alpha == 6) TransformB6(q[sigma], q[6 + sigma], q[12 + sigma], q[18 + sigma], q[24 + sigma], q[30 + sigma], col);
            else TransformB8(q[sigma], q[8 + sigma], q[16 + sigma], q[24 + sigma], q[32 + sigma], q[40 + sigma], q[48 + sigma], q[56 + sigma], col, 1);
            for (int rho = 0; rho < alpha; rho++) col[rho].Store(dst + (alpha * rho + sigma) * 64);
        }
    }

    /// <summary>
    /// dM = A dY Aᵀ (α = 6 or 8) of 8 tiles of one channel of dy: tile t's 4×4 block at plane + off[t] (row pitch
    /// <paramref name="pitch"/>), dM_ξ of the 8 tiles to dst + 64ξ;
    /// <paramref name="work"/> holds 40 vectors.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void OutputAdjointGather(int alpha, float* plane, long* off, int pitch, float* dst, Vector256<float>* work)
    {
        Vector256<float>* z = work, col = work + 32; // z[8a + σ] = (dY[a, ·] Aᵀ)[σ]
        float* p0 = plane + off[0], p1 = plane + off[1], p2 = plane + off[2], p3 = plane + off[3];
        float* p4 = plane + off[4], p5 = plane + off[5], p6 = plane + off[6], p7 = plane + off[7];
        for (int a = 0, o = 0; a < 4; a++, o += pitch)
        {
            var (y0, y1, y2, y3) = Columns4(Vector256.Create(Vector128.Load(p0 + o), Vector128.Load(p4 + o)), Vector256.Create(Vector128.Load(p1 + o), Vector128.Load(p5 + o)),
                Vector256.Create(Vector128.Load(p2 + o), Vector128.Load(p6 + o)), Vector256.Create(Vector128.Load(p3 + o), Vector128.Load(p7 + o)));
            ExpandA4(alpha, y0, y1, y2, y3, z + 8 * a);
        }
        for (int j = 0; j < alpha; j++)
        {
            ExpandA4(alpha, z[j], z[8 + j], z[16 + j], z[24 + j], col);
            for (int i = 0; i < alpha; i++) col[i].Store(dst + (alpha * i + j) * 64);
        }
    }
}
