using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using static SerEngine.Backends.Cpu.CpuBackend;

namespace SerEngine.Backends.Cpu;

// Conv2d backward-weight with 512-bit vectors along the INPUT channels (whole 16-channel panels, stride 1, 3 filter columns):
//   dwᵀ[c / 16][k, r, s][c % 16] = Σ_n Σ_p xT_n[(oh + r)·Wp + ow + s][c] · dy[n, k, p]        (p = (oh, ow))
// xT_n is image n transposed channel-last and zero-padded ([Hp][Wp][16] per panel, by 8×8 register transposes); dy is read
// in place, one broadcast per (output channel, pixel). A tile is 3 taps (s = 0..2 of one r) × 8 output channels: per pixel
// 3 loads of xT and 8 broadcasts for 24 FMAs, where the channel-vector tiles (lanes along k) need dy packed into panels per
// image, by both threads when they split the taps (FocusCalibrationNet's conv2). Every dw element is still one FMA chain over
// the images, then the pixels row-major (a product's operands in the other order round the same), so the bits are those
// of the channel-vector tiles at either width. Threads take runs of whole (input panel, output group) units, panel-major,
// over every image: nothing is reduced across threads, and with as many panels as threads (conv3) none transposes another's.
internal static partial class Conv2dChannelVector
{
    /// <summary>Output pixels of one chunk of rows that each tile of a thread passes over before the next (whole rows; chunks change no bits).</summary>
    private const int LastChunkPixels = 512;

    /// <summary>Taps per tile of <see cref="BackwardWeightLast"/> (one row r of a 3-column filter).</summary>
    private const int LastTaps = 3;

    /// <summary>
    /// True when <see cref="BackwardWeightLast"/> runs <paramref name="g"/>: stride 1 without dilation, padding ≥ 0, the input
    /// channels whole 16-lane panels, 3 filter columns and the output channels a multiple of <see cref="LastGroup"/>.
    /// </summary>
    internal static bool LastFits(in Conv2dGeometry g) =>
        g.StrideH == 1 && g.StrideW == 1 && g.DilationH == 1 && g.DilationW == 1 && g.S == LastTaps
        && g.PadTop >= 0 && g.PadBottom >= 0 && g.PadLeft >= 0 && g.PadRight >= 0 && g.OutH > 0 && g.OutW > 0
        && g.C % Lanes == 0 && g.K % LastGroup == 0;

    /// <summary>Output channels of one tile (3 taps × 8 channels: 24 accumulators).</summary>
    private const int LastGroup = 8;

    /// <summary>This thread's channel-last padded panels (and the caller's dwᵀ) in <see cref="BackwardWeightLast"/> (CpuScratch).</summary>
    [ThreadStatic] private static float[]? t_lastImage, t_lastWeights;

