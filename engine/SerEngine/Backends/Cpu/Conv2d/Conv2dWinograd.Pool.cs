using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using static SerEngine.Backends.Cpu.Conv2dChannelVector;
using static SerEngine.Backends.Cpu.Conv2dEpilogue;

namespace SerEngine.Backends.Cpu;

// The pooled store of the Winograd forward (Backend.Conv2dForwardPackedReluMaxPool): with 2×2 output tiles each
// tile is exactly one window of a 2×2, stride-2 max pool, so the output transform keeps only the largest of its
// four outputs (after bias and ReLU, which are monotone: the same value MaxPool2d picks from the stored map); a
// 4×4 tile (F(4×4, 3×3), Conv2dWinograd.PooledTileSize) is four windows, 2×2 pooled outputs.
// The driver runs over a geometry whose output size is even (CpuBackend cuts an odd last row or column by one
// padding less), so every pool window is whole; y is [N, K, OutH/2, OutW/2].
internal static partial class Conv2dWinograd
{
    /// <summary>F(4×4, 3×3) panels of 3×3 filters w for the pooled forward (<see cref="PooledTileSize"/> 4) in a new pinned array.</summary>
    public static unsafe float[] PooledPanels(float[] w, in Conv2dGeometry g, int threads)
    {
        if (g.R != 3 || g.S != 3) throw new ArgumentException($"conv2d Winograd: pooled 4×4 tiles take 3×3 filters, got {g.R}×{g.S}");
        var panels = GC.AllocateArray<float>(PanelFloats(g, 4) + 16, pinned: true);
        Panels(w, FilterLayout.Plain(g), g, (float*)CpuBackend.Align64(panels), threads, 4);
        return panels;
    }

    /// <summary>
    /// The output transforms of <paramref name="count"/> tiles of a group of six (positions t in the band's V) for channel
    /// block <paramref name="kb"/>, each pooled to one output: M [α² ξ][6][16] at m, + bias, ReLU, max of the tile's four,
    /// into y [K, OutH/2, OutW/2] (g's output size even).
    /// </summary>
    private static unsafe void StoreGroupPooled(in TileGeometry wg, float* m, long mXi, int* t, int count, int b0, int kb, float* bias, bool relu, float* y, in Conv2dGeometry g)
    {
        int k = g.K, pw = g.OutW / 2, k0 = kb * Lanes, tilesWPad = wg.TilesWPad;
        long plane = (long)(g.OutH / 2) * pw;
        int lanesLow = Math.Min(8, k - k0), lanesHigh = Math.Min(8, k - k0 - 8);
        Vector256<float> biasLow = Bias(bias, k0, lanesLow), biasHigh = lanesHigh > 0 ? Bias(bias, k0 + 8, lanesHigh) : default;
        if (wg.M == 4)
        {
            int ph = g.OutH / 2;
            for (int q = 0; q < count; q++)
            {
                int r = t[q] / tilesWPad, j = t[q] - r * tilesWPad, pr = 2 * (b0 + r);
                float* dst = y + k0 * plane + (long)pr * pw + 2 * j;
                int rows = Math.Min(2, ph - pr), cols = Math.Min(2, pw - 2 * j);
                StoreTile4Pooled(m + q * Lanes, mXi, biasLow, relu, dst, plane, pw, lanesLow, rows, cols);
                if (lanesHigh > 0)
                    StoreTile4Pooled(m + q * Lanes + 8, mXi, biasHigh, relu, dst + 8 * plane, plane, pw, lanesHigh, rows, cols);
            }
            return;
        }
        for (int q = 0; q < count; q++)
        {
            int r = t[q] / tilesWPad, j = t[q] - r * tilesWPad;
            float* dst = y + k0 * plane + (long)(b0 + r) * pw + j;
            StorePooled(wg.Alpha, m + q * Lanes, mXi, biasLow, relu, dst, plane, lanesLow);
            if (lanesHigh > 0)
                StorePooled(wg.Alpha, m + q * Lanes + 8, mXi, biasHigh, relu, dst + 8 * plane, plane, lanesHigh);
        }
    }

    /// <summary>
    /// The output transform (α = 4 or 6) of 8 channels of one tile, pooled: max(y00, y01, y10, y11) of channel i to
    /// dst + i·<paramref name="plane"/> for the first <paramref name="lanes"/> channels.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void StorePooled(int alpha, float* m, long xiStride, Vector256<float> bias, bool relu, float* dst, long plane, int lanes)
    {
        Vector256<float> y00, y01, y10, y11;
        if (alpha == 4) Output8(m, xiStride, bias, relu, out y00, out y01, out y10, out y11);
        else Output8Alpha6(m, xiStride, bias, relu, out y00, out y01, out y10, out y11);
        // after ReLU every output is +0 or above (no NaN, no −0), so any order of the maxima gives MaxPool2d's value
        var v = Vector256.Max(Vector256.Max(y00, y01), Vector256.Max(y10, y11));
        if (lanes == 8)
        {
            Vector128<float> lo = v.GetLower(), hi = v.GetUpper();
            dst[0] = lo.ToScalar();
            dst[plane] = lo.GetElement(1);
            dst[2 * plane] = lo.GetElement(2);
            dst[3 * plane] = lo.GetElement(3);
            dst[4 * plane] = hi.ToScalar();
            dst[5 * plane] = hi.GetElement(1);
            dst[6 * plane] = hi.GetElement(2);
            dst[7 * plane] = hi.GetElement(3);
        }
        else
            for (int i = 0; i < lanes; i++) dst[i * plane] = v.GetElement(i);
    }

    /// <summary>
    /// Y = Aᵀ M A + bias (then ReLU) of one F(4×4, 3×3) tile for 8 output channels, as <see cref="StoreTile4"/> computes it, pooled:
    /// the maxima of its four 2×2 windows to dst (row pitch <paramref name="pw"/>, channels <paramref name="plane"/> apart), the
    /// first <paramref name="lanes"/> channels, <paramref name="rows"/> and <paramref name="cols"/> of the 2×2 pooled outputs.
    /// </summary>
    [SkipLocalsInit] // its stack buffers are written before they are read
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void StoreTile4Pooled(float* m, long xiStride, Vector256<float> bias, bool relu, float* dst, long plane, int pw, int lanes, int rows, int cols)
    {
        var s = stackalloc Vector256<float>[24];
        var y = stackalloc Vector256<float>[16]; // Y[a, b] at 4a + b
        OutputTile4(m, xiStride, bias, relu, s, y);
        // after ReLU every output is +0 or above (no NaN, no −0), so any order of the maxima gives MaxPool2d's value
        var p00 = Vector256.Max(Vector256.Max(y[0], y[1]), Vector256.Max(y[4], y[5]));
        var p01 = Vector256.Max(Vector256.Max(y[2], y[3]), Vector256.Max(y[6], y[7]));
        var p10 = Vector256.Max(Vector256.Max(y[8], y[9]), Vector256.Max(y[12], y[13]));
        var p11 = Vector256.Max(Vector256.Max(y[10], y[11]), Vector256.Max(y[14], y[15]));
        if (lanes == 8 && rows == 2 && cols == 2)
        {
            StoreColumnPairs(p00, p01, dst, plane);
            StoreColumnPairs(p10, p11, dst + pw, plane);
        }
        else StoreEdgeTile(p00, p01, p10, p11, dst, plane, pw, lanes, rows, cols);
    }
}
