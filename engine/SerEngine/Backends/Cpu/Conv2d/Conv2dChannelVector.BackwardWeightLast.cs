using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using static SerEngine.Backends.Cpu.CpuBackend;

namespace SerEngine.Backends.Cpu;

// Conv2d backward-weight with 512-bit vectors along the INPUT channels (16 or 32 of them, stride 1, 3 columns of taps):
//   dwᵀ[k, r, s][c] = Σ_n Σ_p xT_n[(oh + r)·Wp + ow + s][c] · dy[n, k, p]        (p = (oh, ow))
// xT_n is image n transposed channel-last and zero-padded ([Hp][Wp][C], by 8×8 register transposes, each thread its own
// copy); dy is read in place, one broadcast per (k, pixel). A tile is 3 taps (s = 0..2 of one r) × 8 output channels
// (C = 16) or × 4 (C = 32, two vectors per tap): per pixel 3 or 6 loads of xT and 8 or 4 broadcasts for 24 FMAs, where the
// channel-vector tiles (lanes along k) need dy packed into panels per image, by both threads when they split the taps.
// Every dw element is still one FMA chain over the images, then the pixels row-major (a product's operands in the other
// order round the same), so the bits are those of the channel-vector tiles at either width. Threads take runs of whole
// channel groups over every image: nothing is reduced across threads.
internal static partial class Conv2dChannelVector
{
    /// <summary>Output pixels of one chunk of rows that each tile of a thread passes over before the next (whole rows).</summary>
    private const int LastChunkPixels = 256;

    /// <summary>Taps per tile of <see cref="BackwardWeightLast"/> (one row r of a 3-column filter).</summary>
    private const int LastTaps = 3;

    /// <summary>
    /// True when <see cref="BackwardWeightLast"/> runs <paramref name="g"/>: stride 1 without dilation, padding ≥ 0, 16 or 32
    /// input channels, 3 filter columns and the output channels a multiple of the tile's group (8 or 4).
    /// </summary>
    internal static bool LastFits(in Conv2dGeometry g) =>
        g.StrideH == 1 && g.StrideW == 1 && g.DilationH == 1 && g.DilationW == 1 && g.S == LastTaps
        && g.PadTop >= 0 && g.PadBottom >= 0 && g.PadLeft >= 0 && g.PadRight >= 0 && g.OutH > 0 && g.OutW > 0
        && (g.C == Lanes || g.C == 2 * Lanes) && g.K % LastGroup(g.C) == 0;

    /// <summary>Output channels of one tile: 8 with 16 input channels, 4 with 32 (24 accumulators either way).</summary>
    private static int LastGroup(int channels) => channels == Lanes ? 8 : 4;

    /// <summary>This thread's channel-last padded image (and the caller's dwᵀ) in <see cref="BackwardWeightLast"/> (CpuScratch).</summary>
    [ThreadStatic] private static float[]? t_lastImage, t_lastWeights;

    /// <summary>Backward-weight along the input channels (see the comment above; <see cref="LastFits"/> must hold): dw [K, C·R·3].</summary>
    public static unsafe void BackwardWeightLast(float[] x, float[] dy, float[] dw, in Conv2dGeometry g, int threads)
    {
        int c = g.C, k = g.K, rCount = g.R, h = g.H, w = g.W, images = g.N, outH = g.OutH, outW = g.OutW, ohw = outH * outW;
        int hp = outH + rCount - 1, wp = outW + LastTaps - 1, padTop = g.PadTop, padLeft = g.PadLeft;
        int group = LastGroup(c), groups = k / group, taps = rCount * LastTaps, rowChunk = Math.Max(1, LastChunkPixels / outW);
        int workers = g.Macs < GemmParallelMacs ? 1 : Math.Clamp(threads, 1, groups);
        long image = (long)hp * wp * c, plane = (long)h * w;
        float* acc = CpuScratch.Floats(ref t_lastWeights, (long)k * taps * c); // [K][R·3][C]
        new Span<float>(acc, k * taps * c).Clear();
        ParallelFor(workers, workers, worker =>
        {
            int g0 = groups * worker / workers, g1 = groups * (worker + 1) / workers;
            float* xt = CpuScratch.Floats(ref t_lastImage, image); // [Hp][Wp][C]
            new Span<float>(xt, (int)image).Clear(); // the padding stays zero, the interior is written per image
            float** rows = stackalloc float*[8];
            fixed (float* px = x, pdy = dy)
                for (int n = 0; n < images; n++)
                {
                    Conv2dWinograd.TransposeToLast(px + (long)n * c * plane, c, h, w, plane, xt + ((long)padTop * wp + padLeft) * c, wp, c, rows);
                    // every dw element sums the chunks, and the pixels in each, in order
                    for (int oh0 = 0; oh0 < outH; oh0 += rowChunk)
                    {
                        int chunk = Math.Min(rowChunk, outH - oh0);
                        for (int gi = g0; gi < g1; gi++)
                        {
                            int k0 = gi * group;
                            float* d = pdy + ((long)n * k + k0) * ohw + (long)oh0 * outW;
                            for (int r = 0; r < rCount; r++)
                            {
                                float* xr = xt + (long)(oh0 + r) * wp * c, a = acc + ((long)k0 * taps + r * LastTaps) * c;
                                if (c == Lanes) KernelWeightLast3x8(chunk, outW, xr, (nint)wp * c, d, ohw, a, (nint)taps * c);
                                else KernelWeightLast3x4x2(chunk, outW, xr, (nint)wp * c, d, ohw, a, (nint)taps * c);
                            }
                        }
                    }
                }
        });
        // dw[k, c·R·3 + t] = dwᵀ[k, t][c]
        fixed (float* pdw = dw)
            for (int kk = 0; kk < k; kk++)
                for (int t = 0; t < taps; t++)
                {
                    float* src = acc + ((long)kk * taps + t) * c, dst = pdw + (long)kk * c * taps + t;
                    for (int ci = 0; ci < c; ci++) dst[(long)ci * taps] = src[ci];
                }
    }

