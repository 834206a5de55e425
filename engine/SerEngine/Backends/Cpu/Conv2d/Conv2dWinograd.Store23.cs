using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using static SerEngine.Backends.Cpu.Conv2dChannelVector;

namespace SerEngine.Backends.Cpu;

// The output transform of F(2×2, 3×3) without pooling (the per-call forward and backward-input of FocusCalibrationNet's
// training step, focus_calibration_net.train_step.b32.26x63, and packed forwards on 2×2 tiles): StoreGroup's work for
// α = 4 only, so Output8's results stay in registers (the general form also calls the α = 6 transform, and kept them on the
// stack), and the band's tiles are walked in order, two whole neighbours at a time where they fit, so each channel's row of
// four outputs goes out as one 128-bit store instead of two 64-bit ones (FCA-WINO-AVX2-2026-12-07-d.md); with AVX-512 a pair's
// 16 channels run as one 512-bit transform (StoreTilePair16: half the loads and adds). Same operations per lane, same bits.
internal static partial class Conv2dWinograd
{
    /// <summary>
    /// The output transforms of channel block <paramref name="kb"/> over a band from tile row <paramref name="b0"/> (its
    /// groups of six, M [group][16 ξ][6][16] at m (<paramref name="mGroup"/> floats apart), <paramref name="real"/> real tiles, the first at
    /// V position t[0], the rest following it row-major), + bias, ReLU, into y [K, OutH, OutW]: two whole tiles side by side
    /// with all 16 channels at a time (<see cref="StoreTilePair"/>), the rest tile by tile.
    /// </summary>
    private static unsafe void StoreBand23(in TileGeometry wg, float* m, long mGroup, int* t, int real, int b0, int kb,
        float* bias, bool relu, float* y, in Conv2dGeometry g)
    {
        const long mXi = Rows * Lanes;
        int k0 = kb * Lanes, outH = g.OutH, outW = g.OutW, oh0 = 2 * b0, tilesW = wg.TilesW;
        long plane = (long)outH * outW;
        int lanesLow = Math.Min(8, g.K - k0), lanesHigh = Math.Min(8, g.K - k0 - 8);
        Vector256<float> biasLow = Bias(bias, k0, lanesLow), biasHigh = lanesHigh > 0 ? Bias(bias, k0 + 8, lanesHigh) : default;
        float* band = y + k0 * plane + (long)oh0 * outW;
        int rowsMax = outH - oh0, r = t[0] / wg.TilesWPad, j = t[0] - r * wg.TilesWPad;
        for (int e = 0; e < real;)
        {
            int oh = 2 * r, ow = 2 * j;
            float* at = band + (long)oh * outW + ow, me = m + e / Rows * mGroup + e % Rows * Lanes;
            if (lanesHigh == 8 && e + 1 < real && j + 1 < tilesW && oh + 2 <= rowsMax && ow + 4 <= outW)
            {
                float* mf = m + (e + 1) / Rows * mGroup + (e + 1) % Rows * Lanes;
                StoreTilePair(me, mf, mXi, biasLow, relu, at, plane, outW);
                StoreTilePair(me + 8, mf + 8, mXi, biasHigh, relu, at + 8 * plane, plane, outW);
                e += 2;
                j += 2;
            }
            else
            {
                StoreTile(me, mXi, biasLow, biasHigh, lanesLow, lanesHigh, relu, at, plane, outW, Math.Min(2, rowsMax - oh), Math.Min(2, outW - ow));
                e++;
                j++;
            }
            if (j == tilesW)
            {
                j = 0;
                r++;
            }
        }
    }

