using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using static SerEngine.Backends.Cpu.Conv2dChannelVector;

namespace SerEngine.Backends.Cpu;

// F(2×2, 3×3) products and output transforms with the TILES in the lanes (AVX-512F; ForwardTask in Conv2dWinograd.cs, for a
// band of whole tile rows whose padded width is a multiple of 16 tiles: FocusCalibrationNet's conv2 and conv3,
// focus_calibration_net.train_step.b32.26x63). V [α² ξ][C][band tiles] already holds a tile row's tiles side by side, so
//   M_ξ [8 k][48 tiles] = Σ_c V_ξ[c][48 tiles] · U_ξ[c][k]:  per input channel 3 loads of V and 8 broadcasts of U for 24 FMAs
// (the channel-lane kernels broadcast one tile per FMA: Products12x16 took 13 loads per 12 FMAs, its twelve tile pointers
// crowding the registers). M of a group of 48 tiles and 8 channels stays in L1, and the output transform of 16 tiles of one
// channel yields two output rows of 32 columns each, stored whole (masked at the right edge).
// Each M element is still the FMA chain over the input channels in order from zero (fma(v, u, a) rounds as fma(u, v, a)),
// and the output transform is Output16's adds in Output8's order on every lane: the bits of the channel-lane forms.
internal static partial class Conv2dWinograd
{
    /// <summary>Vectors of 16 tiles per pass of <see cref="LaneProducts3x8"/>.</summary>
    private const int LaneVectors = 3;

    /// <summary>Output channels per pass of the tile-lane products.</summary>
    private const int LaneChannels = 8;

    /// <summary>
    /// True when a band of <see cref="ForwardTask"/> may take the tile-lane form: 512-bit transforms, F(2×2, 3×3) without
    /// pooling, tile rows padded to whole 16-tile vectors (so a vector never spans two tile rows), and 32 input channels or
    /// more (with 16 a pass is 16 steps, and its 24 accumulator stores and 16 calls per 8 channels weighed too much: conv2's
    /// forward in focus_calibration_net.train_step.b32.26x63 ran slower than the channel-lane Products6x32).
    /// </summary>
    private static bool TileLanes(in Conv2dGeometry g, in TileGeometry wg, bool wideInput, bool pool) =>
        wideInput && !pool && wg.M == 2 && wg.Alpha == 4 && wg.TilesWPad % Lanes == 0 && g.C >= 2 * Lanes;

    /// <summary>This thread's M of one group of the tile-lane form: [16 ξ][8 k][48 tiles] (CpuScratch).</summary>
    [ThreadStatic] private static float[]? _laneScratch;

    /// <summary>
    /// The products and output transforms of a band of <paramref name="rows"/> whole tile rows from tile row
    /// <paramref name="b0"/> (V at <paramref name="v"/>: [16 ξ][C][rows · TilesWPad], V_ξ <paramref name="vXi"/> apart), output
    /// channel blocks [kb0, kb1), + bias, ReLU, into y [K, OutH, OutW] of the image: groups of 48 tiles (3 vectors), 8 channels
    /// at a time, all 16 points, then their output transforms.
    /// </summary>
    private static unsafe void LaneBand(float* v, long vXi, float* panels, float* bias, float* y, in Conv2dGeometry g, in TileGeometry wg,
        int rows, int b0, int kb0, int kb1, bool relu)
    {
        const int mK = LaneVectors * Lanes, mXi = LaneChannels * mK; // M: [16 ξ][8 k][48 tiles]
        // Conv2dGeometry's sizes are computed properties: read once (a call inside the loop spilled every vector register)
        int c = g.C, k = g.K, outH = g.OutH, outW = g.OutW, tilesWPad = wg.TilesWPad, tiles = rows * tilesWPad, vectors = tiles / Lanes;
        long uXi = PanelXiStride(g), plane = (long)outH * outW;
        float* m = CpuScratch.Floats(ref _laneScratch, 16 * mXi);
        for (int v0 = 0, count; v0 < vectors; v0 += count)
        {
            // groups of three vectors, the last four as two and two (a lone vector takes 8 FMAs per 9 loads)
            count = vectors - v0 == 4 ? 2 : Math.Min(LaneVectors, vectors - v0);
            for (int k0 = kb0 * Lanes; k0 < Math.Min(k, kb1 * Lanes); k0 += LaneChannels)
            {
                float* u = panels + (long)(k0 / Lanes) * c * Lanes + k0 % Lanes;
                for (int xi = 0; xi < 16; xi++)
                {
                    float* vx = v + xi * vXi + v0 * Lanes, ux = u + xi * uXi, mx = m + xi * mXi;
                    if (count == 3) LaneProducts3x8(c, ux, vx, tiles, mx);
                    else if (count == 2) LaneProducts2x8(c, ux, vx, tiles, mx);
                    else LaneProducts1x8(c, ux, vx, tiles, mx);
                }
                for (int kk = 0; kk < LaneChannels && k0 + kk < k; kk++)
                {
                    var b = Vector512.Create(bias == null ? 0f : bias[k0 + kk]);
                    for (int i = 0; i < count; i++)
                    {
                        int p = (v0 + i) * Lanes, r = p / tilesWPad, j = p - r * tilesWPad;
                        LaneStore(m + kk * mK + i * Lanes, mXi, b, relu, y + (k0 + kk) * plane, outH, outW, 2 * (b0 + r), 2 * j);
                    }
                }
            }
        }
    }

