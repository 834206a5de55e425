using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using static SerEngine.Backends.Cpu.Conv2dChannelVector;
using static SerEngine.Backends.Cpu.CpuBackend;

namespace SerEngine.Backends.Cpu;

// The banded backward-weight of Conv2dWinograd.BackwardWeight.cs on 2×2 tiles with its transforms channel-last: each
// image of x (and this task's channels of dy) is first transposed into zero-padded pixel-major planes
//   xT [Hp][Wp'][C']   (Hp = 2·tilesH + R − 1, Wp' = 2·tilesW + R − 1, C' = C rounded up to the micro-tile's lanes)
//   dyT [2·tilesH][2·tilesW][ks]
// by 8×8 register transposes, so V = Bᵀ d B and dM = A dY Aᵀ of one tile come out with 8 channels in the lanes, already
// in the GEMM's layout V [α² ξ][tile][C'], dM [α² ξ][tile][ldk]: no transpose per transform point, and only the real tiles
// of a row (not its padding to 8). Lane for lane the arithmetic is the tile-in-lanes transforms' (Input8, Input8Alpha6,
// OutputAdjoint8), and the products and their order are the same, so both give the same bits.
internal static partial class Conv2dWinograd
{
    /// <summary>
    /// Tiles of a channel-last band at least (whole tile rows, or whole images when one has fewer): half the tile-in-lanes
    /// driver's <see cref="WeightBandTiles"/>, as the cheaper transforms leave V and dM crossing L2 the larger cost (per-call
    /// timings in FCN-BWDW-2026-12-07-c.md; bands change no bits).
    /// </summary>
    private const int WeightLastBandTiles = 54;

