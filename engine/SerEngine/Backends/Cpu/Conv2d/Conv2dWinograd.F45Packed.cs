using System.Buffers;
using System.Runtime.Intrinsics;
using static SerEngine.Backends.Cpu.Conv2dChannelVector;
using static SerEngine.Backends.Cpu.CpuBackend;

namespace SerEngine.Backends.Cpu;

// The forward of packed 5×5 filters as F(4×4, 5×5) (Conv2dWinograd.PackedTileSize 4): the panels U [64 ξ][K/16][C][16]
// were transformed once when the weights were packed (PanelsF45), so a call runs only the input transforms, the
// products and the output transforms of Conv2dWinograd.F45.cs. Tasks are (image, band of tile rows, range of
// 16-channel blocks): one image of AttentionFcn's conv2 would be a single band, so with fewer images than threads
// its tile rows are cut into one band per thread (and the blocks as well when the rows run out).
// Each element of M is one FMA chain over the input channels in order (Kernel6x32 and Kernel6x16 give the same
// bits) and every transform is 256-bit, so the result does not depend on the vector width or the thread count.
internal static partial class Conv2dWinograd
{
    /// <summary>This thread's V of <see cref="ForwardPackedF45"/>.</summary>
    [ThreadStatic] private static float[]? _packedF45VScratch;

    /// <summary>This thread's M of <see cref="ForwardPackedF45"/>.</summary>
    [ThreadStatic] private static float[]? _packedF45MScratch;

    /// <summary>
    /// y = conv(x, w) + bias (then ReLU when <paramref name="relu"/>) with w as F(4×4, 5×5) panels at <paramref name="panels"/>
    /// (<see cref="Panels(float[], in Conv2dGeometry, int)"/> where <see cref="PackedTileSize"/> is 4).
    /// </summary>
    private static unsafe void ForwardPackedF45(float[] x, float* panels, float[]? bias, float[] y, in Conv2dGeometry g, bool relu, int threads, bool? wide)
    {
        bool pairs = wide ?? Vector512.IsHardwareAccelerated; // 512-bit products (tests pin both widths: same bits)
        int c = g.C, blocks = CeilDiv(g.K, Lanes), unit = pairs ? 2 : 1;
        int tilesH = CeilDiv(g.OutH, 4), tilesW = CeilDiv(g.OutW, 4), readW = Math.Max(tilesW, 8);
        int wp = 4 * readW + 4, plane = (4 * tilesH + 4) * wp;
        long image = (long)c * plane, uXi = PanelXiStride(g);
        long macs = (long)g.N * 64 * blocks * Lanes * c * tilesH * tilesW;
        int workers = macs < GemmParallelMacs ? 1 : Math.Max(1, threads);
        // fewer (image, band) tasks than threads: more bands first (each thread transforms only its rows, and its smaller V
        // stays in L2 beside M), then the channel blocks too, in whole pairs
        var (bandRows, _) = F45Bands(g, tilesH, tilesW, blocks, unit);
        int bands = CeilDiv(tilesH, bandRows);
        if (g.N * bands < workers)
        {
            bandRows = CeilDiv(tilesH, Math.Min(tilesH, CeilDiv(workers, g.N)));
            bands = CeilDiv(tilesH, bandRows);
        }
        int blockSplits = Math.Clamp(CeilDiv(workers, g.N * bands), 1, CeilDiv(blocks, unit));
        int splitBlocks = RoundUp(CeilDiv(blocks, blockSplits), unit);
        long mBlockBytes = 64L * RoundUp(bandRows * tilesW, Rows) * Lanes * sizeof(float);
        int chunk = Math.Min(splitBlocks, Math.Max(unit, (int)(ChunkBytes / mBlockBytes) / unit * unit));
        var padded = ArrayPool<float>.Shared.Rent((int)(g.N * image)); // [N][C][Hp, Wp]
        var geo = g;
        var padding = new PaddedImage(c, g.H, g.W, g.PadTop, g.PadLeft, wp, plane, (int)image);
        nint ua = (nint)panels;
        try
        {
            ParallelFor(g.N, workers, n =>
            {
                fixed (float* src = x, dst = padded)
                    padding.Write(src + (long)n * geo.C * geo.H * geo.W, dst + n * image);
            });
            ParallelFor(g.N * bands * blockSplits, workers, task =>
            {
                int n = task / (bands * blockSplits), band = task / blockSplits % bands, bs = task % blockSplits;
                int i0 = band * bandRows, rows = Math.Min(bandRows, tilesH - i0);
                int kb0 = Math.Min(blocks, bs * splitBlocks), kb1 = Math.Min(blocks, kb0 + splitBlocks);
                if (kb0 >= kb1) return;
                fixed (float* pin = padded, py = y, pb = bias)
                    BandPackedF45(pin + n * image, wp, plane, (float*)ua, uXi, pb, py + (long)n * geo.K * geo.OutH * geo.OutW, geo,
                        tilesW, i0, rows, kb0, kb1, chunk, relu, pairs);
            });
        }
        finally
        {
            ArrayPool<float>.Shared.Return(padded);
        }
    }

