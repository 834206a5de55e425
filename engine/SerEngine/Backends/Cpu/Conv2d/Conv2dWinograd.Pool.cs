using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using static SerEngine.Backends.Cpu.Conv2dChannelVector;

namespace SerEngine.Backends.Cpu;

// The pooled store of the Winograd forward (Backend.Conv2dForwardPackedReluMaxPool): with 2×2 output tiles each
// tile is exactly one window of a 2×2, stride-2 max pool, so the output transform keeps only the largest of its
// four outputs (after bias and ReLU, which are monotone: the same value MaxPool2d picks from the stored map).
// The driver runs over a geometry whose output size is even (CpuBackend cuts an odd last row or column by one
// padding less), so every tile is whole; y is [N, K, OutH/2, OutW/2].
internal static partial class Conv2dWinograd
{
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
}