    /// <summary>
    /// <see cref="StoreBand23"/> with AVX-512F: a pair of whole neighbouring tiles with 16 live channels runs the output transform
    /// once on 512-bit vectors (<see cref="StoreTilePair16"/>; also over the last row of an odd output height, its first row only),
    /// the rest tile by tile as there. A separate method so that the 256-bit path's code stays as it was (with the 512-bit
    /// branch inside it the 256-bit path ran slower: FCA-WINO-512-2026-12-07-e.md).
    /// </summary>
    private static unsafe void StoreBand23Wide(in TileGeometry wg, float* m, long mGroup, int* t, int real, int b0, int kb,
        float* bias, bool relu, float* y, in Conv2dGeometry g)
    {
        const long mXi = Rows * Lanes;
        int k0 = kb * Lanes, outH = g.OutH, outW = g.OutW, oh0 = 2 * b0, tilesW = wg.TilesW;
        long plane = (long)outH * outW;
        int lanesLow = Math.Min(8, g.K - k0), lanesHigh = Math.Min(8, g.K - k0 - 8);
        Vector256<float> biasLow = Bias(bias, k0, lanesLow), biasHigh = lanesHigh > 0 ? Bias(bias, k0 + 8, lanesHigh) : default;
        var bias16 = Vector512.Create(biasLow, biasHigh);
        float* band = y + k0 * plane + (long)oh0 * outW;
        int rowsMax = outH - oh0, r = t[0] / wg.TilesWPad, j = t[0] - r * wg.TilesWPad;
        for (int e = 0; e < real;)
        {
            int oh = 2 * r, ow = 2 * j;
            float* at = band + (long)oh * outW + ow, me = m + e / Rows * mGroup + e % Rows * Lanes;
            if (lanesHigh == 8 && e + 1 < real && j + 1 < tilesW && oh + 1 <= rowsMax && ow + 4 <= outW)
            {
                float* mf = m + (e + 1) / Rows * mGroup + (e + 1) % Rows * Lanes;
                StoreTilePair16(me, mf, mXi, bias16, relu, at, plane, outW, twoRows: oh + 2 <= rowsMax);
                e += 2;
                j += 2;
            }
            else
            {
                StoreTile(me, mXi, biasLow, biasHigh, lanesLow, lanesHigh, relu, at, plane, outW, Math.Min(2, rowsMax - oh), Math.Min(2, outW - ow));
                e++;
                j++;
            }
            if (j == tilesW)
            {
                j = 0;
                r++;
            }
        }
    }