    /// <summary>
    /// acc[j·<paramref name="accK"/> + s·16 ..] += Σ over <paramref name="rows"/> × <paramref name="cols"/> pixels of
    /// x[oh·pitch + (ow + s)·16 ..] · d[j·<paramref name="plane"/> + oh·cols + ow] for 8 output channels j and taps s = 0..2:
    /// x is the channel-last image (16 channels) at the tile's filter row, d dy at the first channel and row.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void KernelWeightLast3x8(int rows, int cols, float* x, nint pitch, float* d, nint plane, float* acc, nint accK)
    {
        float* p0 = acc, p1 = p0 + accK, p2 = p1 + accK, p3 = p2 + accK, p4 = p3 + accK, p5 = p4 + accK, p6 = p5 + accK, p7 = p6 + accK;
        var a00 = Vector512.Load(p0); var a01 = Vector512.Load(p0 + 16); var a02 = Vector512.Load(p0 + 32);
        var a10 = Vector512.Load(p1); var a11 = Vector512.Load(p1 + 16); var a12 = Vector512.Load(p1 + 32);
        var a20 = Vector512.Load(p2); var a21 = Vector512.Load(p2 + 16); var a22 = Vector512.Load(p2 + 32);
        var a30 = Vector512.Load(p3); var a31 = Vector512.Load(p3 + 16); var a32 = Vector512.Load(p3 + 32);
        var a40 = Vector512.Load(p4); var a41 = Vector512.Load(p4 + 16); var a42 = Vector512.Load(p4 + 32);
        var a50 = Vector512.Load(p5); var a51 = Vector512.Load(p5 + 16); var a52 = Vector512.Load(p5 + 32);
        var a60 = Vector512.Load(p6); var a61 = Vector512.Load(p6 + 16); var a62 = Vector512.Load(p6 + 32);
        var a70 = Vector512.Load(p7); var a71 = Vector512.Load(p7 + 16); var a72 = Vector512.Load(p7 + 32);
        for (int r = 0; r < rows; r++)
        {
            float* d0 = d, d1 = d0 + plane, d2 = d1 + plane, d3 = d2 + plane, d4 = d3 + plane, d5 = d4 + plane, d6 = d5 + plane, d7 = d6 + plane;
            float* xp = x;
            for (nint q = 0; q < cols; q++)
            {
                var x0 = Vector512.Load(xp); var x1 = Vector512.Load(xp + 16); var x2 = Vector512.Load(xp + 32);
                var b = Vector512.Create(d0[q]);
                a00 = Fmadd512(b, x0, a00); a01 = Fmadd512(b, x1, a01); a02 = Fmadd512(b, x2, a02);
                b = Vector512.Create(d1[q]);
                a10 = Fmadd512(b, x0, a10); a11 = Fmadd512(b, x1, a11); a12 = Fmadd512(b, x2, a12);
                b = Vector512.Create(d2[q]);
                a20 = Fmadd512(b, x0, a20); a21 = Fmadd512(b, x1, a21); a22 = Fmadd512(b, x2, a22);
                b = Vector512.Create(d3[q]);
                a30 = Fmadd512(b, x0, a30); a31 = Fmadd512(b, x1, a31); a32 = Fmadd512(b, x2, a32);
                b = Vector512.Create(d4[q]);
                a40 = Fmadd512(b, x0, a40); a41 = Fmadd512(b, x1, a41); a42 = Fmadd512(b, x2, a42);
                b = Vector512.Create(d5[q]);
                a50 = Fmadd512(b, x0, a50); a51 = Fmadd512(b, x1, a51); a52 = Fmadd512(b, x2, a52);
                b = Vector512.Create(d6[q]);
                a60 = Fmadd512(b, x0, a60); a61 = Fmadd512(b, x1, a61); a62 = Fmadd512(b, x2, a62);
                b = Vector512.Create(d7[q]);
                a70 = Fmadd512(b, x0, a70); a71 = Fmadd512(b, x1, a71); a72 = Fmadd512(b, x2, a72);
                xp += Lanes;
            }
            x += pitch; d += cols;
        }
        a00.Store(p0); a01.Store(p0 + 16); a02.Store(p0 + 32);
        a10.Store(p1); a11.Store(p1 + 16); a12.Store(p1 + 32);
        a20.Store(p2); a21.Store(p2 + 16); a22.Store(p2 + 32);
        a30.Store(p3); a31.Store(p3 + 16); a32.Store(p3 + 32);
        a40.Store(p4); a41.Store(p4 + 16); a42.Store(p4 + 32);
        a50.Store(p5); a51.Store(p5 + 16); a52.Store(p5 + 32);
        a60.Store(p6); a61.Store(p6 + 16); a62.Store(p6 + 32);
        a70.Store(p7); a71.Store(p7 + 16); a72.Store(p7 + 32);
    }