    /// <summary>
    /// The output transform of 16 tiles of one channel side by side (M_0 at m, M_ξ <paramref name="mXi"/> further): Output16's
    /// operations on each lane, then output rows oh and oh + 1 (if inside) from column ow, 32 columns each as even/odd pairs
    /// interleaved, clipped to <paramref name="outW"/> with masked stores.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void LaneStore(float* m, long mXi, Vector512<float> bias, bool relu, float* plane, int outH, int outW, int oh, int ow)
    {
        Output16(m, mXi, bias, relu, out var y00, out var y01, out var y10, out var y11);
        var low = Vector512.Create(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
        var high = Vector512.Create(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
        int cols = outW - ow;
        float* dst = plane + (long)oh * outW + ow;
        StoreRow32(Avx512F.PermuteVar16x32x2(y00, low, y01), Avx512F.PermuteVar16x32x2(y00, high, y01), dst, cols);
        if (oh + 1 < outH)
            StoreRow32(Avx512F.PermuteVar16x32x2(y10, low, y11), Avx512F.PermuteVar16x32x2(y10, high, y11), dst + outW, cols);
    }

    /// <summary>The first min(32, <paramref name="cols"/>) floats of (a, b) to dst.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void StoreRow32(Vector512<float> a, Vector512<float> b, float* dst, int cols)
    {
        if (cols >= 32)
        {
            a.Store(dst);
            b.Store(dst + Lanes);
            return;
        }
        var lane = Vector512.Create(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
        Avx512F.MaskStore(dst, Vector512.LessThan(lane, Vector512.Create(cols)).AsSingle(), a);
        if (cols > Lanes) Avx512F.MaskStore(dst + Lanes, Vector512.LessThan(lane, Vector512.Create(cols - Lanes)).AsSingle(), b);
    }

    /// <summary>
    /// M_ξ [8 k][48 tiles] at m = Σ_c V_ξ[c][48 tiles at v] · U_ξ[c][8 k at u] (V rows <paramref name="channelStride"/> apart, U
    /// rows 16 apart): 24 accumulators, each the FMA chain over the channels in order from zero.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void LaneProducts3x8(int channels, float* u, float* v, long channelStride, float* m)
    {
        Vector512<float> a00 = default, a01 = default, a02 = default, a10 = default, a11 = default, a12 = default;
        Vector512<float> a20 = default, a21 = default, a22 = default, a30 = default, a31 = default, a32 = default;
        Vector512<float> a40 = default, a41 = default, a42 = default, a50 = default, a51 = default, a52 = default;
        Vector512<float> a60 = default, a61 = default, a62 = default, a70 = default, a71 = default, a72 = default;
        for (int q = 0; q < channels; q++, v += channelStride, u += Lanes)
        {
            var v0 = Vector512.Load(v);
            var v1 = Vector512.Load(v + Lanes);
            var v2 = Vector512.Load(v + 2 * Lanes);
            var b = Vector512.Create(u[0]);
            a00 = Vector512.FusedMultiplyAdd(v0, b, a00); a01 = Vector512.FusedMultiplyAdd(v1, b, a01); a02 = Vector512.FusedMultiplyAdd(v2, b, a02);
            b = Vector512.Create(u[1]);
            a10 = Vector512.FusedMultiplyAdd(v0, b, a10); a11 = Vector512.FusedMultiplyAdd(v1, b, a11); a12 = Vector512.FusedMultiplyAdd(v2, b, a12);
            b = Vector512.Create(u[2]);
            a20 = Vector512.FusedMultiplyAdd(v0, b, a20); a21 = Vector512.FusedMultiplyAdd(v1, b, a21); a22 = Vector512.FusedMultiplyAdd(v2, b, a22);
            b = Vector512.Create(u[3]);
            a30 = Vector512.FusedMultiplyAdd(v0, b, a30); a31 = Vector512.FusedMultiplyAdd(v1, b, a31); a32 = Vector512.FusedMultiplyAdd(v2, b, a32);
            b = Vector512.Create(u[4]);
            a40 = Vector512.FusedMultiplyAdd(v0, b, a40); a41 = Vector512.FusedMultiplyAdd(v1, b, a41); a42 = Vector512.FusedMultiplyAdd(v2, b, a42);
            b = Vector512.Create(u[5]);
            a50 = Vector512.FusedMultiplyAdd(v0, b, a50); a51 = Vector512.FusedMultiplyAdd(v1, b, a51); a52 = Vector512.FusedMultiplyAdd(v2, b, a52);
            b = Vector512.Create(u[6]);
            a60 = Vector512.FusedMultiplyAdd(v0, b, a60); a61 = Vector512.FusedMultiplyAdd(v1, b, a61); a62 = Vector512.FusedMultiplyAdd(v2, b, a62);
            b = Vector512.Create(u[7]);
            a70 = Vector512.FusedMultiplyAdd(v0, b, a70); a71 = Vector512.FusedMultiplyAdd(v1, b, a71); a72 = Vector512.FusedMultiplyAdd(v2, b, a72);
        }
        const int k = LaneVectors * Lanes;
        a00.Store(m); a01.Store(m + Lanes); a02.Store(m + 2 * Lanes);
        a10.Store(m + k); a11.Store(m + k + Lanes); a12.Store(m + k + 2 * Lanes);
        a20.Store(m + 2 * k); a21.Store(m + 2 * k + Lanes); a22.Store(m + 2 * k + 2 * Lanes);
        a30.Store(m + 3 * k); a31.Store(m + 3 * k + Lanes); a32.Store(m + 3 * k + 2 * Lanes);
        a40.Store(m + 4 * k); a41.Store(m + 4 * k + Lanes); a42.Store(m + 4 * k + 2 * Lanes);
        a50.Store(m + 5 * k); a51.Store(m + 5 * k + Lanes); a52.Store(m + 5 * k + 2 * Lanes);
        a60.Store(m + 6 * k); a61.Store(m + 6 * k + Lanes); a62.Store(m + 6 * k + 2 * Lanes);
        a70.Store(m + 7 * k); a71.Store(m + 7 * k + Lanes); a72.Store(m + 7 * k + 2 * Lanes);
    }

    /// <summary><see cref="LaneProducts3x8"/> for a band's last 32 tiles (two vectors).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void LaneProducts2x8(int channels, float* u, float* v, long channelStride, float* m)
    {
        Vector512<float> a00 = default, a01 = default, a10 = default, a11 = default, a20 = default, a21 = default, a30 = default, a31 = default;
        Vector512<float> a40 = default, a41 = default, a50 = default, a51 = default, a60 = default, a61 = default, a70 = default, a71 = default;
        for (int q = 0; q < channels; q++, v += channelStride, u += Lanes)
        {
            var v0 = Vector512.Load(v);
            var v1 = Vector512.Load(v + Lanes);
            var b = Vector512.Create(u[0]);
            a00 = Vector512.FusedMultiplyAdd(v0, b, a00); a01 = Vector512.FusedMultiplyAdd(v1, b, a01);
            b = Vector512.Create(u[1]);
            a10 = Vector512.FusedMultiplyAdd(v0, b, a10); a11 = Vector512.FusedMultiplyAdd(v1, b, a11);
            b = Vector512.Create(u[2]);
            a20 = Vector512.FusedMultiplyAdd(v0, b, a20); a21 = Vector512.FusedMultiplyAdd(v1, b, a21);
            b = Vector512.Create(u[3]);
            a30 = Vector512.FusedMultiplyAdd(v0, b, a30); a31 = Vector512.FusedMultiplyAdd(v1, b, a31);
            b = Vector512.Create(u[4]);
            a40 = Vector512.FusedMultiplyAdd(v0, b, a40); a41 = Vector512.FusedMultiplyAdd(v1, b, a41);
            b = Vector512.Create(u[5]);
            a50 = Vector512.FusedMultiplyAdd(v0, b, a50); a51 = Vector512.FusedMultiplyAdd(v1, b, a51);
            b = Vector512.Create(u[6]);
            a60 = Vector512.FusedMultiplyAdd(v0, b, a60); a61 = Vector512.FusedMultiplyAdd(v1, b, a61);
            b = Vector512.Create(u[7]);
            a70 = Vector512.FusedMultiplyAdd(v0, b, a70); a71 = Vector512.FusedMultiplyAdd(v1, b, a71);
        }
        const int k = LaneVectors * Lanes;
        a00.Store(m); a01.Store(m + Lanes);
        a10.Store(m + k); a11.Store(m + k + Lanes);
        a20.Store(m + 2 * k); a21.Store(m + 2 * k + Lanes);
        a30.Store(m + 3 * k); a31.Store(m + 3 * k + Lanes);
        a40.Store(m + 4 * k); a41.Store(m + 4 * k + Lanes);
        a50.Store(m + 5 * k); a51.Store(m + 5 * k + Lanes);
        a60.Store(m + 6 * k); a61.Store(m + 6 * k + Lanes);
        a70.Store(m + 7 * k); a71.Store(m + 7 * k + Lanes);
    }

    /// <summary><see cref="LaneProducts3x8"/> for a band's last 16 tiles (one vector).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void LaneProducts1x8(int channels, float* u, float* v, long channelStride, float* m)
    {
        Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default, a4 = default, a5 = default, a6 = default, a7 = default;
        for (int q = 0; q < channels; q++, v += channelStride, u += Lanes)
        {
            var v0 = Vector512.Load(v);
            a0 = Vector512.FusedMultiplyAdd(v0, Vector512.Create(u[0]), a0);
            a1 = Vector512.FusedMultiplyAdd(v0, Vector512.Create(u[1]), a1);
            a2 = Vector512.FusedMultiplyAdd(v0, Vector512.Create(u[2]), a2);
            a3 = Vector512.FusedMultiplyAdd(v0, Vector512.Create(u[3]), a3);
            a4 = Vector512.FusedMultiplyAdd(v0, Vector512.Create(u[4]), a4);
            a5 = Vector512.FusedMultiplyAdd(v0, Vector512.Create(u[5]), a5);
            a6 = Vector512.FusedMultiplyAdd(v0, Vector512.Create(u[6]), a6);
            a7 = Vector512.FusedMultiplyAdd(v0, Vector512.Create(u[7]), a7);
        }
        const int k = LaneVectors * Lanes;
        a0.Store(m); a1.Store(m + k); a2.Store(m + 2 * k); a3.Store(m + 3 * k);
        a4.Store(m + 4 * k); a5.Store(m + 5 * k); a6.Store(m + 6 * k); a7.Store(m + 7 * k);
    }
}