    /// <summary>
    /// <see cref="WeightTask"/> for 2×2 tiles with channel-last transforms (see the comment above): dw for output channels [k0, k1)
    /// over every image, each element of dU one FMA chain over the tiles in order.
    /// </summary>
    private static unsafe void WeightTaskLast(float[] x, float[] dy, float[] dw, in Conv2dGeometry g, in TileGeometry wg, int k0, int k1, int channels, bool wide)
    {
        // 8-row micro-tiles where only 16-channel ones run and 32 registers hold them: dM needs no rows past ks (a multiple of 8)
        bool eight = wide && channels < 4 * Lanes;
        int bandTarget = WeightLastBandTiles;
        int points = wg.Points, alpha = wg.Alpha, ks = k1 - k0, ldk = eight ? ks : RoundUp(ks, WeightRows), tilesW = wg.TilesW, tilesH = wg.TilesH;
        int bandRows = Math.Min(tilesH, CeilDiv(bandTarget, tilesW));
        int bandImages = bandRows < tilesH ? 1 : Math.Clamp(bandTarget / (tilesH * tilesW), 1, g.N);
        int bandTiles = bandImages * bandRows * tilesW;
        int hp = 2 * tilesH + g.R - 1, wp = 2 * tilesW + g.R - 1, dyH = 2 * tilesH, dyW = 2 * tilesW;
        long pixel = channels, row = (long)wp * channels, xImage = hp * row, dyImage = (long)dyH * dyW * ks;
        long xFloats = bandImages * xImage, dyFloats = bandImages * dyImage;
        // a cache line more than whole 4 KB pages between points: a transform's α² stores fall in different L1 sets
        long vXi = RoundUp(bandTiles * channels, 1024) + 16, mXi = RoundUp(bandTiles * ldk, 1024) + 16, uFloats = (long)points * ldk * channels;
        float* buffer = CpuScratch.Floats(ref _weightScratch, xFloats + dyFloats + points * (vXi + mXi) + uFloats);
        float* xt = buffer, dyt = xt + xFloats, v = dyt + dyFloats, m = v + points * vXi, u = m + points * mXi;
        new Span<float>(xt, (int)(xFloats + dyFloats)).Clear(); // the padding, the channels past C and past kLive stay zero
        new Span<float>(u, (int)uFloats).Clear();
        if (ldk > ks) new Span<float>(m, (int)(points * mXi)).Clear(); // the rows of dM past ks (never written)
        var work = stackalloc Vector256<float>[40];
        var rows = stackalloc float*[8];
        int kLive = Math.Min(k1, g.K) - k0, outH = g.OutH, outW = g.OutW;
        long xPlane = (long)g.H * g.W, dyPlane = (long)outH * outW;
        fixed (float* px = x, pdy = dy)
            for (int n0 = 0; n0 < g.N; n0 += bandImages)
            {
                int images = Math.Min(bandImages, g.N - n0);
                for (int l = 0; l < images; l++)
                {
                    int n = n0 + l;
                    TransposeToLast(px + (long)n * g.C * xPlane, g.C, g.H, g.W, xPlane, xt + l * xImage + g.PadTop * row + g.PadLeft * pixel, wp, channels, rows);
                    TransposeToLast(pdy + ((long)n * g.K + k0) * dyPlane, kLive, outH, outW, dyPlane, dyt + l * dyImage, dyW, ks, rows);
                }
                for (int b0 = 0; b0 < tilesH; b0 += bandRows)
                {
                    int bandEnd = Math.Min(tilesH, b0 + bandRows), tiles = images * (bandEnd - b0) * tilesW;
                    // V and dM of the band's tiles (image, row, column in order), 8 channels at a time
                    int bandH = bandEnd - b0;
                    for (int l = 0; l < images; l++)
                    {
                        long t0 = (long)l * bandH * tilesW;
                        if (alpha == 6) // down each column of tiles: the rows of d B two tiles share are transformed once
                            for (int j = 0; j < tilesW; j++)
                                for (int c = 0; c < channels; c += 8)
                                    InputColumnLast6(xt + l * xImage + 2 * b0 * row + 2 * j * pixel + c, pixel, row, bandH, v + (t0 + j) * channels + c, tilesW * pixel, vXi, work);
                        for (int i = b0; i < bandEnd; i++)
                            for (int j = 0; j < tilesW; j++)
                            {
                                long t = t0 + (long)(i - b0) * tilesW + j;
                                if (alpha == 4)
                                {
                                    float* patch = xt + l * xImage + 2 * i * row + 2 * j * pixel, vt = v + t * channels;
                                    for (int c = 0; c < channels; c += 8) InputLast4(patch + c, pixel, row, vt + c, vXi);
                                }
                                float* block = dyt + l * dyImage + ((long)2 * i * dyW + 2 * j) * ks, mt = m + t * ldk;
                                for (int kk = 0; kk < ks; kk += 8)
                                    if (alpha == 4) OutputAdjointLast4(block + kk, ks, (long)dyW * ks, mt + kk, mXi);
                                    else OutputAdjointLast6(block + kk, ks, (long)dyW * ks, mt + kk, mXi);
                            }
                    }
                    // dU_ξ += dM_ξᵀ V_ξ over the band's tiles
                    if (eight)
                        for (int xi = 0; xi < points; xi++)
                            for (int kr = 0; kr < ldk; kr += 8)
                            {
                                float* mr = m + xi * mXi + kr, vr = v + xi * vXi, ur = u + ((long)xi * ldk + kr) * channels;
                                for (int c = 0; c < channels; c += Lanes) WeightKernel8x16(tiles, mr, ldk, vr + c, channels, ur + c, channels);
                            }
                    else
                    for (int xi = 0; xi < points; xi++)
                        for (int kr = 0; kr < ldk; kr += WeightRows)
                        {
                            float* mr = m + xi * mXi + kr, vr = v + xi * vXi, ur = u + ((long)xi * ldk + kr) * channels;
                            int c = 0;
                            if (wide)
                                for (; c + 4 * Lanes <= channels; c += 4 * Lanes) WeightKernel6x64(tiles, mr, ldk, vr + c, channels, ur + c, channels);
                            for (; c < channels; c += Lanes) WeightKernel6x16(tiles, mr, ldk, vr + c, channels, ur + c, channels);
                        }
                }
            }
        fixed (float* pdw = dw)
            FilterAdjoint(u, ldk, channels, g, wg, k0, kLive, pdw);
    }