    /// <summary>
    /// One tile (M at <paramref name="m"/>, up to 16 channels: <paramref name="lanesLow"/> and <paramref name="lanesHigh"/> live)
    /// into y at dst, clipped to <paramref name="rowsIn"/> × <paramref name="colsIn"/> outputs: the store walk's tile-by-tile case.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void StoreTile(float* m, long mXi, Vector256<float> biasLow, Vector256<float> biasHigh, int lanesLow, int lanesHigh,
        bool relu, float* dst, long plane, int outW, int rowsIn, int colsIn)
    {
        Output8(m, mXi, biasLow, relu, out var y00, out var y01, out var y10, out var y11);
        StoreOutputs2(y00, y01, y10, y11, dst, plane, outW, lanesLow, rowsIn, colsIn);
        if (lanesHigh > 0)
        {
            Output8(m + 8, mXi, biasHigh, relu, out y00, out y01, out y10, out y11);
            StoreOutputs2(y00, y01, y10, y11, dst + 8 * plane, plane, outW, lanesHigh, rowsIn, colsIn);
        }
    }

    /// <summary>
    /// Two whole tiles side by side (M of the left one at <paramref name="left"/>, of the right one at <paramref name="right"/>,
    /// 8 channels) into y at dst: each channel's row of four outputs as one 128-bit store (column pairs took two 64-bit ones).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void StoreTilePair(float* left, float* right, long mXi, Vector256<float> bias, bool relu, float* dst, long plane, int outW)
    {
        Output8(left, mXi, bias, relu, out var a00, out var a01, out var a10, out var a11);
        Output8(right, mXi, bias, relu, out var b00, out var b01, out var b10, out var b11);
        StoreColumnQuads(a00, a01, b00, b01, dst, plane);
        StoreColumnQuads(a10, a11, b10, b11, dst + outW, plane);
    }

    /// <summary>For lane i of 8 channels: (a0[i], a1[i], b0[i], b1[i]) to dst + i·<paramref name="plane"/> (four adjacent output columns).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void StoreColumnQuads(Vector256<float> a0, Vector256<float> a1, Vector256<float> b0, Vector256<float> b1, float* dst, long plane)
    {
        var aLo = Avx.UnpackLow(a0, a1).AsDouble();  // channels 0, 1 | 4, 5 of the left tile
        var aHi = Avx.UnpackHigh(a0, a1).AsDouble(); // channels 2, 3 | 6, 7
        var bLo = Avx.UnpackLow(b0, b1).AsDouble();
        var bHi = Avx.UnpackHigh(b0, b1).AsDouble();
        var c04 = Avx.UnpackLow(aLo, bLo).AsSingle();  // channel 0 | channel 4
        var c15 = Avx.UnpackHigh(aLo, bLo).AsSingle(); // channel 1 | channel 5
        var c26 = Avx.UnpackLow(aHi, bHi).AsSingle();
        var c37 = Avx.UnpackHigh(aHi, bHi).AsSingle();
        c04.GetLower().Store(dst);
        c15.GetLower().Store(dst + plane);
        c26.GetLower().Store(dst + 2 * plane);
        c37.GetLower().Store(dst + 3 * plane);
        c04.GetUpper().Store(dst + 4 * plane);
        c15.GetUpper().Store(dst + 5 * plane);
        c26.GetUpper().Store(dst + 6 * plane);
        c37.GetUpper().Store(dst + 7 * plane);
    }

    /// <summary>
    /// A tile's 2×2 outputs y_ab of 8 channels into y at dst (row pitch <paramref name="outW"/>, channels <paramref name="plane"/>
    /// apart): a whole tile as column pairs, an edge tile (or fewer channels) element by element.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void StoreOutputs2(Vector256<float> y00, Vector256<float> y01, Vector256<float> y10, Vector256<float> y11,
        float* dst, long plane, int outW, int lanes, int rows, int cols)
    {
        if (lanes == 8 && rows == 2 && cols == 2)
        {
            StoreColumnPairs(y00, y01, dst, plane);
            StoreColumnPairs(y10, y11, dst + outW, plane);
        }
        else StoreEdgeTile(y00, y01, y10, y11, dst, plane, outW, lanes, rows, cols);
    }

    /// <summary>
    /// <see cref="StoreTilePair"/> for all 16 channels at once with 512-bit vectors (AVX-512F): <see cref="Output8"/>'s operations
    /// in the same order on every lane, then each channel's row of four outputs as one 128-bit store; only the first row
    /// unless <paramref name="twoRows"/> (a tile row over an odd output height's last row).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void StoreTilePair16(float* left, float* right, long mXi, Vector512<float> bias, bool relu, float* dst, long plane, int outW, bool twoRows)
    {
        Output16(left, mXi, bias, relu, out var a00, out var a01, out var a10, out var a11);
        Output16(right, mXi, bias, relu, out var b00, out var b01, out var b10, out var b11);
        StoreColumnQuads16(a00, a01, b00, b01, dst, plane);
        if (twoRows) StoreColumnQuads16(a10, a11, b10, b11, dst + outW, plane);
    }

    /// <summary><see cref="Output8"/> on 16 channels (M_0's 16 lanes of the tile at m): the same operations in the same order.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void Output16(float* m, long xiStride, Vector512<float> bias, bool relu,
        out Vector512<float> y00, out Vector512<float> y01, out Vector512<float> y10, out Vector512<float> y11)
    {
        float* m4 = m + 4 * xiStride, m8 = m + 8 * xiStride, m12 = m + 12 * xiStride;
        Vector512<float> m0 = Vector512.Load(m), m1 = Vector512.Load(m4), m2 = Vector512.Load(m8), m3 = Vector512.Load(m12);
        Vector512<float> s00 = m0 + m1 + m2, s10 = m1 - m2 - m3;
        m0 = Vector512.Load(m + xiStride); m1 = Vector512.Load(m4 + xiStride); m2 = Vector512.Load(m8 + xiStride); m3 = Vector512.Load(m12 + xiStride);
        Vector512<float> s01 = m0 + m1 + m2, s11 = m1 - m2 - m3;
        m0 = Vector512.Load(m + 2 * xiStride); m1 = Vector512.Load(m4 + 2 * xiStride); m2 = Vector512.Load(m8 + 2 * xiStride); m3 = Vector512.Load(m12 + 2 * xiStride);
        Vector512<float> s02 = m0 + m1 + m2, s12 = m1 - m2 - m3;
        m0 = Vector512.Load(m + 3 * xiStride); m1 = Vector512.Load(m4 + 3 * xiStride); m2 = Vector512.Load(m8 + 3 * xiStride); m3 = Vector512.Load(m12 + 3 * xiStride);
        Vector512<float> s03 = m0 + m1 + m2, s13 = m1 - m2 - m3;
        y00 = BiasRelu16(s00 + s01 + s02, bias, relu);
        y01 = BiasRelu16(s01 - s02 - s03, bias, relu);
        y10 = BiasRelu16(s10 + s11 + s12, bias, relu);
        y11 = BiasRelu16(s11 - s12 - s13, bias, relu);
    }

    /// <summary>Conv2dEpilogue.BiasRelu on 16 lanes: x + b, then (y &gt; 0 ? y : 0) when <paramref name="relu"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> BiasRelu16(Vector512<float> x, Vector512<float> b, bool relu)
    {
        var y = x + b;
        return relu ? Vector512.ConditionalSelect(Vector512.GreaterThan(y, Vector512<float>.Zero), y, Vector512<float>.Zero) : y;
    }

    /// <summary>For lane i of 16 channels: (a0[i], a1[i], b0[i], b1[i]) to dst + i·<paramref name="plane"/> (four adjacent output columns).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void StoreColumnQuads16(Vector512<float> a0, Vector512<float> a1, Vector512<float> b0, Vector512<float> b1, float* dst, long plane)
    {
        // the unpacks work within each 128-bit lane L, which ends up holding channels 4L .. 4L + 3
        var aLo = Avx512F.UnpackLow(a0, a1).AsDouble();  // channels 4L, 4L + 1 of the left tile
        var aHi = Avx512F.UnpackHigh(a0, a1).AsDouble(); // channels 4L + 2, 4L + 3
        var bLo = Avx512F.UnpackLow(b0, b1).AsDouble();
        var bHi = Avx512F.UnpackHigh(b0, b1).AsDouble();
        var c0 = Avx512F.UnpackLow(aLo, bLo).AsSingle();  // channel 4L
        var c1 = Avx512F.UnpackHigh(aLo, bLo).AsSingle(); // channel 4L + 1
        var c2 = Avx512F.UnpackLow(aHi, bHi).AsSingle();
        var c3 = Avx512F.UnpackHigh(aHi, bHi).AsSingle();
        Avx512F.ExtractVector128(c0, 0).Store(dst);
        Avx512F.ExtractVector128(c1, 0).Store(dst + plane);
        Avx512F.ExtractVector128(c2, 0).Store(dst + 2 * plane);
        Avx512F.ExtractVector128(c3, 0).Store(dst + 3 * plane);
        Avx512F.ExtractVector128(c0, 1).Store(dst + 4 * plane);
        Avx512F.ExtractVector128(c1, 1).Store(dst + 5 * plane);
        Avx512F.ExtractVector128(c2, 1).Store(dst + 6 * plane);
        Avx512F.ExtractVector128(c3, 1).Store(dst + 7 * plane);
        Avx512F.ExtractVector128(c0, 2).Store(dst + 8 * plane);
        Avx512F.ExtractVector128(c1, 2).Store(dst + 9 * plane);
        Avx512F.ExtractVector128(c2, 2).Store(dst + 10 * plane);
        Avx512F.ExtractVector128(c3, 2).Store(dst + 11 * plane);
        Avx512F.ExtractVector128(c0, 3).Store(dst + 12 * plane);
        Avx512F.ExtractVector128(c1, 3).Store(dst + 13 * plane);
        Avx512F.ExtractVector128(c2, 3).Store(dst + 14 * plane);
        Avx512F.ExtractVector128(c3, 3).Store(dst + 15 * plane);
    }
}
