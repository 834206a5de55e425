using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using static SerEngine.Backends.Cpu.CpuBackend;

namespace SerEngine.Backends.Cpu;

// Conv2d backward-weight as channel-vector tiles (see Conv2dChannelVector.cs):
//   dwᵀ[t, k] = Σ_n Σ_p P_n[base(p) + off[t]] · dy[n, k, p]      (16 output channels k × 6 taps t per tile)
// P_n is image n zero-padded as for the shifted-window kernel ([C, Hp, Wp]), off[t] the tap offset
// and base(p) = oh·sh·Wp + ow·sw. dy is packed image by image, by the thread using them, into 16-channel panels dyᵀ [K/16][OHW][16]
// (8×8 register transposes, lanes past K zero): a step over one output pixel is two aligned loads of
// dyᵀ, six broadcasts of input values (one per tap, read in place from P) and twelve FMAs, with no
// im2col packing and no virtual columns. Threads take runs of whole (channel panel, tap range) blocks and sum
// over every image themselves, so there are no partial sums to reduce; the pixels go in chunks of
// output rows (≤ 32 KB of dyᵀ, kept close while the block's taps pass over it). With 512-bit vectors
// a task takes two or three channel panels at once (6 taps × 32 or 48 channels, one register per tap and panel):
// every output element keeps its FMA chain, so the bits are those of the 256-bit tiles.
internal static partial class Conv2dChannelVector
{
    /// <summary>Pixels of one dyᵀ chunk every tap tile of a task passes over before the next (whole output rows, ≤ 512 · 64 B = 32 KB; half as many per panel for panel pairs).</summary>
    private const int ChunkPixels = 512;