    /// <summary>Backward-weight along the input channels (see the comment above; <see cref="LastFits"/> must hold): dw [K, C·R·3].</summary>
    public static unsafe void BackwardWeightLast(float[] x, float[] dy, float[] dw, in Conv2dGeometry g, int threads)
    {
        int c = g.C, k = g.K, rCount = g.R, h = g.H, w = g.W, images = g.N, outH = g.OutH, outW = g.OutW, ohw = outH * outW;
        int hp = outH + rCount - 1, wp = outW + LastTaps - 1, padTop = g.PadTop, padLeft = g.PadLeft;
        int groups = k / LastGroup, panels = c / Lanes, taps = rCount * LastTaps, rowChunk = Math.Max(1, LastChunkPixels / outW);
        // units (input panel, output group), panel-major: with as many panels as threads each thread transposes only its own
        int units = panels * groups, workers = g.Macs < GemmParallelMacs ? 1 : Math.Clamp(threads, 1, units);
        long panelImage = (long)hp * wp * Lanes, plane = (long)h * w, accPanel = (long)k * taps * Lanes;
        float* acc = CpuScratch.Floats(ref t_lastWeights, panels * accPanel); // [C/16][K][R·3][16]
        new Span<float>(acc, (int)(panels * accPanel)).Clear();
        ParallelFor(workers, workers, worker =>
        {
            int u0 = units * worker / workers, u1 = units * (worker + 1) / workers, cbLo = u0 / groups, cbHi = (u1 - 1) / groups + 1;
            float* xt = CpuScratch.Floats(ref t_lastImage, (cbHi - cbLo) * panelImage); // [cbLo .. cbHi)[Hp][Wp][16]
            new Span<float>(xt, (int)((cbHi - cbLo) * panelImage)).Clear(); // the padding stays zero, the interior is written per image
            float** rows = stackalloc float*[8];
            fixed (float* px = x, pdy = dy)
                for (int n = 0; n < images; n++)
                {
                    for (int cb = cbLo; cb < cbHi; cb++)
                        Conv2dWinograd.TransposeToLast(px + ((long)n * c + cb * Lanes) * plane, Lanes, h, w, plane,
                            xt + (cb - cbLo) * panelImage + ((long)padTop * wp + padLeft) * Lanes, wp, Lanes, rows);
                    // every dw element sums the chunks, and the pixels in each, in order
                    for (int oh0 = 0; oh0 < outH; oh0 += rowChunk)
                    {
                        int chunk = Math.Min(rowChunk, outH - oh0);
                        for (int u = u0; u < u1; u++)
                        {
                            int cb = u / groups, k0 = u % groups * LastGroup;
                            float* d = pdy + ((long)n * k + k0) * ohw + (long)oh0 * outW;
                            for (int r = 0; r < rCount; r++)
                                KernelWeightLast3x8(chunk, outW, xt + (cb - cbLo) * panelImage + (long)(oh0 + r) * wp * Lanes, (nint)wp * Lanes, d, ohw,
                                    acc + cb * accPanel + ((long)k0 * taps + r * LastTaps) * Lanes, (nint)taps * Lanes);
                        }
                    }
                }
        });
        // dw[k, c·R·3 + t] = dwᵀ[c / 16][k, t][c % 16]
        fixed (float* pdw = dw)
            for (int kk = 0; kk < k; kk++)
                for (int ci = 0; ci < c; ci++)
                {
                    float* src = acc + ci / Lanes * accPanel + (long)kk * taps * Lanes + ci % Lanes, dst = pdw + ((long)kk * c + ci) * taps;
                    for (int t = 0; t < taps; t++) dst[t] = src[t * Lanes];
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
                a00 = Fmadd(b, x0, a00); a01 = Fmadd(b, x1, a01); a02 = Fmadd(b, x2, a02);
                b = Vector512.Create(d1[q]);
                a10 = Fmadd(b, x0, a10); a11 = Fmadd(b, x1, a11); a12 = Fmadd(b, x2, a12);
                b = Vector512.Create(d2[q]);
                a20 = Fmadd(b, x0, a20); a21 = Fmadd(b, x1, a21); a22 = Fmadd(b, x2, a22);
                b = Vector512.Create(d3[q]);
                a30 = Fmadd(b, x0, a30); a31 = Fmadd(b, x1, a31); a32 = Fmadd(b, x2, a32);
                b = Vector512.Create(d4[q]);
                a40 = Fmadd(b, x0, a40); a41 = Fmadd(b, x1, a41); a42 = Fmadd(b, x2, a42);
                b = Vector512.Create(d5[q]);
                a50 = Fmadd(b, x0, a50); a51 = Fmadd(b, x1, a51); a52 = Fmadd(b, x2, a52);
                b = Vector512.Create(d6[q]);
                a60 = Fmadd(b, x0, a60); a61 = Fmadd(b, x1, a61); a62 = Fmadd(b, x2, a62);
                b = Vector512.Create(d7[q]);
                a70 = Fmadd(b, x0, a70); a71 = Fmadd(b, x1, a71); a72 = Fmadd(b, x2, a72);
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
}