    /// <summary>
    /// Tile rows [i0, i0 + rows) of one padded image (planes <paramref name="plane"/> apart, rows <paramref name="wp"/>) for
    /// channel blocks [kb0, kb1): input transforms into V [64 ξ][C][band tiles], then per chunk of blocks the products point
    /// by point into M [block][group][64 ξ][6][16] and the output transforms into y [K, OutH, OutW].
    /// </summary>
    private static unsafe void BandPackedF45(float* image, int wp, int plane, float* panels, long uXi, float* bias, float* y, in Conv2dGeometry g,
        int tilesW, int i0, int rows, int kb0, int kb1, int chunkBlocks, bool relu, bool pairs)
    {
        int c = g.C, real = rows * tilesW, groups = CeilDiv(real, Rows);
        long vc = real + 8 + 8;          // one channel's tiles in V_ξ, the 8 a short row's run writes past them, and a gap
        long vXi = c * vc + 32;          // (V_ξ apart by 32 floats more than a multiple of 4 KB at most)
        const int mXi = Rows * Lanes;
        long mGroup = 64L * mXi, mBlock = groups * mGroup;
        float* v = CpuScratch.Floats(ref _packedF45VScratch, 64 * vXi);
        float* mAll = CpuScratch.Floats(ref _packedF45MScratch, chunkBlocks * mBlock);
        var offArray = ArrayPool<int>.Shared.Rent(c);
        var atArray = ArrayPool<int>.Shared.Rent(groups * Rows); // the o-th tile of the products (the last repeated to fill the last six)
        try
        {
            fixed (int* off = offArray, at = atArray)
            {
                for (int cc = 0; cc < c; cc++) off[cc] = (int)(cc * vc);
                for (int o = 0; o < groups * Rows; o++) at[o] = Math.Min(o, real - 1);
                // input transforms, rows in order: a row of fewer than 8 tiles writes 8, the next row overwriting the rest
                for (int cc = 0; cc < c; cc++)
                {
                    float* src = image + (long)cc * plane;
                    for (int r = 0; r < rows; r++)
                        for (int j0 = 0; j0 < tilesW; j0 += 8)
                        {
                            int j = tilesW >= 8 ? Math.Min(j0, tilesW - 8) : 0;
                            Input8Alpha8(src + 4 * ((i0 + r) * wp + j), wp, v + cc * vc + r * tilesW + j, vXi);
                        }
                }
                long uBlock = (long)c * Lanes;
                for (int kc0 = kb0; kc0 < kb1; kc0 += chunkBlocks)
                {
                    int kc1 = Math.Min(kb1, kc0 + chunkBlocks);
                    for (int xi = 0; xi < 64; xi++)
                    {
                        float* vx = v + xi * vXi;
                        for (int kb = kc0; kb < kc1;)
                        {
                            bool pair = pairs && kb + 1 < kc1;
                            float* ux = panels + xi * uXi + kb * uBlock, mo = mAll + (kb - kc0) * mBlock + xi * mXi;
                            for (int o = 0; o < groups; o++, mo += mGroup)
                            {
                                int* t = at + o * Rows;
                                if (pair)
                                    Kernel6x32(c, ux, ux + uBlock, off, vx + t[0], vx + t[1], vx + t[2], vx + t[3], vx + t[4], vx + t[5], mo, mo + mBlock);
                                else
                                    Kernel6x16(c, ux, off, vx + t[0], vx + t[1], vx + t[2], vx + t[3], vx + t[4], vx + t[5], mo, accumulate: false);
                            }
                            kb += pair ? 2 : 1;
                        }
                    }
                    StoreChunkF45(mAll, mBlock, mGroup, kc0, kc1, bias, relu, y, g, tilesW, i0, real);
                }
            }
        }
        finally
        {
            ArrayPool<int>.Shared.Return(offArray);
            ArrayPool<int>.Shared.Return(atArray);
        }
    }

    /// <summary>The output transforms of blocks [kc0, kc1) over a band's <paramref name="real"/> tiles from M (block kc0 at <paramref name="mAll"/>), + bias, ReLU, into y.</summary>
    private static unsafe void StoreChunkF45(float* mAll, long mBlock, long mGroup, int kc0, int kc1, float* bias, bool relu, float* y, in Conv2dGeometry g,
        int tilesW, int i0, int real)
    {
        const int mXi = Rows * Lanes;
        int k = g.K, outH = g.OutH, outW = g.OutW;
        long yPlane = (long)outH * outW;
        for (int kb = kc0; kb < kc1; kb++)
        {
            int k0 = kb * Lanes, lanesLow = Math.Min(8, k - k0), lanesHigh = Math.Min(8, k - k0 - 8);
            Vector256<float> biasLow = Bias(bias, k0, lanesLow), biasHigh = lanesHigh > 0 ? Bias(bias, k0 + 8, lanesHigh) : default;
            float* mb = mAll + (kb - kc0) * mBlock;
            for (int e = 0; e < real; e++)
            {
                int r = e / tilesW, j = e - r * tilesW, oh = 4 * (i0 + r), ow = 4 * j;
                float* m = mb + e / Rows * mGroup + e % Rows * Lanes, dst = y + k0 * yPlane + (long)oh * outW + ow;
                int rowsIn = Math.Min(4, outH - oh), colsIn = Math.Min(4, outW - ow);
                StoreTileAlpha8(m, mXi, biasLow, relu, dst, yPlane, outW, lanesLow, rowsIn, colsIn);
                if (lanesHigh > 0)
                    StoreTileAlpha8(m + 8, mXi, biasHigh, relu, dst + 8 * yPlane, yPlane, outW, lanesHigh, rowsIn, colsIn);
            }
        }
    }
}
