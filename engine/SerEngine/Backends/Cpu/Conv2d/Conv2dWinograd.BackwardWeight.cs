using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using static SerEngine.Backends.Cpu.Conv2dChannelVector;
using static SerEngine.Backends.Cpu.CpuBackend;

namespace SerEngine.Backends.Cpu;

// Backward-weight of the Winograd paths: the forward Y = Aᵀ [Σ_c U[k, c] ⊙ V[c]] A (Conv2dWinograd.cs)
// is linear in U, so with dM = A dY Aᵀ (α×α from a tile's m×m outputs of dy) and V = Bᵀ d B as in the forward,
//   dU_ξ [K, C] = Σ_n Σ_tiles dM_ξ[tile, K]ᵀ · V_ξ[tile, C]     (one GEMM per transform point ξ)
//   dw[k, c]    = Gᵀ dU[k, c] G                                  (α×α back to R×R)
// which is 36 multiply-adds per (k, c, tile) instead of 100 for F(2×2, 5×5). Tiles are 2×2 or 4×4 (WeightTileSize;
// the 4×4 transforms are in Conv2dWinograd.BackwardWeight4.cs). Both transforms run on 8
// tiles in the lanes (the forward's input transform, dy's even and odd columns for dM) and are transposed
// in registers into tile-major rows with the channels contiguous: V [α² ξ][tile][C'], dM [α² ξ][tile][k].
// The GEMM's micro-tile keeps 6 output channels k × 64 input channels c (16 with 256-bit vectors) in
// registers over a band of tiles: a step is 4 loads of V, 6 broadcasts of dM and 24 FMAs; dU is loaded
// before a band and stored after, so every element of dU is one chain of FMAs over the tiles in order
// (image, tile row, tile column), whatever the vector width or the thread count. Threads take whole
// ranges of output channels (each transforms x itself; dy's transform is split), so there is no reduction.
internal static partial class Conv2dWinograd
{
    /// <summary>Output channels of the backward-weight micro-tile (broadcast from dM).</summary>
    private const int WeightRows = 6;

    /// <summary>
    /// Output channels a backward-weight task takes a multiple of: whole 8-lane transforms of dy (its rows of dM
    /// are padded with zero rows to whole micro-tiles, so 32 channels on two threads cost 2 × 18 rows, not 2 × 24).
    /// </summary>
    private const int WeightChannelUnit = 8;

    /// <summary>
    /// Tiles of a backward-weight band at least (whole tile rows, or whole images when one has fewer): dU is read and
    /// written once per band, while V and dM of a band are read once point by point, so long bands pay.
    /// </summary>
    private const int WeightBandTiles = 108;

    /// <summary>
    /// Bytes of dU (α² · K · C floats) from which 4×4 tiles take the batch-wide driver (Conv2dWinograd.BackwardWeightBatched.cs):
    /// the banded one streams each thread's dU once per band and has each thread transform all of x, which costs more than
    /// the batch's V and dM crossing memory once (AttentionFcn's default-width 3×3 layers); below, its bands stay in cache
    /// (the 5×5 layers).
    /// </summary>
    private const long WeightBatchedMinBytes = 6L << 20;

    /// <summary>True when g's 4×4-tile backward-weight takes the batch-wide driver (see <see cref="WeightBatchedMinBytes"/>).</summary>
    private static bool WeightBatchedPays(in Conv2dGeometry g) =>
        (long)(g.R + 3) * (g.R + 3) * g.K * g.C * sizeof(float) >= WeightBatchedMinBytes;

    /// <summary>dw [K, C, R, R] = the weight gradient of conv(x, w) given dy, for stride 1 and no dilation (see the comment above).</summary>
    public static void BackwardWeight(float[] x, float[] dy, float[] dw, in Conv2dGeometry g, int threads) =>
        BackwardWeight(x, dy, dw, g, threads, Vector512.IsHardwareAccelerated);

    /// <summary>As <see cref="BackwardWeight(float[], float[], float[], in Conv2dGeometry, int)"/> with 512-bit (<paramref name="wide"/>) or 256-bit micro-tiles; both give the same bits.</summary>
    internal static void BackwardWeight(float[] x, float[] dy, float[] dw, in Conv2dGeometry g, int threads, bool wide) =>
        BackwardWeight(x, dy, dw, g, threads, wide, WeightTileSize(g));

