using System.Buffers;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using static SerEngine.Backends.Cpu.Conv2dChannelVector;
using static SerEngine.Backends.Cpu.Conv2dEpilogue;
using static SerEngine.Backends.Cpu.CpuBackend;

namespace SerEngine.Backends.Cpu;

// The per-call 5×5 forward over several images as F(4×4, 5×5) (the driver also runs backward-input's adjoint
// correctly, but that changed AttentionFcn's training more than the forward alone: not routed here) (Conv2dWinograd.F45.cs): filters transformed once per call into U [64 ξ][K/16][C][16], then
// one task per (image, band of tile rows):
//   input transform   8 tiles at a time (a row's last run of 8 overlapping the one before it), V [64 ξ][C][band tiles]
//   products          per chunk of channel blocks, point by point ξ, every group of six tiles: M [block][group][64 ξ][6][16]
//   output transform  8 channels of a tile at a time, + bias, ReLU, as rows of four floats
// Each element of M is one FMA chain over the input channels in order (Kernel6x32 and Kernel6x16 give the same
// bits) and every transform is 256-bit, so the result does not depend on the vector width or the thread count.
internal static partial class Conv2dWinograd
{
    /// <summary>Most bytes of V one band of <see cref="ForwardF45"/> holds (beyond L2: re-read once per chunk).</summary>
    private const long F45BandBytes = 3L << 20;

    /// <summary>This thread's V of <see cref="ForwardF45"/>.</summary>
    [ThreadStatic] private static float[]? _f45VScratch;

    /// <summary>This thread's M of <see cref="ForwardF45"/>.</summary>
    [ThreadStatic] private static float[]? _f45MScratch;