    /// <summary>
    /// dst[(h·<paramref name="pitch"/> + w)·<paramref name="lanes"/> + c] = src[c·<paramref name="plane"/> + h·<paramref name="width"/> + w]
    /// for c &lt; <paramref name="count"/>: planes [count][height, width] to pixel-major rows, by 8×8 transposes where 8 planes
    /// and 8 columns are left; <paramref name="rows"/> holds 8 pointers.
    /// </summary>
    internal static unsafe void TransposeToLast(float* src, int count, int height, int width, long plane, float* dst, int pitch, int lanes, float** rows)
    {
        // row by row, all the channel groups of a row in turn: a pixel's 64-byte line is filled while it is in L1
        int whole = count / 8 * 8;
        for (int h = 0; h < height; h++)
        {
            float* line = dst + (long)h * pitch * lanes;
            for (int c0 = 0; c0 < whole; c0 += 8)
            {
                for (int q = 0; q < 8; q++) rows[q] = src + (c0 + q) * plane + (long)h * width;
                int w = 0;
                for (; w + 8 <= width; w += 8) Conv2dPack.Transpose8x8(rows, w, line + (long)w * lanes + c0, lanes);
                // a ragged end as one more transpose ending at the last column (it rewrites a few values already there)
                if (w < width && width >= 8) Conv2dPack.Transpose8x8(rows, width - 8, line + (long)(width - 8) * lanes + c0, lanes);
                else
                    for (; w < width; w++)
                        for (int q = 0; q < 8; q++) line[(long)w * lanes + c0 + q] = rows[q][w];
            }
            for (int c0 = whole; c0 < count; c0++)
            {
                float* s = src + c0 * plane + (long)h * width;
                for (int w = 0; w < width; w++) line[(long)w * lanes + c0] = s[w];
            }
        }
    }

    /// <summary>
    /// V_ξ of one F(2×2, 3×3) tile for 8 channels: p is the tile's 4×4 patch in a channel-last plane (pixels
    /// <paramref name="pixel"/> floats apart, rows <paramref name="row"/>), V_ξ to v + ξ·<paramref name="xiStride"/>;
    /// <see cref="Input8"/>'s arithmetic lane for lane.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void InputLast4(float* p, long pixel, long row, float* v, long xiStride) =>
        InputTransform(new ChannelLastRows(pixel), p, row, v, xiStride);

    /// <summary>8 channels of one pixel in the lanes, pixels <c>pixel</c> floats apart (<see cref="InputRowLast"/>).</summary>
    private readonly struct ChannelLastRows(long pixel) : IInputRows
    {
        public unsafe (Vector256<float>, Vector256<float>, Vector256<float>, Vector256<float>) Row(float* p) => InputRowLast(p, pixel);
    }

    /// <summary>(d B)[r, ·] of one patch row for 8 channels (<see cref="InputRow"/>'s arithmetic): d0 − d2, d1 + d2, d2 − d1, d1 − d3.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe (Vector256<float>, Vector256<float>, Vector256<float>, Vector256<float>) InputRowLast(float* p, long pixel)
    {
        Vector256<float> d0 = Vector256.Load(p), d1 = Vector256.Load(p + pixel), d2 = Vector256.Load(p + 2 * pixel), d3 = Vector256.Load(p + 3 * pixel);
        return (d0 - d2, d1 + d2, d2 - d1, d1 - d3);
    }

    /// <summary>
    /// V_ξ (ξ = 6ρ + σ) of <paramref name="tiles"/> F(2×2, 5×5) tiles down a column for 8 channels: p is the first tile's
    /// 6×6 patch in a channel-last plane (pixels <paramref name="pixel"/> floats apart, rows <paramref name="row"/>), tile i's
    /// V_ξ to v + i·<paramref name="tileStep"/> + ξ·<paramref name="xiStride"/>. <see cref="Input8Alpha6"/>'s arithmetic lane
    /// for lane: each patch row through Bᵀ, then each column; a tile shares four patch rows with the next, so each row of
    /// d B is computed once; <paramref name="q"/> holds 36 vectors (a ring of six rows of d B).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void InputColumnLast6(float* p, long pixel, long row, int tiles, float* v, long tileStep, long xiStride, Vector256<float>* q)
    {
        for (int r = 0; r < 4; r++) InputRowLast6(p + r * row, pixel, q + 6 * r);
        for (int i = 0; i < tiles; i++, v += tileStep)
        {
            int r4 = 2 * i + 4;
            InputRowLast6(p + r4 * row, pixel, q + 6 * (r4 % 6));
            InputRowLast6(p + (r4 + 1) * row, pixel, q + 6 * ((r4 + 1) % 6));
            Vector256<float>* q0 = q + 6 * (2 * i % 6), q1 = q + 6 * ((2 * i + 1) % 6), q2 = q + 6 * ((2 * i + 2) % 6);
            Vector256<float>* q3 = q + 6 * ((2 * i + 3) % 6), q4 = q + 6 * (r4 % 6), q5 = q + 6 * ((r4 + 1) % 6);
            for (int sigma = 0; sigma < 6; sigma++)
                TransformB6Store(q0[sigma], q1[sigma], q2[sigma], q3[sigma], q4[sigma], q5[sigma], v + sigma * xiStride, 6 * xiStride);
        }
    }