    /// <summary>
    /// As <see cref="BackwardWeight(float[], float[], float[], in Conv2dGeometry, int, bool)"/> on m×m tiles (2 or 4) whatever
    /// <see cref="WeightTileSize"/> chooses; 4×4 tiles by the batch-wide driver (<paramref name="batched"/>, by default
    /// <see cref="WeightBatchedPays"/>) or by bands: both give the same bits. 2×2 tiles take channel-last transforms
    /// (Conv2dWinograd.BackwardWeightLast.cs) unless <paramref name="channelLast"/> is false: the same bits again.
    /// </summary>
    internal static void BackwardWeight(float[] x, float[] dy, float[] dw, in Conv2dGeometry g, int threads, bool wide, int m, bool? batched = null, bool channelLast = true)
    {
        if (m == 4 && (batched ?? WeightBatchedPays(g)))
        {
            BackwardWeightBatched(x, dy, dw, g, threads, wide);
            return;
        }
        var wg = TileGeometry.Of(g, m);
        int channels = RoundUp(g.C, Lanes), units = CeilDiv(g.K, WeightChannelUnit);
        long macs = (long)g.N * wg.Points * RoundUp(g.K, WeightRows) * channels * wg.TilesH * wg.TilesW;
        int workers = macs < GemmParallelMacs ? 1 : Math.Min(threads, units);
        var geo = g;
        ParallelFor(workers, workers, task =>
        {
            int k0 = WeightChannelUnit * (int)((long)units * task / workers), k1 = WeightChannelUnit * (int)((long)units * (task + 1) / workers);
            if (m == 2 && channelLast) WeightTaskLast(x, dy, dw, geo, wg, k0, k1, channels, wide);
            else WeightTask(x, dy, dw, geo, wg, k0, k1, channels, wide);
        });
    }