    /// <summary>Backward-weight with channel-vector tiles (any stride): dw [K, C·R·S] = Σ_n dy[n] · col(x[n])ᵀ.</summary>
    /// <remarks><paramref name="wide"/> pins the 512-bit tiles on or off (default: where the CPU has them); both give the same bits.</remarks>
    public static unsafe void BackwardWeight(float[] x, float[] dy, float[] dw, in Conv2dGeometry g, int threads, bool? wide = null)
    {
        bool wideTiles = wide ?? Vector512.IsHardwareAccelerated;
        // 16 or 32 input channels fill the 512-bit lanes themselves, and dy is then read in place (same chains, same bits)
        if (wideTiles && LastFits(g))
        {
            BackwardWeightLast(x, dy, dw, g, threads);
            return;
        }
        int width = PanelsPerTask(CeilDiv(g.K, Lanes), wideTiles);
        var s = PaddedConv.Forward(g);
        int wp = s.Wp, taps = s.Taps, img = s.ImageLength, k = g.K, images = g.N;
        int outH = g.OutH, outW = g.OutW, ohw = outH * outW, sh = g.StrideH, sw = g.StrideW, blocks = CeilDiv(k, Lanes), tapTiles = CeilDiv(taps, Rows);
        var off = s.TapOffsets(taps);
        int rs = s.R * s.S;
        long macs = (long)images * blocks * Lanes * tapTiles * Rows * ohw;
        int workers = macs < GemmParallelMacs ? 1 : threads;
        long panel = (long)ohw * Lanes;
        float* dwT = (float*)NativeMemory.AlignedAlloc((nuint)((long)blocks * tapTiles * Rows * Lanes * sizeof(float)), 64); // [K/16][taps'][16]
        try
        {
            new Span<float>(dwT, blocks * tapTiles * Rows * Lanes).Clear();
            float* pdwT = dwT;
            // tasks: (channel panels, range of tap tiles), as many as make a multiple of the threads, each thread a run of
            // them. Image by image a thread pads x[n] and packs the panels of dy[n] its tasks use into scratch that stays in
            // L2 (a batch-wide padded x and dyᵀ went to memory and came back), then runs its tasks over them; every dwᵀ
            // element still sums images, row chunks, pixels in that order
            int units = CeilDiv(blocks, width), splits = workers / Gcd(units, workers), rowChunk = Math.Max(1, ChunkPixels / width / outW);
            int perWorker = units * splits / workers;
            ParallelFor(workers, workers, worker =>
            {
                int first = worker * perWorker, end = first + perWorker;
                int kbLo = first / splits * width, kbHi = Math.Min(blocks, ((end - 1) / splits + 1) * width);
                // only the input channels this thread's taps read are padded (with tap splits, each thread's share of them)
                int cLo = s.Cin, cHi = 0;
                for (int task = first; task < end; task++)
                {
                    int sp = task % splits, tt0 = (int)((long)tapTiles * sp / splits), tt1 = (int)((long)tapTiles * (sp + 1) / splits);
                    if (tt0 == tt1) continue;
                    cLo = Math.Min(cLo, tt0 * Rows / rs);
                    cHi = Math.Max(cHi, (Math.Min(tt1 * Rows, taps) - 1) / rs + 1);
                }
                var part = PartOf(s, cLo, cHi);
                float* image = CpuScratch.Floats(ref t_weightImage, img);                       // [ImageLength]
                float* panels = CpuScratch.Floats(ref t_weightPanels, (kbHi - kbLo) * panel);  // [kbLo .. kbHi)[OHW][16]
                fixed (float* src = x, pdy = dy)
                fixed (int* poff = off)
                {
                    for (int n = 0; n < images; n++)
                    {
                        if (cLo < cHi) part.Write(src + ((long)n * s.Cin + cLo) * s.Hin * s.Win, image + (long)cLo * part.PlaneLength);
                        for (int kb = kbLo; kb < kbHi; kb++)
                            PackPanel(pdy + ((long)n * k + kb * Lanes) * ohw, Math.Min(Lanes, k - kb * Lanes), ohw, panels + (kb - kbLo) * panel);
                        for (int task = first; task < end; task++)
                        {
                            int kb = task / splits * width, sp = task % splits;
                            int count = Math.Min(width, blocks - kb);
                            int tt0 = (int)((long)tapTiles * sp / splits), tt1 = (int)((long)tapTiles * (sp + 1) / splits);
                            for (int oh0 = 0; oh0 < outH; oh0 += rowChunk)
                            {
                                int rows = Math.Min(rowChunk, outH - oh0);
                                float* d = panels + (kb - kbLo) * panel + (long)oh0 * outW * Lanes;
                                float* at = image + (long)oh0 * sh * wp;
                                for (int tt = tt0; tt < tt1; tt++)
                                {
                                    int t = tt * Rows, last = taps - 1;
                                    float* tile = pdwT + ((long)kb * tapTiles + tt) * Rows * Lanes;
                                    if (count == 3)
                                        KernelWeight6x48(rows, outW, sh * wp, sw, d, (nint)panel,
                                            at + poff[t], at + poff[Math.Min(t + 1, last)], at + poff[Math.Min(t + 2, last)],
                                            at + poff[Math.Min(t + 3, last)], at + poff[Math.Min(t + 4, last)], at + poff[Math.Min(t + 5, last)],
                                            tile, (nint)tapTiles * Rows * Lanes);
                                    else if (count == 2)
                                        KernelWeight6x32(rows, outW, sh * wp, sw, d, (nint)panel,
                                            at + poff[t], at + poff[Math.Min(t + 1, last)], at + poff[Math.Min(t + 2, last)],
                                            at + poff[Math.Min(t + 3, last)], at + poff[Math.Min(t + 4, last)], at + poff[Math.Min(t + 5, last)],
                                            tile, tile + (long)tapTiles * Rows * Lanes);
                                    else
                                        KernelWeight6x16(rows, outW, sh * wp, sw, d,
                                            at + poff[t], at + poff[Math.Min(t + 1, last)], at + poff[Math.Min(t + 2, last)],
                                            at + poff[Math.Min(t + 3, last)], at + poff[Math.Min(t + 4, last)], at + poff[Math.Min(t + 5, last)],
                                            tile);
                                }
                            }
                        }
                    }
                }
            });
            // dw[k, t] = dwᵀ[k / 16][t][k % 16]
            fixed (float* pdw = dw)
                for (int kk = 0; kk < k; kk++)
                {
                    float* src = dwT + (long)(kk / Lanes) * tapTiles * Rows * Lanes + kk % Lanes;
                    float* dst = pdw + (long)kk * taps;
                    for (int t = 0; t < taps; t++) dst[t] = src[t * Lanes];
                }
        }
        finally
        {
            NativeMemory.AlignedFree(dwT);
        }
    }

    /// <summary>
    /// Channel panels one task takes: with 512-bit vectors pairs where they split evenly, else triples where those do
    /// (FocusCalibrationNet's conv3, 48 channels: a pair and a single panel would split 2:1 over two threads); single panels
    /// otherwise, which balance the threads.
    /// </summary>
    internal static int PanelsPerTask(int blocks, bool wide) =>
        !wide ? 1 : blocks % 2 == 0 ? 2 : blocks % 3 == 0 ? 3 : 1;

    /// <summary>This thread's padded image and dyᵀ panels of one image in <see cref="BackwardWeight"/> (CpuScratch).</summary>
    [ThreadStatic] private static float[]? t_weightImage, t_weightPanels;

