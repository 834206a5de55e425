using System.Buffers;
using System.Runtime.Intrinsics;
using static SerEngine.Backends.Cpu.Conv2dChannelVector;
using static SerEngine.Backends.Cpu.CpuBackend;

namespace SerEngine.Backends.Cpu;

// The backward-weight on 4×4 tiles (Conv2dWinograd.WeightTileSize; transforms in Conv2dWinograd.BackwardWeight4.cs) over
// the whole batch at once, in passes shared by the threads instead of the 2×2 driver's bands (where each thread
// transforms all of x and streams its dU once per band):
//   padding        x into zero-padded planes, dy into zero-padded planes of whole 4×4 blocks (by image)
//   transforms     V [α² ξ][tile][C'] of x by groups of 8 channels, dM [α² ξ][tile][K'] of dy by groups of 8 channels;
//                  the real tiles of the batch (image, tile row, tile column), 8 at a time, each patch gathered
//   products       point by point ξ (each thread a range of points): dU_ξ [K', C'] = Σ_tiles dM_ξᵀ V_ξ, column block by
//                  column block, with the micro-tiles of the 2×2 driver run over every tile in one go
//   filters        dw = Gᵀ dU G by ranges of output channels
// Each element of dU is one FMA chain over the tiles in order from zero, as in the banded driver (its stores between
// bands do not round), so the bits depend on neither the vector width nor the thread count.
internal static partial class Conv2dWinograd
{
    /// <summary>dw [K, C, R, R] of conv(x, w) given dy on F(4×4, R×R) tiles for the whole batch at once (see the comment above).</summary>
    private static unsafe void BackwardWeightBatched(float[] x, float[] dy, float[] dw, in Conv2dGeometry g, int threads, bool wide)
    {
        var wg = TileGeometry.Of(g, 4);
        int alpha = wg.Alpha, points = wg.Points, tilesH = wg.TilesH, tilesW = wg.TilesW, perImage = tilesH * tilesW;
        int tiles = g.N * perImage, groups = CeilDiv(tiles, 8);
        int channels = RoundUp(g.C, Lanes), kPad = RoundUp(g.K, 8), ldk = RoundUp(kPad, WeightRows);
        // x: a patch reads rows 4i .. 4i + α − 1 and columns 4j .. 4j + 7; dy: whole 4×4 blocks
        int wp = 4 * tilesW + 4, plane = (4 * tilesH + g.R - 1) * wp, dyW = 4 * tilesW, dyPlane = 4 * tilesH * dyW;
        long xImage = (long)channels * plane, dyImage = (long)kPad * dyPlane;
        // a line more than whole rows between V's and dM's points: the α² rows one transform writes fall in different cache sets
        long vXi = (long)groups * 8 * channels + Lanes, mXi = (long)groups * 8 * ldk + Lanes, uXi = (long)ldk * channels;
        long xFloats = g.N * xImage, uFloats = points * uXi;
        // x's planes are read only before the products, dU only from them on: one buffer for both
        var xu = ArrayPool<float>.Shared.Rent((int)Math.Max(xFloats, uFloats) + 16);
        var dyp = ArrayPool<float>.Shared.Rent((int)(g.N * dyImage));
        var vm = ArrayPool<float>.Shared.Rent((int)(points * (vXi + mXi)) + 16);
        var xOff = new long[groups * 8];  // tile e's patch in the padded x of its image's channel 0 (the last tile repeated to fill 8)
        var dyOff = new long[groups * 8]; // and its block in the padded dy
        for (int e = 0; e < xOff.Length; e++)
        {
            int t = Math.Min(e, tiles - 1), n = t / perImage, i = t % perImage / tilesW, j = t % tilesW;
            xOff[e] = n * xImage + 4L * i * wp + 4 * j;
            dyOff[e] = n * dyImage + 4L * i * dyW + 4 * j;
        }
        var geo = g;
        var padding = new PaddedImage(g.C, g.H, g.W, g.PadTop, g.PadLeft, wp, plane, g.C * plane);
        int workers = Math.Max(1, threads);
        try
        {
            fixed (float* pxu = xu, pdyp = dyp, pvm = vm, px = x, pdy = dy, pdw = dw)
            fixed (long* pxOff = xOff, pdyOff = dyOff)
            {
                float* xp = pxu, u = (float*)(((nint)pxu + 63) & ~(nint)63), v = (float*)(((nint)pvm + 63) & ~(nint)63), m = v + points * vXi;
                nint xpA = (nint)xp, uA = (nint)u, vA = (nint)v, mA = (nint)m, dypA = (nint)pdyp, xA = (nint)px, dyA = (nint)pdy, dwA = (nint)pdw;
                nint xOffA = (nint)pxOff, dyOffA = (nint)pdyOff;
                ParallelFor(g.N, workers, n =>
                {
                    float* xn = (float*)xpA + n * xImage, dyn = (float*)dypA + n * dyImage;
                    padding.Write((float*)xA + (long)n * geo.C * geo.H * geo.W, xn);
                    new Span<float>(xn + padding.Length, (int)(xImage - padding.Length)).Clear(); // the planes past C
                    new Span<float>(dyn, (int)dyImage).Clear();
                    for (int k = 0; k < geo.K; k++)
                        for (int oh = 0; oh < geo.OutH; oh++)
                            CopyFloats(dyn + (long)k * dyPlane + oh * dyW, (float*)dyA + (((long)n * geo.K + k) * geo.OutH + oh) * geo.OutW, geo.OutW);
                });
                // the transforms: groups of 8 channels of x, then of dy, each thread a contiguous range of them
                int xGroups = channels / 8, units = xGroups + kPad / 8;
                ParallelFor(workers, workers, task =>
                {
                    int u0 = (int)((long)units * task / workers), u1 = (int)((long)units * (task + 1) / workers);
                    var scratch = stackalloc float[64 * 64 + 16];
                    float* s = (float*)(((nint)scratch + 63) & ~(nint)63); // [α² ξ][8 channels][8 tiles]
                    var work = stackalloc Vector256<float>[40];
                    var rows = stackalloc float*[8];
                    for (int i = 0; i < 8; i++) rows[i] = s + 8 * i;
                    for (int unit = u0; unit < u1; unit++)
                    {
                        bool isX = unit < xGroups;
                        int c0 = 8 * (isX ? unit : unit - xGroups);
                        for (int o = 0; o < groups; o++)
                        {
                            float* dst;
                            if (isX)
                            {
                                for (int q = 0; q < 8; q++) InputGather(alpha, (float*)xpA + (long)(c0 + q) * plane, (long*)xOffA + 8 * o, wp, s + 8 * q);
                                dst = (float*)vA + 8L * o * channels + c0;
                                for (int xi = 0; xi < points; xi++) Conv2dPack.Transpose8x8(rows, 64 * xi, dst + xi * vXi, channels);
                            }
                            else
                            {
                                for (int q = 0; q < 8; q++) OutputAdjointGather(alpha, (float*)dypA + (long)(c0 + q) * dyPlane, (long*)dyOffA + 8 * o, dyW, s + 8 * q, work);
                                dst = (float*)mA + 8L * o * ldk + c0;
                                for (int xi = 0; xi < points; xi++) Conv2dPack.Transpose8x8(rows, 64 * xi, dst + xi * mXi, ldk);
                            }
                        }
                    }
                });
                if (ldk > kPad) // the rows of dM past K' (never written)
                    for (int xi = 0; xi < points; xi++)
                        for (long t = 0; t < groups * 8; t++) new Span<float>((float*)mA + xi * mXi + t * ldk + kPad, ldk - kPad).Clear();
                // the products, point by point: each thread a contiguous range of points
                ParallelFor(workers, workers, task =>
                {
                    int x0 = points * task / workers, x1 = points * (task + 1) / workers;
                    for (int xi = x0; xi < x1; xi++)
                    {
                        float* ux = (float*)uA + xi * uXi, vx = (float*)vA + xi * vXi, mx = (float*)mA + xi * mXi;
                        new Span<float>(ux, ldk * channels).Clear();
                        int c = 0;
                        if (wide)
                            for (; c + 4 * Lanes <= channels; c += 4 * Lanes)
                                for (int kr = 0; kr < ldk; kr += WeightRows) WeightKernel6x64(tiles, mx + kr, ldk, vx + c, channels, ux + (long)kr * channels + c, channels);
                        for (; c < channels; c += Lanes)
                            for (int kr = 0; kr < ldk; kr += WeightRows) WeightKernel6x16(tiles, mx + kr, ldk, vx + c, channels, ux + (long)kr * channels + c, channels);
                    }
                });
                // dw = Gᵀ dU G by ranges of output channels
                ParallelFor(workers, workers, task =>
                {
                    int k0 = (int)((long)geo.K * task / workers), k1 = (int)((long)geo.K * (task + 1) / workers);
                    if (k1 > k0) FilterAdjoint((float*)uA + (long)k0 * channels, ldk, channels, geo, wg, k0, k1 - k0, (float*)dwA);
                });
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(xu);
            ArrayPool<float>.Shared.Return(dyp);
            ArrayPool<float>.Shared.Return(vm);
        }
    }
}
