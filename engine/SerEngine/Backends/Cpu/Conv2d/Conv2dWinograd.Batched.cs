using System.Buffers;
using System.Runtime.Intrinsics;
using static SerEngine.Backends.Cpu.Conv2dChannelVector;
using static SerEngine.Backends.Cpu.CpuBackend;

namespace SerEngine.Backends.Cpu;

// The per-call F(4×4, 3×3) forward (Conv2dWinograd.TileSize 4: deep 3×3 layers over several images) over the
// whole batch at once, in three passes instead of Forward's bands of one image:
//   input transform   every real tile of every image into V [36 ξ][C][tiles]
//   products          point by point ξ, pair of 16-channel blocks by pair, every group of six tiles of the batch:
//                     M [block][group][36 ξ][6][16]
//   output transform  block by block, group by group, + bias, ReLU, into y
// With ξ outermost each thread keeps V_ξ and U_ξ (a few hundred KB each for AttentionFcn's layers) in its L2
// while it runs every group against them, so U (36 points of K × C) is read once per call instead of once per
// image, and V and M cross memory once each. Each element of M is still one FMA chain over the input channels
// in order (Kernel6x32 and Kernel6x16 give the same bits), so the result does not depend on the vector width
// or the thread count.
internal static partial class Conv2dWinograd
{
    /// <summary>y = conv(x, w) + bias (then ReLU when <paramref name="relu"/>) with F(4×4, 3×3) panels at <paramref name="panels"/>, the whole batch at once.</summary>
    private static unsafe void ForwardBatched(float[] x, float* panels, float[]? bias, float[] y, in Conv2dGeometry g, bool relu, int threads, bool? wide)
    {
        bool pairs = wide ?? Vector512.IsHardwareAccelerated; // 512-bit products (tests pin both widths: same bits)
        var wg = TileGeometry.Of(g, 4);
        int c = g.C, blocks = CeilDiv(g.K, Lanes), points = wg.Points;
        int perImage = wg.TilesH * wg.TilesW, tiles = g.N * perImage, groups = CeilDiv(tiles, Rows);
        long image = (long)c * wg.Plane;
        long vc = tiles + 8 + 8;                 // V_ξ row of one channel: its tiles, the 8 past the last row's, and a gap
        long vXi = c * vc + 32;                  // V_ξ [C][tiles] (32 floats more than a multiple of 4 KB apart at most)
        const int mXi = Rows * Lanes;
        long mGroup = (long)points * mXi, mBlock = groups * mGroup;
        long uXi = PanelXiStride(g);
        var padded = ArrayPool<float>.Shared.Rent((int)(g.N * image));  // [N][C][Hp, Wp]
        var v = ArrayPool<float>.Shared.Rent((int)(points * vXi));     // [36 ξ][C][tiles]
        var mAll = ArrayPool<float>.Shared.Rent((int)(blocks * mBlock)); // [block][group][36 ξ][6][16]
        var off = new int[c];
        for (int cc = 0; cc < c; cc++) off[cc] = (int)(cc * vc);
        var at = new int[groups * Rows]; // the o-th tile of the products (the last repeated to fill the last six)
        for (int o = 0; o < at.Length; o++) at[o] = Math.Min(o, tiles - 1);
        var geo = g;
        var padding = wg.Image(g);
        int workers = Math.Max(1, threads);
        try
        {
            ParallelFor(g.N, workers, n =>
            {
                fixed (float* src = x, dst = padded)
                    padding.Write(src + (long)n * geo.C * geo.H * geo.W, dst + n * image);
            });
            // the input transforms, channel by channel: the rows of 8 tiles are written whole, the next row overwriting the rest
            ParallelFor(workers, workers, task =>
            {
                int c0 = (int)((long)c * task / workers), c1 = (int)((long)c * (task + 1) / workers);
                fixed (float* pin = padded, pv = v)
                    for (int cc = c0; cc < c1; cc++)
                        for (int n = 0; n < geo.N; n++)
                            for (int i = 0; i < wg.TilesH; i++)
                                for (int j0 = 0; j0 < wg.TilesW; j0 += 8)
                                    Input8Tile4(pin + n * image + (long)cc * wg.Plane + 4 * (i * wg.Wp + j0), wg.Wp,
                                        pv + cc * vc + n * perImage + i * wg.TilesW + j0, vXi);
            });
            // the products: (ξ, block pair) tasks in order, each thread a contiguous range of them
            int units = pairs ? CeilDiv(blocks, 2) : blocks, tasks = points * units;
            ParallelFor(workers, workers, task =>
            {
                int t0 = (int)((long)tasks * task / workers), t1 = (int)((long)tasks * (task + 1) / workers);
                fixed (float* pv = v, pm = mAll)
                fixed (int* poff = off, pat = at)
                    for (int t = t0; t < t1; t++)
                    {
                        int xi = t / units, kb = (t % units) * (pairs ? 2 : 1);
                        bool pair = pairs && kb + 1 < blocks;
                        float* vx = pv + xi * vXi, ux = panels + xi * uXi + (long)kb * c * Lanes, mo = pm + kb * mBlock + xi * mXi;
                        for (int o = 0; o < groups; o++, mo += mGroup)
                        {
                            int* q = pat + o * Rows;
                            if (pair)
                                Kernel6x32(c, ux, ux + (long)c * Lanes, poff, vx + q[0], vx + q[1], vx + q[2], vx + q[3], vx + q[4], vx + q[5], mo, mo + mBlock);
                            else
                                Kernel6x16(c, ux, poff, vx + q[0], vx + q[1], vx + q[2], vx + q[3], vx + q[4], vx + q[5], mo, accumulate: false);
                        }
                    }
            });
            // the output transforms, (block, group) by (block, group)
            ParallelFor(workers, workers, task =>
            {
                int all = blocks * groups, s0 = (int)((long)all * task / workers), s1 = (int)((long)all * (task + 1) / workers);
                fixed (float* pm = mAll, py = y, pb = bias)
                    for (int s = s0; s < s1; s++)
                    {
                        int kb = s / groups, o = s % groups;
                        StoreBatchGroup(wg, geo, pm + kb * mBlock + o * mGroup, mXi, o * Rows, Math.Min(Rows, tiles - o * Rows), kb, pb, relu, py);
                    }
            });
        }
        finally
        {
            ArrayPool<float>.Shared.Return(padded);
            ArrayPool<float>.Shared.Return(v);
            ArrayPool<float>.Shared.Return(mAll);
        }
    }