    /// <summary>
    /// The planes [<paramref name="cLo"/>, <paramref name="cHi"/>) of <paramref name="s"/>'s padded image, written at their
    /// place in it: a tap of plane c reads past its plane's end only into the next plane's leading zeros (the last plane's
    /// into the slack), so the slack's length of zeros is written after the last plane of the range as well.
    /// </summary>
    private static PaddedImage PartOf(PaddedConv s, int cLo, int cHi)
    {
        var whole = s.Image;
        int count = Math.Max(0, cHi - cLo);
        return whole with { Planes = count, Length = count * whole.PlaneLength + (whole.Length - s.Cin * whole.PlaneLength) };
    }

    private static int Gcd(int a, int b)
    {
        while (b != 0) (a, b) = (b, a % b);
        return a;
    }

    /// <summary>
    /// tile [6 taps, 16 channels] += Σ over <paramref name="rows"/> × <paramref name="cols"/> output
    /// pixels of x_j[oh·rowStep + ow·step] · d[(oh·cols + ow)·16 ..]: d is the dyᵀ panel (64-byte aligned),
    /// x_j tap j's view of the padded image (rowStep = sh·Wp, step = sw). Nothing else happens in the
    /// loop, so the twelve accumulators stay in registers.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void KernelWeight6x16(int rows, int cols, int rowStep, nint step, float* d, float* x0, float* x1, float* x2, float* x3, float* x4, float* x5,
        float* tile)
    {
        MicroTile.Load(tile, 16, out Vector256<float> c00, out var c01, out var c10, out var c11, out var c20, out var c21,
            out var c30, out var c31, out var c40, out var c41, out var c50, out var c51);
        for (int r = 0; r < rows; r++)
        {
            nint end = cols * step;
            for (nint q = 0; q < end; q += step)
            {
                var d0 = Vector256.LoadAligned(d);
                var d1 = Vector256.LoadAligned(d + 8);
                var b = Vector256.Create(x0[q]);
                c00 = Fmadd(b, d0, c00); c01 = Fmadd(b, d1, c01);
                b = Vector256.Create(x1[q]);
                c10 = Fmadd(b, d0, c10); c11 = Fmadd(b, d1, c11);
                b = Vector256.Create(x2[q]);
                c20 = Fmadd(b, d0, c20); c21 = Fmadd(b, d1, c21);
                b = Vector256.Create(x3[q]);
                c30 = Fmadd(b, d0, c30); c31 = Fmadd(b, d1, c31);
                b = Vector256.Create(x4[q]);
                c40 = Fmadd(b, d0, c40); c41 = Fmadd(b, d1, c41);
                b = Vector256.Create(x5[q]);
                c50 = Fmadd(b, d0, c50); c51 = Fmadd(b, d1, c51);
                d += Lanes;
            }
            x0 += rowStep; x1 += rowStep; x2 += rowStep; x3 += rowStep; x4 += rowStep; x5 += rowStep;
        }
        MicroTile.Store(tile, 16, c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51);
    }

    /// <summary>
    /// <see cref="KernelWeight6x16"/> over two neighbouring channel panels at once (the second's dyᵀ
    /// <paramref name="next"/> floats on, its tile <paramref name="tileHigh"/>), one Vector512 per tap
    /// and panel: the broadcast of each input value feeds 32 channels.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void KernelWeight6x32(int rows, int cols, int rowStep, nint step, float* d, nint next, float* x0, float* x1, float* x2, float* x3, float* x4, float* x5,
        float* tileLow, float* tileHigh)
    {
        var c00 = Vector512.Load(tileLow); var c10 = Vector512.Load(tileLow + 16); var c20 = Vector512.Load(tileLow + 32);
        var c30 = Vector512.Load(tileLow + 48); var c40 = Vector512.Load(tileLow + 64); var c50 = Vector512.Load(tileLow + 80);
        var c01 = Vector512.Load(tileHigh); var c11 = Vector512.Load(tileHigh + 16); var c21 = Vector512.Load(tileHigh + 32);
        var c31 = Vector512.Load(tileHigh + 48); var c41 = Vector512.Load(tileHigh + 64); var c51 = Vector512.Load(tileHigh + 80);
        for (int r = 0; r < rows; r++)
        {
            nint end = cols * step;
            for (nint q = 0; q < end; q += step)
            {
                var d0 = Vector512.LoadAligned(d);
                var d1 = Vector512.LoadAligned(d + next);
                var b = Vector512.Create(x0[q]);
                c00 = Fmadd(b, d0, c00); c01 = Fmadd(b, d1, c01);
                b = Vector512.Create(x1[q]);
                c10 = Fmadd(b, d0, c10); c11 = Fmadd(b, d1, c11);
                b = Vector512.Create(x2[q]);
                c20 = Fmadd(b, d0, c20); c21 = Fmadd(b, d1, c21);
                b = Vector512.Create(x3[q]);
                c30 = Fmadd(b, d0, c30); c31 = Fmadd(b, d1, c31);
                b = Vector512.Create(x4[q]);
                c40 = Fmadd(b, d0, c40); c41 = Fmadd(b, d1, c41);
                b = Vector512.Create(x5[q]);
                c50 = Fmadd(b, d0, c50); c51 = Fmadd(b, d1, c51);
                d += Lanes;
            }
            x0 += rowStep; x1 += rowStep; x2 += rowStep; x3 += rowStep; x4 += rowStep; x5 += rowStep;
        }
        c00.Store(tileLow); c10.Store(tileLow + 16); c20.Store(tileLow + 32);
        c30.Store(tileLow + 48); c40.Store(tileLow + 64); c50.Store(tileLow + 80);
        c01.Store(tileHigh); c11.Store(tileHigh + 16); c21.Store(tileHigh + 32);
        c31.Store(tileHigh + 48); c41.Store(tileHigh + 64); c51.Store(tileHigh + 80);
    }

    /// <summary>
    /// <see cref="KernelWeight6x16"/> over three neighbouring channel panels (dyᵀ <paramref name="next"/> floats apart, tiles
    /// <paramref name="tileNext"/> floats apart), one Vector512 per tap and panel: 18 accumulators, each broadcast feeds 48 channels.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void KernelWeight6x48(int rows, int cols, int rowStep, nint step, float* d, nint next, float* x0, float* x1, float* x2, float* x3, float* x4, float* x5,
        float* tile, nint tileNext)
    {
        float* t1 = tile + tileNext, t2 = t1 + tileNext;
        var c00 = Vector512.Load(tile); var c10 = Vector512.Load(tile + 16); var c20 = Vector512.Load(tile + 32);
        var c30 = Vector512.Load(tile + 48); var c40 = Vector512.Load(tile + 64); var c50 = Vector512.Load(tile + 80);
        var c01 = Vector512.Load(t1); var c11 = Vector512.Load(t1 + 16); var c21 = Vector512.Load(t1 + 32);
        var c31 = Vector512.Load(t1 + 48); var c41 = Vector512.Load(t1 + 64); var c51 = Vector512.Load(t1 + 80);
        var c02 = Vector512.Load(t2); var c12 = Vector512.Load(t2 + 16); var c22 = Vector512.Load(t2 + 32);
        var c32 = Vector512.Load(t2 + 48); var c42 = Vector512.Load(t2 + 64); var c52 = Vector512.Load(t2 + 80);
        nint next2 = next + next;
        for (int r = 0; r < rows; r++)
        {
            nint end = cols * step;
            for (nint q = 0; q < end; q += step)
            {
                var d0 = Vector512.LoadAligned(d);
                var d1 = Vector512.LoadAligned(d + next);
                var d2 = Vector512.LoadAligned(d + next2);
                var b = Vector512.Create(x0[q]);
                c00 = Fmadd(b, d0, c00); c01 = Fmadd(b, d1, c01); c02 = Fmadd(b, d2, c02);
                b = Vector512.Create(x1[q]);
                c10 = Fmadd(b, d0, c10); c11 = Fmadd(b, d1, c11); c12 = Fmadd(b, d2, c12);
                b = Vector512.Create(x2[q]);
                c20 = Fmadd(b, d0, c20); c21 = Fmadd(b, d1, c21); c22 = Fmadd(b, d2, c22);
                b = Vector512.Create(x3[q]);
                c30 = Fmadd(b, d0, c30); c31 = Fmadd(b, d1, c31); c32 = Fmadd(b, d2, c32);
                b = Vector512.Create(x4[q]);
                c40 = Fmadd(b, d0, c40); c41 = Fmadd(b, d1, c41); c42 = Fmadd(b, d2, c42);
                b = Vector512.Create(x5[q]);
                c50 = Fmadd(b, d0, c50); c51 = Fmadd(b, d1, c51); c52 = Fmadd(b, d2, c52);
                d += Lanes;
            }
            x0 += rowStep; x1 += rowStep; x2 += rowStep; x3 += rowStep; x4 += rowStep; x5 += rowStep;
        }
        c00.Store(tile); c10.Store(tile + 16); c20.Store(tile + 32);
        c30.Store(tile + 48); c40.Store(tile + 64); c50.Store(tile + 80);
        c01.Store(t1); c11.Store(t1 + 16); c21.Store(t1 + 32);
        c31.Store(t1 + 48); c41.Store(t1 + 64); c51.Store(t1 + 80);
        c02.Store(t2); c12.Store(t2 + 16); c22.Store(t2 + 32);
        c32.Store(t2 + 48); c42.Store(t2 + 64); c52.Store(t2 + 80);
    }
}
