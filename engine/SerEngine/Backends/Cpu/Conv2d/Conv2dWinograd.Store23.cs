using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using static SerEngine.Backends.Cpu.Conv2dChannelVector;

namespace SerEngine.Backends.Cpu;

// The output transform of F(2×2, 3×3) without pooling (the per-call forward and backward-input of FocusCalibrationNet's
// training step, focus_calibration_net.train_step.b32.26x63, and packed forwards on 2×2 tiles): StoreGroup's work for
// α = 4 only, so Output8's results stay in registers (the general form also calls the α = 6 transform, and kept them on the
// stack) and a group's tiles are walked in order (one division per group, not per tile). Same operations per lane, same bits.
internal static partial class Conv2dWinograd
{
    /// <summary>
    /// The output transforms of <paramref name="count"/> tiles of a group of six for 16 channels (M [16 ξ][6][16] at m), + bias,
    /// ReLU, into the planes at <paramref name="dst"/> (channels <paramref name="plane"/> apart, rows <paramref name="pitch"/> apart,
    /// row 0 the band's first output row); only <paramref name="rowsMax"/> rows, <paramref name="colsMax"/> columns and the first
    /// lanes of each half are written. The group's tiles are consecutive real tiles of the band (row-major), the first at
    /// position <paramref name="t0"/> of the band's V.
    /// </summary>
    private static unsafe void StoreGroup23(in TileGeometry wg, float* m, int t0, int count, Vector256<float> biasLow, Vector256<float> biasHigh,
        int lanesLow, int lanesHigh, bool relu, float* dst, long plane, int pitch, int rowsMax, int colsMax)
    {
        const long mXi = Rows * Lanes;
        int tilesW = wg.TilesW;
        int r = t0 / wg.TilesWPad, j = t0 - r * wg.TilesWPad;
        for (int q = 0; q < count; q++, m += Lanes)
        {
            int oh = 2 * r, ow = 2 * j;
            float* at = dst + (long)oh * pitch + ow;
            int rowsIn = Math.Min(2, rowsMax - oh), colsIn = Math.Min(2, colsMax - ow);
            Output8(m, mXi, biasLow, relu, out var y00, out var y01, out var y10, out var y11);
            StoreOutputs2(y00, y01, y10, y11, at, plane, pitch, lanesLow, rowsIn, colsIn);
            if (lanesHigh > 0)
            {
                Output8(m + 8, mXi, biasHigh, relu, out y00, out y01, out y10, out y11);
                StoreOutputs2(y00, y01, y10, y11, at + 8 * plane, plane, pitch, lanesHigh, rowsIn, colsIn);
            }
            if (++j == tilesW)
            {
                j = 0;
                r++;
            }
        }
    }

    /// <summary>
    /// The output transforms of channel block <paramref name="kb"/> over a band from tile row <paramref name="b0"/> (its
    /// <paramref name="groups"/> groups of six, M [group][16 ξ][6][16] at m, <paramref name="real"/> real tiles, group o's first at
    /// V position <paramref name="t"/>[6·o]), + bias, ReLU, into y [K, OutH, OutW].
    /// </summary>
    private static unsafe void StoreBand23(in TileGeometry wg, float* m, long mGroup, int* t, int groups, int real, int b0, int kb,
        float* bias, bool relu, float* y, in Conv2dGeometry g)
    {
        int k0 = kb * Lanes, outH = g.OutH, outW = g.OutW, oh0 = 2 * b0;
        long plane = (long)outH * outW;
        int lanesLow = Math.Min(8, g.K - k0), lanesHigh = Math.Min(8, g.K - k0 - 8);
        Vector256<float> biasLow = Bias(bias, k0, lanesLow), biasHigh = lanesHigh > 0 ? Bias(bias, k0 + 8, lanesHigh) : default;
        float* band = y + k0 * plane + (long)oh0 * outW;
        for (int o = 0; o < groups; o++)
            StoreGroup23(wg, m + o * mGroup, t[o * Rows], Math.Min(Rows, real - o * Rows), biasLow, biasHigh, lanesLow, lanesHigh, relu,
                band, plane, outW, outH - oh0, outW);
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
