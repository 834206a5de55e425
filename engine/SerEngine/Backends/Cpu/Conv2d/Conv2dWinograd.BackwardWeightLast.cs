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
    /// <see cref="WeightTask"/> for 2×2 tiles with channel-last transforms (see the comment above): dw for output channels [k0, k1)
    /// over every image, each element of dU one FMA chain over the tiles in order.
    /// </summary>
    private static unsafe void WeightTaskLast(float[] x, float[] dy, float[] dw, in Conv2dGeometry g, in TileGeometry wg, int k0, int k1, int channels, bool wide)
    {
        int points = wg.Points, alpha = wg.Alpha, ks = k1 - k0, ldk = RoundUp(ks, WeightRows), tilesW = wg.TilesW, tilesH = wg.TilesH;
        int bandRows = Math.Min(tilesH, CeilDiv(WeightBandTiles, tilesW));
        int bandImages = bandRows < tilesH ? 1 : Math.Clamp(WeightBandTiles / (tilesH * tilesW), 1, g.N);
        int bandTiles = bandImages * bandRows * tilesW;
        int hp = 2 * tilesH + g.R - 1, wp = 2 * tilesW + g.R - 1, dyH = 2 * tilesH, dyW = 2 * tilesW;
        long pixel = channels, row = (long)wp * channels, xImage = hp * row, dyImage = (long)dyH * dyW * ks;
        long xFloats = bandImages * xImage, dyFloats = bandImages * dyImage;
        long vXi = (long)bandTiles * channels, mXi = (long)bandTiles * ldk, uFloats = (long)points * ldk * channels;
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
                    for (int l = 0, t = 0; l < images; l++)
                        for (int i = b0; i < bandEnd; i++)
                            for (int j = 0; j < tilesW; j++, t++)
                            {
                                float* patch = xt + l * xImage + 2 * i * row + 2 * j * pixel, vt = v + (long)t * channels;
                                for (int c = 0; c < channels; c += 8)
                                    if (alpha == 4) InputLast4(patch + c, pixel, row, vt + c, vXi);
                                    else InputLast6(patch + c, pixel, row, vt + c, vXi, work);
                                float* block = dyt + l * dyImage + ((long)2 * i * dyW + 2 * j) * ks, mt = m + (long)t * ldk;
                                for (int kk = 0; kk < ks; kk += 8)
                                    OutputAdjointLast(alpha, block + kk, ks, (long)dyW * ks, mt + kk, mXi, work);
                            }
                    // dU_ξ += dM_ξᵀ V_ξ over the band's tiles
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
    private static unsafe void TransposeToLast(float* src, int count, int height, int width, long plane, float* dst, int pitch, int lanes, float** rows)
    {
        int c0 = 0;
        for (; c0 + 8 <= count; c0 += 8)
            for (int h = 0; h < height; h++)
            {
                for (int q = 0; q < 8; q++) rows[q] = src + (c0 + q) * plane + (long)h * width;
                float* line = dst + (long)h * pitch * lanes + c0;
                int w = 0;
                for (; w + 8 <= width; w += 8) Conv2dPack.Transpose8x8(rows, w, line + (long)w * lanes, lanes);
                for (; w < width; w++)
                    for (int q = 0; q < 8; q++) line[(long)w * lanes + q] = rows[q][w];
            }
        for (; c0 < count; c0++)
            for (int h = 0; h < height; h++)
            {
                float* s = src + c0 * plane + (long)h * width, line = dst + (long)h * pitch * lanes + c0;
                for (int w = 0; w < width; w++) line[(long)w * lanes] = s[w];
            }
    }

    /// <summary>
    /// V_ξ of one F(2×2, 3×3) tile for 8 channels: p is the tile's 4×4 patch in a channel-last plane (pixels
    /// <paramref name="pixel"/> floats apart, rows <paramref name="row"/>), V_ξ to v + ξ·<paramref name="xiStride"/>;
    /// <see cref="Input8"/>'s arithmetic lane for lane.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void InputLast4(float* p, long pixel, long row, float* v, long xiStride)
    {
        var (q00, q01, q02, q03) = InputRowLast(p, pixel);
        var (q10, q11, q12, q13) = InputRowLast(p + row, pixel);
        var (q20, q21, q22, q23) = InputRowLast(p + 2 * row, pixel);
        (q00 - q20).Store(v);
        (q01 - q21).Store(v + xiStride);
        (q02 - q22).Store(v + 2 * xiStride);
        (q03 - q23).Store(v + 3 * xiStride);
        (q10 + q20).Store(v + 4 * xiStride);
        (q11 + q21).Store(v + 5 * xiStride);
        (q12 + q22).Store(v + 6 * xiStride);
        (q13 + q23).Store(v + 7 * xiStride);
        (q20 - q10).Store(v + 8 * xiStride);
        (q21 - q11).Store(v + 9 * xiStride);
        (q22 - q12).Store(v + 10 * xiStride);
        (q23 - q13).Store(v + 11 * xiStride);
        var (q30, q31, q32, q33) = InputRowLast(p + 3 * row, pixel);
        (q10 - q30).Store(v + 12 * xiStride);
        (q11 - q31).Store(v + 13 * xiStride);
        (q12 - q32).Store(v + 14 * xiStride);
        (q13 - q33).Store(v + 15 * xiStride);
    }

    /// <summary>(d B)[r, ·] of one patch row for 8 channels (<see cref="InputRow"/>'s arithmetic): d0 − d2, d1 + d2, d2 − d1, d1 − d3.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe (Vector256<float>, Vector256<float>, Vector256<float>, Vector256<float>) InputRowLast(float* p, long pixel)
    {
        Vector256<float> d0 = Vector256.Load(p), d1 = Vector256.Load(p + pixel), d2 = Vector256.Load(p + 2 * pixel), d3 = Vector256.Load(p + 3 * pixel);
        return (d0 - d2, d1 + d2, d2 - d1, d1 - d3);
    }

    /// <summary>
    /// V_ξ (ξ = 6ρ + σ) of one F(2×2, 5×5) tile for 8 channels from its 6×6 patch in a channel-last plane (as
    /// <see cref="InputLast4"/>); <see cref="Input8Alpha6"/>'s arithmetic lane for lane; <paramref name="q"/> holds 36 vectors.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void InputLast6(float* p, long pixel, long row, float* v, long xiStride, Vector256<float>* q)
    {
        for (int r = 0; r < 6; r++)
        {
            float* d = p + r * row;
            TransformB6(Vector256.Load(d), Vector256.Load(d + pixel), Vector256.Load(d + 2 * pixel), Vector256.Load(d + 3 * pixel),
                Vector256.Load(d + 4 * pixel), Vector256.Load(d + 5 * pixel), q + 6 * r);
        }
        var col = stackalloc Vector256<float>[6];
        for (int sigma = 0; sigma < 6; sigma++)
        {
            TransformB6(q[sigma], q[6 + sigma], q[12 + sigma], q[18 + sigma], q[24 + sigma], q[30 + sigma], col);
            for (int rho = 0; rho < 6; rho++) col[rho].Store(v + (6 * rho + sigma) * xiStride);
        }
    }

    /// <summary>
    /// dM = A dY Aᵀ of one 2×2 tile for 8 output channels: p is the tile's block in a channel-last dy plane (pixels
    /// <paramref name="pixel"/> floats apart, rows <paramref name="row"/>), dM_ξ to dst + ξ·<paramref name="xiStride"/>;
    /// <see cref="OutputAdjoint8"/>'s arithmetic lane for lane; <paramref name="work"/> holds 18 vectors.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void OutputAdjointLast(int alpha, float* p, long pixel, long row, float* dst, long xiStride, Vector256<float>* work)
    {
        Vector256<float>* z0 = work, z1 = work + 6, col = work + 12;
        ExpandA(alpha, Vector256.Load(p), Vector256.Load(p + pixel), z0);
        ExpandA(alpha, Vector256.Load(p + row), Vector256.Load(p + row + pixel), z1);
        for (int j = 0; j < alpha; j++)
        {
            ExpandA(alpha, z0[j], z1[j], col);
            for (int i = 0; i < alpha; i++) col[i].Store(dst + (alpha * i + j) * xiStride);
        }
    }
}