    /// <summary>(d B)[r, ·] of one 6-wide patch row for 8 channels (the forward's <c>TransformB6</c>) into q[0..5].</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void InputRowLast6(float* d, long pixel, Vector256<float>* q) =>
        TransformB6(Vector256.Load(d), Vector256.Load(d + pixel), Vector256.Load(d + 2 * pixel), Vector256.Load(d + 3 * pixel),
            Vector256.Load(d + 4 * pixel), Vector256.Load(d + 5 * pixel), q);

    /// <summary><c>TransformB6</c>'s arithmetic, (Bᵀ x)[i] stored to y + i·<paramref name="step"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void TransformB6Store(Vector256<float> x0, Vector256<float> x1, Vector256<float> x2, Vector256<float> x3,
        Vector256<float> x4, Vector256<float> x5, float* y, long step)
    {
        var four = Vector256.Create(4f);
        var five = Vector256.Create(5f);
        var x4m2 = x4 - x2;
        (Fmadd(four, x0, x4) - five * x2).Store(y);
        var a = four * (x1 + x2);
        var b = four * x1;
        (x3 + x4 - a).Store(y + step);
        (b - four * x2 - x3 + x4).Store(y + 2 * step);
        var c = (x3 - x1) * Vector256.Create(2f);
        (c + x4m2).Store(y + 3 * step);
        (x4m2 - c).Store(y + 4 * step);
        (Fmadd(four, x1, x5) - five * x3).Store(y + 5 * step);
    }

    /// <summary>
    /// dM = A dY Aᵀ of one F(2×2, 3×3) tile for 8 output channels: p is the tile's 2×2 block in a channel-last dy plane
    /// (pixels <paramref name="pixel"/> floats apart, rows <paramref name="row"/>), dM_ξ to dst + ξ·<paramref name="xiStride"/>;
    /// <see cref="OutputAdjoint8"/>'s arithmetic lane for lane (<see cref="ExpandA"/>: a, a + b, a − b, −b), in registers.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void OutputAdjointLast4(float* p, long pixel, long row, float* dst, long xiStride)
    {
        Vector256<float> a0 = Vector256.Load(p), b0 = Vector256.Load(p + pixel), a1 = Vector256.Load(p + row), b1 = Vector256.Load(p + row + pixel);
        long step = 4 * xiStride;
        ExpandAStore4(a0, a1, dst, step);
        ExpandAStore4(a0 + b0, a1 + b1, dst + xiStride, step);
        ExpandAStore4(a0 - b0, a1 - b1, dst + 2 * xiStride, step);
        ExpandAStore4(-b0, -b1, dst + 3 * xiStride, step);
    }

    /// <summary><see cref="ExpandA"/> of F(2, 3) (a, a + b, a − b, −b) stored to y + i·<paramref name="step"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void ExpandAStore4(Vector256<float> a, Vector256<float> b, float* y, long step)
    {
        a.Store(y);
        (a + b).Store(y + step);
        (a - b).Store(y + 2 * step);
        (-b).Store(y + 3 * step);
    }

    /// <summary>
    /// <see cref="OutputAdjointLast4"/> for one F(2×2, 5×5) tile (α = 6; <see cref="ExpandA"/>: a, a + b, a − b, a + 2b, a − 2b, b).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void OutputAdjointLast6(float* p, long pixel, long row, float* dst, long xiStride)
    {
        Vector256<float> a0 = Vector256.Load(p), b0 = Vector256.Load(p + pixel), a1 = Vector256.Load(p + row), b1 = Vector256.Load(p + row + pixel);
        Vector256<float> c0 = b0 + b0, c1 = b1 + b1;
        long step = 6 * xiStride;
        ExpandAStore6(a0, a1, dst, step);
        ExpandAStore6(a0 + b0, a1 + b1, dst + xiStride, step);
        ExpandAStore6(a0 - b0, a1 - b1, dst + 2 * xiStride, step);
        ExpandAStore6(a0 + c0, a1 + c1, dst + 3 * xiStride, step);
        ExpandAStore6(a0 - c0, a1 - c1, dst + 4 * xiStride, step);
        ExpandAStore6(b0, b1, dst + 5 * xiStride, step);
    }

    /// <summary><see cref="ExpandA"/> of F(2, 5) (a, a + b, a − b, a + 2b, a − 2b, b) stored to y + i·<paramref name="step"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void ExpandAStore6(Vector256<float> a, Vector256<float> b, float* y, long step)
    {
        var b2 = b + b;
        a.Store(y);
        (a + b).Store(y + step);
        (a - b).Store(y + 2 * step);
        (a + b2).Store(y + 3 * step);
        (a - b2).Store(y + 4 * step);
        b.Store(y + 5 * step);
    }

    /// <summary>
    /// u [8, 16] (row pitch <paramref name="ldu"/>) += Σ_t m[t·ldm + i] · v[t·ldv + j] over <paramref name="tiles"/> rows with 256-bit
    /// vectors in 16 accumulators (32 registers wanted): the chains of <see cref="WeightKernel6x16"/>, two rows more per pass.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void WeightKernel8x16(int tiles, float* m, int ldm, float* v, int ldv, float* u, int ldu)
    {
        float* u2 = u + 2 * ldu, u4 = u + 4 * ldu, u6 = u + 6 * ldu;
        Vector256<float> a00 = Vector256.Load(u), a01 = Vector256.Load(u + 8), a10 = Vector256.Load(u + ldu), a11 = Vector256.Load(u + ldu + 8);
        Vector256<float> a20 = Vector256.Load(u2), a21 = Vector256.Load(u2 + 8), a30 = Vector256.Load(u2 + ldu), a31 = Vector256.Load(u2 + ldu + 8);
        Vector256<float> a40 = Vector256.Load(u4), a41 = Vector256.Load(u4 + 8), a50 = Vector256.Load(u4 + ldu), a51 = Vector256.Load(u4 + ldu + 8);
        Vector256<float> a60 = Vector256.Load(u6), a61 = Vector256.Load(u6 + 8), a70 = Vector256.Load(u6 + ldu), a71 = Vector256.Load(u6 + ldu + 8);
        for (int t = 0; t < tiles; t++)
        {
            var v0 = Vector256.Load(v);
            var v1 = Vector256.Load(v + 8);
            var b = Vector256.Create(m[0]);
            a00 = Vector256.FusedMultiplyAdd(b, v0, a00); a01 = Vector256.FusedMultiplyAdd(b, v1, a01);
            b = Vector256.Create(m[1]);
            a10 = Vector256.FusedMultiplyAdd(b, v0, a10); a11 = Vector256.FusedMultiplyAdd(b, v1, a11);
            b = Vector256.Create(m[2]);
            a20 = Vector256.FusedMultiplyAdd(b, v0, a20); a21 = Vector256.FusedMultiplyAdd(b, v1, a21);
            b = Vector256.Create(m[3]);
            a30 = Vector256.FusedMultiplyAdd(b, v0, a30); a31 = Vector256.FusedMultiplyAdd(b, v1, a31);
            b = Vector256.Create(m[4]);
            a40 = Vector256.FusedMultiplyAdd(b, v0, a40); a41 = Vector256.FusedMultiplyAdd(b, v1, a41);
            b = Vector256.Create(m[5]);
            a50 = Vector256.FusedMultiplyAdd(b, v0, a50); a51 = Vector256.FusedMultiplyAdd(b, v1, a51);
            b = Vector256.Create(m[6]);
            a60 = Vector256.FusedMultiplyAdd(b, v0, a60); a61 = Vector256.FusedMultiplyAdd(b, v1, a61);
            b = Vector256.Create(m[7]);
            a70 = Vector256.FusedMultiplyAdd(b, v0, a70); a71 = Vector256.FusedMultiplyAdd(b, v1, a71);
            m += ldm;
            v += ldv;
        }
        a00.Store(u); a01.Store(u + 8); a10.Store(u + ldu); a11.Store(u + ldu + 8);
        a20.Store(u2); a21.Store(u2 + 8); a30.Store(u2 + ldu); a31.Store(u2 + ldu + 8);
        a40.Store(u4); a41.Store(u4 + 8); a50.Store(u4 + ldu); a51.Store(u4 + ldu + 8);
        a60.Store(u6); a61.Store(u6 + 8); a70.Store(u6 + ldu); a71.Store(u6 + ldu + 8);
    }
}