    /// <summary>
    /// The output transforms of <paramref name="count"/> tiles from batch tile <paramref name="first"/> on (image, tile row, tile
    /// column in order) for channel block <paramref name="kb"/>: M [36 ξ][6][16] at m, + bias, ReLU, into y [N, K, OutH, OutW].
    /// </summary>
    private static unsafe void StoreBatchGroup(in TileGeometry wg, in Conv2dGeometry g, float* m, long mXi, int first, int count, int kb, float* bias, bool relu, float* y)
    {
        int k = g.K, outH = g.OutH, outW = g.OutW, k0 = kb * Lanes, perImage = wg.TilesH * wg.TilesW;
        long plane = (long)outH * outW;
        int lanesLow = Math.Min(8, k - k0), lanesHigh = Math.Min(8, k - k0 - 8);
        Vector256<float> biasLow = Bias(bias, k0, lanesLow), biasHigh = lanesHigh > 0 ? Bias(bias, k0 + 8, lanesHigh) : default;
        for (int q = 0; q < count; q++)
        {
            int e = first + q, n = e / perImage, r = e % perImage / wg.TilesW, j = e % wg.TilesW, oh = 4 * r;
            float* dst = y + ((long)n * k + k0) * plane + (long)oh * outW + 4 * j;
            int rowsIn = Math.Min(4, outH - oh), colsIn = Math.Min(4, outW - 4 * j);
            StoreTile4(m + q * Lanes, mXi, biasLow, relu, dst, plane, outW, lanesLow, rowsIn, colsIn);
            if (lanesHigh > 0)
                StoreTile4(m + q * Lanes + 8, mXi, biasHigh, relu, dst + 8 * plane, plane, outW, lanesHigh, rowsIn, colsIn);
        }
    }
}