    /// <summary>y = conv(x, w) + bias (then ReLU) with w read through <paramref name="layout"/>, as F(4×4, 5×5).</summary>
    private static unsafe void ForwardF45(float[] x, float[] w, FilterLayout layout, float[]? bias, float[] y, in Conv2dGeometry g, bool relu, int threads, bool? wide)
    {
        bool pairs = wide ?? Vector512.IsHardwareAccelerated; // 512-bit products (tests pin both widths: same bits)
        int c = g.C, blocks = CeilDiv(g.K, Lanes);
        int tilesH = CeilDiv(g.OutH, 4), tilesW = CeilDiv(g.OutW, 4), readW = Math.Max(tilesW, 8);
        int wp = 4 * readW + 4, plane = (4 * tilesH + 4) * wp;
        long image = (long)c * plane;
        long uXi = (long)blocks * c * Lanes + Lanes; // a line more than whole K/16 · C · 16: the 64 lines of a filter transform in different sets
        var panels = ArrayPool<float>.Shared.Rent((int)(64 * uXi + 16));
        var padded = ArrayPool<float>.Shared.Rent((int)(g.N * image));
        var geo = g;
        var padding = new PaddedImage(c, g.H, g.W, g.PadTop, g.PadLeft, wp, plane, (int)image);
        int workers = Math.Max(1, threads);
        var (bandRows, chunk) = F45Bands(g, tilesH, tilesW, blocks, pairs ? 2 : 1);
        int bands = CeilDiv(tilesH, bandRows);
        try
        {
            fixed (float* pp = panels)
            {
                float* u = (float*)(((nint)pp + 63) & ~(nint)63);
                PanelsF45(w, layout, g, u, uXi, workers);
                nint ua = (nint)u;
                ParallelFor(g.N, workers, n =>
                {
                    fixed (float* src = x, dst = padded)
                        padding.Write(src + (long)n * geo.C * geo.H * geo.W, dst + n * image);
                });
                ParallelFor(g.N * bands, workers, task =>
                {
                    int n = task / bands, i0 = task % bands * bandRows, rows = Math.Min(bandRows, tilesH - i0);
                    fixed (float* pin = padded, py = y, pb = bias)
                        BandF45(pin + n * image, wp, plane, (float*)ua, uXi, pb, py + (long)n * geo.K * geo.OutH * geo.OutW, geo, tilesW, i0, rows, 0, blocks, chunk, relu, pairs);
                });
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(panels);
            ArrayPool<float>.Shared.Return(padded);
        }
    }

    /// <summary>
    /// Tile rows per band and channel blocks per chunk: the band with the fewest bytes moved per real tile (U once per band,
    /// V once more per chunk when it outgrows L2), counting the padding of the last group of six as work, up to <see cref="F45BandBytes"/>.
    /// </summary>
    private static (int Rows, int Chunk) F45Bands(in Conv2dGeometry g, int tilesH, int tilesW, int blocks, int unit)
    {
        long rowBytes = 64L * g.C * tilesW * sizeof(float), u = 64L * g.C * blocks * Lanes * sizeof(float);
        int Chunk(int rows)
        {
            long mBlock = 64L * RoundUp(rows * tilesW, Rows) * Lanes * sizeof(float);
            return Math.Min(blocks, Math.Max(unit, (int)(ChunkBytes / mBlock) / unit * unit));
        }
        (int, int) best = (1, Chunk(1));
        double bestCost = double.MaxValue;
        for (int rows = 1; rows <= tilesH && (rows == 1 || (rows * rowBytes <= F45BandBytes && rows * tilesW <= 1024)); rows++)
        {
            int chunk = Chunk(rows), chunks = CeilDiv(blocks, chunk), real = rows * tilesW;
            long v = rows * rowBytes;
            double cost = (u + v * (1 + (v <= ResidentBytes ? 1 : chunks))) / (double)real * RoundUp(real, Rows) / real;
            if (cost < bestCost * 0.999)
            {
                bestCost = cost;
                best = (rows, chunk);
            }
        }
        return best;
    }

    /// <summary>
    /// Tile rows [i0, i0 + rows) of one padded image (planes <paramref name="plane"/> apart, rows <paramref name="wp"/>) for channel
    /// blocks [kb0, kb1): input transforms into V [64 ξ][C][band tiles], then per chunk of blocks the products point by point into
    /// M [block][group][64 ξ][6][16] and the output transforms into y [K, OutH, OutW].
    /// </summary>
    private static unsafe void BandF45(float* image, int wp, int plane, float* panels, long uXi, float* bias, float* y, in Conv2dGeometry g,
        int tilesW, int i0, int rows, int kb0, int kb1, int chunkBlocks, bool relu, bool pairs)
    {
        int c = g.C;
        int real = rows * tilesW, groups = CeilDiv(real, Rows);
        long vc = real + 8 + 8;          // one channel's tiles in V_ξ, the 8 a short row's run writes past them, and a gap
        long vXi = c * vc + 32;          // (V_ξ apart by 32 floats more than a multiple of 4 KB at most)
        const int mXi = Rows * Lanes;
        long mGroup = 64L * mXi, mBlock = groups * mGroup;
        float* v = CpuScratch.Floats(ref _f45VScratch, 64 * vXi);
        float* mAll = CpuScratch.Floats(ref _f45MScratch, chunkBlocks * mBlock);
        var offArray = ArrayPool<int>.Shared.Rent(c);
        var atArray = ArrayPool<int>.Shared.Rent(groups * Rows); // the o-th tile of the products (the last repeated to fill the last six)
        fixed (int* off = offArray, at = atArray)
        {
            for (int cc = 0; cc < c; cc++) off[cc] = (int)(cc * vc);
            for (int o = 0; o < groups * Rows; o++) at[o] = Math.Min(o, real - 1);
            BandF45Work(image, wp, plane, panels, uXi, bias, y, g, tilesW, i0, rows, kb0, kb1, chunkBlocks, relu, pairs, v, vc, vXi, mAll, mBlock, off, at);
        }
        ArrayPool<int>.Shared.Return(offArray);
        ArrayPool<int>.Shared.Return(atArray);
    }

    /// <summary>The work of <see cref="BandF45"/> with its buffers: V (channels <paramref name="vc"/> apart), M, the channel offsets and tile positions.</summary>
    private static unsafe void BandF45Work(float* image, int wp, int plane, float* panels, long uXi, float* bias, float* y, in Conv2dGeometry g,
        int tilesW, int i0, int rows, int kb0, int kb1, int chunkBlocks, bool relu, bool pairs, float* v, long vc, long vXi, float* mAll, long mBlock, int* off, int* at)
    {
        int c = g.C, real = rows * tilesW, groups = CeilDiv(real, Rows);
        const int mXi = Rows * Lanes;
        long mGroup = 64L * mXi;
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

    /// <summary>
    /// U[ξ = 8ρ + σ] = (G g Gᵀ)[ρ, σ] of F(4×4, 5×5) for every filter g = w[k, c] (read through <paramref name="layout"/>) into
    /// panels u [64 ξ][K/16][C][16] (U_ξ <paramref name="xiStride"/> apart; lanes past K zero); 8 output channels at a time, one per lane.
    /// </summary>
    private static unsafe void PanelsF45(float[] w, FilterLayout layout, in Conv2dGeometry g, float* u, long xiStride, int threads)
    {
        int k = g.K, c = g.C;
        ParallelFor(CeilDiv(k, 8), (long)k * c * 25 >= ParallelElements ? threads : 1, kb =>
        {
            int k0 = 8 * kb, live = Math.Min(8, k - k0);
            var taps = stackalloc Vector256<float>[25]; // g [5, 5], 8 filters
            var gg = stackalloc Vector256<float>[40];   // G·g [8, 5]
            var uu = stackalloc Vector256<float>[64];   // G·g·Gᵀ [8, 8]
            var lanes = stackalloc int[8];
            for (int i = 0; i < 8; i++) lanes[i] = Math.Min(i, live - 1) * layout.KStride;
            var index = Vector256.Load(lanes);
            var mask = Vector256.LessThan(Vector256.Create(0, 1, 2, 3, 4, 5, 6, 7), Vector256.Create(live)).AsSingle();
            fixed (float* pw = w)
                for (int cc = 0; cc < c; cc++)
                {
                    float* filters = pw + (long)k0 * layout.KStride + (long)cc * layout.CStride + layout.QFirst;
                    for (int q = 0; q < 25; q++)
                        taps[q] = Avx2.GatherMaskVector256(Vector256<float>.Zero, filters + q * layout.QStep, index, mask, 4);
                    for (int s = 0; s < 5; s++) ApplyG8(taps[s], taps[5 + s], taps[10 + s], taps[15 + s], taps[20 + s], gg + s, 5);
                    for (int rho = 0; rho < 8; rho++) ApplyG8(gg[5 * rho], gg[5 * rho + 1], gg[5 * rho + 2], gg[5 * rho + 3], gg[5 * rho + 4], uu + 8 * rho, 1);
                    float* lane = u + ((long)(k0 / Lanes) * c + cc) * Lanes + k0 % Lanes;
                    for (int xi = 0; xi < 64; xi++) uu[xi].Store(lane + xi * xiStride);
                }
        });
    }
}
