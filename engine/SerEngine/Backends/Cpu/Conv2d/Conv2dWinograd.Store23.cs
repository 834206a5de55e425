using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using static SerEngine.Backends.Cpu.Conv2dChannelVector;

namespace SerEngine.Backends.Cpu;

// The output transform of F(2×2, 3×3) without pooling (the per-call forward and backward-input of FocusCalibrationNet's
// training step, focus_calibration_net.train_step.b32.26x63, and packed forwards on 2×2 tiles): StoreGroup's work for
// α = 4 only, so Output8's results stay in registers (the general form also calls the α = 6 transform, and kept them on the
// stack), and the band's tiles are walked in order, two whole neighbours at a time where they fit, so each channel's row of
// four outputs goes out as one 128-bit store instead of two 64-bit ones (FCA-WINO-AVX2-2026-12-07-d.md). Same operations
// per lane, same bits.
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
                int rowsIn = Math.Min(2, rowsMax - oh), colsIn = Math.Min(2, outW - ow);
                Output8(me, mXi, biasLow, relu, out var y00, out var y01, out var y10, out var y11);
                StoreOutputs2(y00, y01, y10, y11, at, plane, outW, lanesLow, rowsIn, colsIn);
                if (lanesHigh > 0)
                {
                    Output8(me + 8, mXi, biasHigh, relu, out y00, out y01, out y10, out y11);
                    StoreOutputs2(y00, y01, y10, y11, at + 8 * plane, plane, outW, lanesHigh, rowsIn, colsIn);
                }
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
}