    /// <summary>
    /// dw for output channels [k0, k1) (a multiple of <see cref="WeightChannelUnit"/> wide; those past K dropped) over every image;
    /// dM and dU rows have a pitch of whole micro-tiles (ldk), the rows past k1 − k0 zero.
    /// </summary>
    private static unsafe void WeightTask(float[] x, float[] dy, float[] dw, in Conv2dGeometry g, in TileGeometry wg, int k0, int k1, int channels, bool wide)
    {
        int points = wg.Points, ks = k1 - k0, ldk = RoundUp(ks, WeightRows), tilesW = wg.TilesW, tilesWPad = wg.TilesWPad, outH = g.OutH, outW = g.OutW;
        int bandRows = Math.Min(wg.TilesH, CeilDiv(WeightBandTiles, tilesW));
        // small images: whole images per band (in order, so the chains over the tiles are the same)
        int bandImages = bandRows < wg.TilesH ? 1 : Math.Clamp(WeightBandTiles / (wg.TilesH * tilesW), 1, g.N);
        // a band's rows of 8 tiles are written whole: up to 8 tiles past its last real one
        int bandTiles = bandImages * bandRows * tilesW + 8;
        int tile = wg.M, dyW = tile * tilesWPad, dyPlane = tile * wg.TilesH * dyW;
        var padding = wg.Image(g);
        long xImage = (long)channels * wg.Plane, dyImage = (long)ks * dyPlane;
        long xFloats = bandImages * xImage, dyFloats = bandImages * dyImage;
        long vXi = (long)bandTiles * channels, mXi = (long)bandTiles * ldk, uFloats = (long)points * ldk * channels;
        long total = xFloats + dyFloats + points * (vXi + mXi) + uFloats;
        float* buffer = CpuScratch.Floats(ref _weightScratch, total);
        float* xp = buffer, dyp = xp + xFloats, v = dyp + dyFloats, m = v + points * vXi, u = m + points * mXi;
        for (int l = 0; l < bandImages; l++) // the planes past C stay zero (padding.Write clears the rest)
            new Span<float>(xp + l * xImage + padding.Length, (int)(xImage - padding.Length)).Clear();
        new Span<float>(dyp, (int)dyFloats).Clear(); // and dy past its rows, columns and K
        new Span<float>(u, (int)uFloats).Clear();
        if (ldk > ks) new Span<float>(m, (int)(points * mXi)).Clear(); // the rows of dM past ks (never written)
        var scratch = stackalloc float[points * 64 + 16];
        float* s = (float*)(((nint)scratch + 63) & ~(nint)63); // [α² ξ][8 channels][8 tiles]
        var work = stackalloc Vector256<float>[40];
        var rows = stackalloc float*[8];
        for (int i = 0; i < 8; i++) rows[i] = s + 8 * i;
        int kLive = Math.Min(k1, g.K) - k0;
        fixed (float* px = x, pdy = dy)
            for (int n0 = 0; n0 < g.N; n0 += bandImages)
            {
                int images = Math.Min(bandImages, g.N - n0);
                for (int l = 0; l < images; l++)
                {
                    int n = n0 + l;
                    padding.Write(px + (long)n * g.C * g.H * g.W, xp + l * xImage);
                    for (int kk = 0; kk < kLive; kk++)
                        for (int oh = 0; oh < outH; oh++)
                            CopyFloats(dyp + l * dyImage + (long)kk * dyPlane + oh * dyW, pdy + (((long)n * g.K + k0 + kk) * outH + oh) * outW, outW);
                }
                for (int b0 = 0; b0 < wg.TilesH; b0 += bandRows)
                {
                    int bandEnd = Math.Min(wg.TilesH, b0 + bandRows), tiles = images * (bandEnd - b0) * tilesW;
                    // V and dM of the band's tiles (image, row, column in order), 8 channels × 8 tiles at a time, transposed to tile-major rows
                    for (int c = 0; c < channels; c += 8)
                        for (int l = 0; l < images; l++)
                            for (int i = b0; i < bandEnd; i++)
                                for (int j0 = 0; j0 < tilesWPad; j0 += 8)
                                {
                                    for (int q = 0; q < 8; q++)
                                    {
                                        float* patch = xp + l * xImage + (long)(c + q) * wg.Plane + tile * (i * wg.Wp + j0);
                                        InputWeight(wg, patch, s + 8 * q);
                                    }
                                    float* dst = v + ((l * (bandEnd - b0) + i - b0) * tilesW + j0) * channels + c;
                                    for (int xi = 0; xi < points; xi++) Conv2dPack.Transpose8x8(rows, 64 * xi, dst + xi * vXi, channels);
                                }
                    for (int kk = 0; kk < ks; kk += 8)
                        for (int l = 0; l < images; l++)
                            for (int i = b0; i < bandEnd; i++)
                                for (int j0 = 0; j0 < tilesWPad; j0 += 8)
                                {
                                    for (int q = 0; q < 8; q++)
                                    {
                                        float* block = dyp + l * dyImage + (long)(kk + q) * dyPlane + tile * (i * dyW + j0);
                                        if (tile == 2) OutputAdjoint8(wg.Alpha, block, dyW, s + 8 * q, 64, work);
                                        else OutputAdjoint8Tile4(wg.Alpha, block, dyW, s + 8 * q, work);
                                    }
                                    float* dst = m + ((l * (bandEnd - b0) + i - b0) * tilesW + j0) * ldk + kk;
                                    for (int xi = 0; xi < points; xi++) Conv2dPack.Transpose8x8(rows, 64 * xi, dst + xi * mXi, ldk);
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

    /// <summary>This thread's buffers of <see cref="WeightTask"/> (CpuScratch: a fresh block per call page-faults).</summary>
    [ThreadStatic] private static float[]? _weightScratch;

    /// <summary>
    /// dM = A dY Aᵀ for 8 consecutive tiles of one channel of dy: p is the padded dy plane at the first tile's
    /// 2×2 block (row pitch <paramref name="pitch"/>), dM_ξ of the 8 tiles to dst + ξ·<paramref name="xiStride"/>;
    /// <paramref name="work"/> holds 18 vectors.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void OutputAdjoint8(int alpha, float* p, int pitch, float* dst, long xiStride, Vector256<float>* work)
    {
        var (y00, y01) = Deinterleave(p);
        var (y10, y11) = Deinterleave(p + pitch);
        Vector256<float>* z0 = work, z1 = work + 6, col = work + 12; // z_a[j] = (A dY[a, ·]ᵀ)[j]: dY's rows expanded along the columns
        ExpandA(alpha, y00, y01, z0);
        ExpandA(alpha, y10, y11, z1);
        for (int j = 0; j < alpha; j++)
        {
            ExpandA(alpha, z0[j], z1[j], col);
            for (int i = 0; i < alpha; i++) col[i].Store(dst + (alpha * i + j) * xiStride);
        }
    }

    /// <summary>A·(a, b) for A = (Aᵀ)ᵀ of F(2, 3) (α = 4: a, a + b, a − b, −b) or F(2, 5) (α = 6: a, a + b, a − b, a + 2b, a − 2b, b).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void ExpandA(int alpha, Vector256<float> a, Vector256<float> b, Vector256<float>* y)
    {
        y[0] = a;
        y[1] = a + b;
        y[2] = a - b;
        if (alpha == 4)
        {
            y[3] = -b;
            return;
        }
        var b2 = b + b;
        y[3] = a + b2;
        y[4] = a - b2;
        y[5] = b;
    }

    /// <summary>
    /// dw[k, c] = Gᵀ dU[k, c] G (R×R) for the task's live channels k0 .. k0 + <paramref name="kLive"/>,
    /// 8 input channels at a time: u is dU [α² ξ][ks][channels].
    /// </summary>
    private static unsafe void FilterAdjoint(float* u, int ks, int channels, in Conv2dGeometry g, in TileGeometry wg, int k0, int kLive, float* dw)
    {
        int r = g.R, rr = r * r, alpha = wg.Alpha, c = g.C;
        float[] gm = (r, wg.M) switch { (3, 2) => G3, (5, 2) => G5, (3, _) => G43, _ => G45 }; // G [α, R]
        var h = stackalloc Vector256<float>[40];   // (dU G) [α, R]
        var out8 = stackalloc float[8 * 25];       // [R·R][8 channels]
        for (int k = 0; k < kLive; k++)
            for (int c0 = 0; c0 < c; c0 += 8)
            {
                float* at = u + (long)k * channels + c0;
                long xiStride = (long)ks * channels;
                for (int i = 0; i < alpha; i++)
                    for (int b = 0; b < r; b++)
                    {
                        var sum = Vector256<float>.Zero;
                        for (int j = 0; j < alpha; j++)
                            if (gm[j * r + b] != 0f) sum = Vector256.FusedMultiplyAdd(Vector256.Load(at + (alpha * i + j) * xiStride), Vector256.Create(gm[j * r + b]), sum);
                        h[i * r + b] = sum;
                    }
                for (int a = 0; a < r; a++)
                    for (int b = 0; b < r; b++)
                    {
                        var sum = Vector256<float>.Zero;
                        for (int i = 0; i < alpha; i++)
                            if (gm[i * r + a] != 0f) sum = Vector256.FusedMultiplyAdd(Vector256.Create(gm[i * r + a]), h[i * r + b], sum);
                        sum.Store(out8 + (a * r + b) * 8);
                    }
                int live = Math.Min(8, c - c0);
                for (int l = 0; l < live; l++)
                {
                    float* dst = dw + ((long)(k0 + k) * c + c0 + l) * rr;
                    for (int q = 0; q < rr; q++) dst[q] = out8[q * 8 + l];
                }
            }
    }

    /// <summary>
    /// u [6, 64] (row pitch <paramref name="ldu"/>) += Σ_t m[t·ldm + i] · v[t·ldv + j] over <paramref name="tiles"/> rows,
    /// one FMA chain per element in t order (the same chains as <see cref="WeightKernel6x16"/>).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void WeightKernel6x64(int tiles, float* m, int ldm, float* v, int ldv, float* u, int ldu)
    {
        Vector512<float> a00 = Vector512.Load(u), a01 = Vector512.Load(u + 16), a02 = Vector512.Load(u + 32), a03 = Vector512.Load(u + 48);
        Vector512<float> a10 = Vector512.Load(u + ldu), a11 = Vector512.Load(u + ldu + 16), a12 = Vector512.Load(u + ldu + 32), a13 = Vector512.Load(u + ldu + 48);
        float* u2 = u + 2 * ldu;
        Vector512<float> a20 = Vector512.Load(u2), a21 = Vector512.Load(u2 + 16), a22 = Vector512.Load(u2 + 32), a23 = Vector512.Load(u2 + 48);
        Vector512<float> a30 = Vector512.Load(u2 + ldu), a31 = Vector512.Load(u2 + ldu + 16), a32 = Vector512.Load(u2 + ldu + 32), a33 = Vector512.Load(u2 + ldu + 48);
        float* u4 = u + 4 * ldu;
        Vector512<float> a40 = Vector512.Load(u4), a41 = Vector512.Load(u4 + 16), a42 = Vector512.Load(u4 + 32), a43 = Vector512.Load(u4 + 48);
        Vector512<float> a50 = Vector512.Load(u4 + ldu), a51 = Vector512.Load(u4 + ldu + 16), a52 = Vector512.Load(u4 + ldu + 32), a53 = Vector512.Load(u4 + ldu + 48);
        for (int t = 0; t < tiles; t++)
        {
            var v0 = Vector512.Load(v);
            var v1 = Vector512.Load(v + 16);
            var v2 = Vector512.Load(v + 32);
            var v3 = Vector512.Load(v + 48);
            var b = Vector512.Create(m[0]);
            a00 = Vector512.FusedMultiplyAdd(b, v0, a00); a01 = Vector512.FusedMultiplyAdd(b, v1, a01);
            a02 = Vector512.FusedMultiplyAdd(b, v2, a02); a03 = Vector512.FusedMultiplyAdd(b, v3, a03);
            b = Vector512.Create(m[1]);
            a10 = Vector512.FusedMultiplyAdd(b, v0, a10); a11 = Vector512.FusedMultiplyAdd(b, v1, a11);
            a12 = Vector512.FusedMultiplyAdd(b, v2, a12); a13 = Vector512.FusedMultiplyAdd(b, v3, a13);
            b = Vector512.Create(m[2]);
            a20 = Vector512.FusedMultiplyAdd(b, v0, a20); a21 = Vector512.FusedMultiplyAdd(b, v1, a21);
            a22 = Vector512.FusedMultiplyAdd(b, v2, a22); a23 = Vector512.FusedMultiplyAdd(b, v3, a23);
            b = Vector512.Create(m[3]);
            a30 = Vector512.FusedMultiplyAdd(b, v0, a30); a31 = Vector512.FusedMultiplyAdd(b, v1, a31);
            a32 = Vector512.FusedMultiplyAdd(b, v2, a32); a33 = Vector512.FusedMultiplyAdd(b, v3, a33);
            b = Vector512.Create(m[4]);
            a40 = Vector512.FusedMultiplyAdd(b, v0, a40); a41 = Vector512.FusedMultiplyAdd(b, v1, a41);
            a42 = Vector512.FusedMultiplyAdd(b, v2, a42); a43 = Vector512.FusedMultiplyAdd(b, v3, a43);
            b = Vector512.Create(m[5]);
            a50 = Vector512.FusedMultiplyAdd(b, v0, a50); a51 = Vector512.FusedMultiplyAdd(b, v1, a51);
            a52 = Vector512.FusedMultiplyAdd(b, v2, a52); a53 = Vector512.FusedMultiplyAdd(b, v3, a53);
            m += ldm;
            v += ldv;
        }
        a00.Store(u); a01.Store(u + 16); a02.Store(u + 32); a03.Store(u + 48);
        a10.Store(u + ldu); a11.Store(u + ldu + 16); a12.Store(u + ldu + 32); a13.Store(u + ldu + 48);
        a20.Store(u2); a21.Store(u2 + 16); a22.Store(u2 + 32); a23.Store(u2 + 48);
        a30.Store(u2 + ldu); a31.Store(u2 + ldu + 16); a32.Store(u2 + ldu + 32); a33.Store(u2 + ldu + 48);
        a40.Store(u4); a41.Store(u4 + 16); a42.Store(u4 + 32); a43.Store(u4 + 48);
        a50.Store(u4 + ldu); a51.Store(u4 + ldu + 16); a52.Store(u4 + ldu + 32); a53.Store(u4 + ldu + 48);
    }

    /// <summary>u [6, 16] += Σ_t m[t·ldm + i] · v[t·ldv + j] with 256-bit vectors: the chains of <see cref="WeightKernel6x64"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void WeightKernel6x16(int tiles, float* m, int ldm, float* v, int ldv, float* u, int ldu)
    {
        MicroTile.Load(u, ldu, out Vector256<float> a00, out var a01, out var a10, out var a11, out var a20, out var a21,
            out var a30, out var a31, out var a40, out var a41, out var a50, out var a51);
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
            m += ldm;
            v += ldv;
        }
        MicroTile.Store(u, ldu, a00, a01, a10, a11, a20, a21, a30, a31, a40, a41, a50, a51);
    }
}