    /// <summary>
    /// <see cref="KernelWeightLast3x8"/> for 32 input channels (two vectors per tap, pixels 32 floats apart in x) and
    /// 4 output channels: acc[j·<paramref name="accK"/> + s·32 + 16·half ..].
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void KernelWeightLast3x4x2(int rows, int cols, float* x, nint pitch, float* d, nint plane, float* acc, nint accK)
    {
        float* p0 = acc, p1 = p0 + accK, p2 = p1 + accK, p3 = p2 + accK;
        var a00 = Vector512.Load(p0); var a01 = Vector512.Load(p0 + 16); var a02 = Vector512.Load(p0 + 32);
        var a03 = Vector512.Load(p0 + 48); var a04 = Vector512.Load(p0 + 64); var a05 = Vector512.Load(p0 + 80);
        var a10 = Vector512.Load(p1); var a11 = Vector512.Load(p1 + 16); var a12 = Vector512.Load(p1 + 32);
        var a13 = Vector512.Load(p1 + 48); var a14 = Vector512.Load(p1 + 64); var a15 = Vector512.Load(p1 + 80);
        var a20 = Vector512.Load(p2); var a21 = Vector512.Load(p2 + 16); var a22 = Vector512.Load(p2 + 32);
        var a23 = Vector512.Load(p2 + 48); var a24 = Vector512.Load(p2 + 64); var a25 = Vector512.Load(p2 + 80);
        var a30 = Vector512.Load(p3); var a31 = Vector512.Load(p3 + 16); var a32 = Vector512.Load(p3 + 32);
        var a33 = Vector512.Load(p3 + 48); var a34 = Vector512.Load(p3 + 64); var a35 = Vector512.Load(p3 + 80);
        for (int r = 0; r < rows; r++)
        {
            float* d0 = d, d1 = d0 + plane, d2 = d1 + plane, d3 = d2 + plane;
            float* xp = x;
            for (nint q = 0; q < cols; q++)
            {
                var x0 = Vector512.Load(xp); var x1 = Vector512.Load(xp + 16); var x2 = Vector512.Load(xp + 32);
                var x3 = Vector512.Load(xp + 48); var x4 = Vector512.Load(xp + 64); var x5 = Vector512.Load(xp + 80);
                var b = Vector512.Create(d0[q]);
                a00 = Fmadd512(b, x0, a00); a01 = Fmadd512(b, x1, a01); a02 = Fmadd512(b, x2, a02);
                a03 = Fmadd512(b, x3, a03); a04 = Fmadd512(b, x4, a04); a05 = Fmadd512(b, x5, a05);
                b = Vector512.Create(d1[q]);
                a10 = Fmadd512(b, x0, a10); a11 = Fmadd512(b, x1, a11); a12 = Fmadd512(b, x2, a12);
                a13 = Fmadd512(b, x3, a13); a14 = Fmadd512(b, x4, a14); a15 = Fmadd512(b, x5, a15);
                b = Vector512.Create(d2[q]);
                a20 = Fmadd512(b, x0, a20); a21 = Fmadd512(b, x1, a21); a22 = Fmadd512(b, x2, a22);
                a23 = Fmadd512(b, x3, a23); a24 = Fmadd512(b, x4, a24); a25 = Fmadd512(b, x5, a25);
                b = Vector512.Create(d3[q]);
                a30 = Fmadd512(b, x0, a30); a31 = Fmadd512(b, x1, a31); a32 = Fmadd512(b, x2, a32);
                a33 = Fmadd512(b, x3, a33); a34 = Fmadd512(b, x4, a34); a35 = Fmadd512(b, x5, a35);
                xp += 2 * Lanes;
            }
            x += pitch; d += cols;
        }
        a00.Store(p0); a01.Store(p0 + 16); a02.Store(p0 + 32); a03.Store(p0 + 48); a04.Store(p0 + 64); a05.Store(p0 + 80);
        a10.Store(p1); a11.Store(p1 + 16); a12.Store(p1 + 32); a13.Store(p1 + 48); a14.Store(p1 + 64); a15.Store(p1 + 80);
        a20.Store(p2); a21.Store(p2 + 16); a22.Store(p2 + 32); a23.Store(p2 + 48); a24.Store(p2 + 64); a25.Store(p2 + 80);
        a30.Store(p3); a31.Store(p3 + 16); a32.Store(p3 + 32); a33.Store(p3 + 48); a34.Store(p3 + 64); a35.Store(p3 + 80);
    }
}
