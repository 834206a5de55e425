using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using static SerEngine.Backends.Cpu.Conv2dEpilogue;
using static SerEngine.Backends.Cpu.CpuBackend;

namespace SerEngine.Backends.Cpu;

// Conv2d as "channel-vector" tiles: the 16 lanes of a register tile (two
// Vector256<float>) run along OUTPUT CHANNELS and its six broadcast rows are six output pixels:
//   forward          y[n, k, p_j] = bias[k] + Σ_t w[k, t] · P_n[base(p_j) + off[t]]    (j = 0..5, 16 k at once)
//   backward-input   the same with dy as the image (complementary padding) and the weights flipped
//                    and transposed (taps (k, r', s'), lanes = input channels c), giving dx
// P is the zero-padded image of the shifted-window path (PaddedConv: [Cin, Hp, Wp], row pitch Wp), tap
// t = (c, r, s) has off[t] = c·Hp·Wp + r·dh·Wp + s·dw, and output pixel p = (oh, ow) reads from
// base(p) = oh·Wp + ow (forward with strides: oh·sh·Wp + ow·sw; backward-input is stride 1 only).
// The weights are packed once per call into 16-channel panels [Cout/16][taps][16] (64-byte
// aligned, lanes past Cout zero), so a tap step is two aligned loads, six broadcasts and
// twelve FMAs. The six pixels of a tile are any six consecutive outputs (each has its own base,
// so a tile may cross a row end): nothing is computed for virtual columns, and only the last tile
// of an image repeats its last pixel (24 × 36 maps: 144 tiles exactly; 11 × 17: 32 tiles for 187).
// Backward-weight with the same tile shape is in Conv2dChannelVector.BackwardWeight.cs.
internal static partial class Conv2dChannelVector
{
    /// <summary>
    /// Forward and backward-weight at any stride (a pixel's base is oh·sh·Wp + ow·sw), backward-input
    /// where the adjoint exists; on 256-bit vectors with FMA.
    /// </summary>
    public static bool Supports(Conv2dPass pass, in Conv2dGeometry g, in Conv2dIsa isa) =>
        isa.Simd256 && isa.Fma && pass switch
        {
            Conv2dPass.BackwardInput => Conv2dAdjoint.Exists(g),
            _ => true,
        };

    /// <summary>Lanes of a channel-vector tile (two Vector256&lt;float&gt;).</summary>
    internal const int Lanes = 16;

    /// <summary>Pixels (forward, backward-input) or taps (backward-weight) of a channel-vector tile.</summary>
    internal const int Rows = 6;

    /// <summary>
    /// Taps of one packed-weight chunk that every tile of a task passes over before the next
    /// (512 · 64 B = 32 KB, read from L1/L2; other sizes and tiles outermost were slower on one thread:
    /// conv2d.fwd.16x64x24x36.k5x192 with --threads 1).
    /// </summary>
    private const int ChunkTaps = 512;

    /// <summary>Forward with channel-vector tiles (any stride): y = conv(x, w) + bias, then max(·, 0) when <paramref name="relu"/>.</summary>
    /// <remarks><paramref name="wide"/> pins the 512-bit tiles on or off (default: where the CPU has them); both give the same bits.</remarks>
    public static unsafe void Forward(float[] x, float[] w, float[]? bias, float[] y, in Conv2dGeometry g, bool relu, int threads, bool? wide = null)
    {
        var s = PaddedConv.Forward(g);
        int taps = s.Taps, blocks = CeilDiv(g.K, Lanes);
        float* packed = (float*)NativeMemory.AlignedAlloc((nuint)((long)blocks * taps * Lanes * sizeof(float)), 64); // [K/16][taps][16]
        try
        {
            // packed[kb][t][i] = w[16·kb + i, t] (0 past K): each panel is its 16 weight rows transposed
            // (the same 8×8 register transposes as the dy panels of backward-weight)
            ParallelFor(blocks, (long)blocks * taps * Lanes >= ParallelElements ? threads : 1, new PackPanels(w, g.K, taps, packed));
            Run(s, g.StrideH, g.StrideW, g.OutH, g.OutW, x, packed, bias, y, relu, threads, wide ?? Vector512.IsHardwareAccelerated);
        }
        finally
        {
            NativeMemory.AlignedFree(packed);
        }
    }

    /// <summary>Forward's packing of weight panel kb (16 output channels) of w [K, taps] into packed [K/16][taps][16].</summary>
    private readonly unsafe struct PackPanels(float[] w, int kCount, int taps, float* packed) : IPoolBody
    {
        public void Run(int kb)
        {
            fixed (float* pw = w)
                PackPanel(pw + (long)kb * Lanes * taps, Math.Min(Lanes, kCount - kb * Lanes), taps, packed + (long)kb * taps * Lanes);
        }
    }

    /// <summary>Backward-input with channel-vector tiles (stride 1): dx = conv(dy, w flipped and transposed).</summary>
    public static unsafe void BackwardInput(float[] dy, float[] w, float[] dx, in Conv2dGeometry g, int threads)
    {
        int rs = g.R * g.S, taps = g.K * rs, blocks = CeilDiv(g.C, Lanes);
        float* packed = (float*)NativeMemory.AlignedAlloc((nuint)((long)blocks * taps * Lanes * sizeof(float)), 64); // [C/16][(k, r', s')][16]
        try
        {
            // packed[cb][(k, r', s')][i] = w[k, 16·cb + i, R−1−r', S−1−s'] (0 past C)
            float* pp = packed;
            var geo = g;
            ParallelFor(blocks, (long)blocks * taps * Lanes >= ParallelElements ? threads : 1, cb =>
            {
                fixed (float* pw = w) PackFlippedPanel(pw, geo, cb, pp + (long)cb * taps * Lanes);
            });
            var s = PaddedConv.Adjoint(g);
            Run(s, 1, 1, s.Hout, s.Wout, dy, packed, null, dx, relu: false, threads, Vector512.IsHardwareAccelerated);
        }
        finally
        {
            NativeMemory.AlignedFree(packed);
        }
    }

    /// <summary>
    /// dst [(k, r', s')][16] = w[k, 16·cb + i, R−1−r', S−1−s'] for lane i (0 past C): panel
    /// <paramref name="cb"/> of the flipped, transposed weights that backward-input convolves dy with.
    /// </summary>
    private static unsafe void PackFlippedPanel(float* w, in Conv2dGeometry g, int cb, float* dst)
    {
        int rs = g.R * g.S, taps = g.K * rs;
        for (int i = 0; i < Lanes; i++)
        {
            int c = cb * Lanes + i;
            if (c >= g.C)
            {
                for (int t = 0; t < taps; t++) dst[t * Lanes + i] = 0f;
                continue;
            }
            for (int k = 0; k < g.K; k++)
            {
                float* src = w + ((long)k * g.C + c) * rs; // [R, S] of (k, c)
                float* d = dst + (long)k * rs * Lanes + i;
                for (int q = 0; q < rs; q++) d[q * Lanes] = src[rs - 1 - q];
            }
        }
    }

    /// <summary>
    /// dst [count][16] = the <paramref name="lanes"/> rows src[i·count + p] transposed (lanes past them
    /// zero): eight channels × eight positions per register transpose, both halves of a 64-byte dst
    /// row written together (one pass over dst); the tail one position at a time.
    /// </summary>
    private static unsafe void PackPanel(float* src, int lanes, int count, float* dst)
    {
        float** lo = stackalloc float*[8];
        float** hi = stackalloc float*[8];
        int p = 0;
        if (lanes == Lanes && Avx.IsSupported)
        {
            for (int i = 0; i < 8; i++)
            {
                lo[i] = src + (long)i * count;
                hi[i] = src + (long)(i + 8) * count;
            }
            for (; p + 8 <= count; p += 8)
            {
                Conv2dPack.Transpose8x8(lo, p, dst + (long)p * Lanes, Lanes);
                Conv2dPack.Transpose8x8(hi, p, dst + (long)p * Lanes + 8, Lanes);
            }
        }
        for (; p < count; p++)
            for (int i = 0; i < Lanes; i++)
                dst[(long)p * Lanes + i] = i < lanes ? src[(long)i * count + p] : 0f;
    }

    /// <summary>This thread's tile accumulators of <see cref="Run"/> (CpuScratch).</summary>
    [ThreadStatic] private static float[]? _tileScratch;

    /// <summary>
    /// Pads every image, then runs the 6-pixel × 16-channel tiles: tasks are images (or, with fewer
    /// images than twice the threads, blocks of pixel tiles × channel panels that keep the threads
    /// equally busy); within a task the taps go in chunks of whole input channels (outermost), then
    /// channel panels, then pixel tiles, so a panel's chunk of weights (≤ 32 KB) stays close while
    /// every tile passes over it; tiles accumulate in a buffer across chunks. With <paramref name="wide"/>,
    /// two panels share each pass of a tile's pixels (Kernel6x32: half the broadcasts, 512-bit FMAs, the same bits).
    /// </summary>
    private static unsafe void Run(PaddedConv s, int sh, int sw, int hout, int wout, float[] input, float* packed, float[]? bias, float[] output, bool relu, int threads, bool wide)
    {
        int taps = s.Taps, img = s.ImageLength, rs = s.R * s.S;
        int ohw = hout * wout, tiles = CeilDiv(ohw, Rows), blocks = CeilDiv(s.Cout, Lanes);
        // the tap offsets and pixel bases are rented (an inference calls this on every forward: new arrays there are garbage)
        var off = ArrayPool<int>.Shared.Rent(taps);
        s.Image.TapOffsets(s.R, s.S, s.DilH, s.DilW, off.AsSpan(0, taps));
        // base(p) of each tile's six pixels; pixels past the image repeat its last one (dropped)
        var pix = ArrayPool<int>.Shared.Rent(tiles * Rows);
        for (int i = 0; i < tiles * Rows; i++)
        {
            int p = Math.Min(i, ohw - 1);
            pix[i] = p / wout * sh * s.Wp + p % wout * sw;
        }
        var padded = ArrayPool<float>.Shared.Rent(s.N * img); // [N][ImageLength]
        long macs = (long)s.N * blocks * Lanes * tiles * Rows * taps;
        int workers = macs < GemmParallelMacs ? 1 : threads;
        ParallelFor(s.N, workers, new PadTask(s, input, padded));
        int cinChunk = Math.Max(1, ChunkTaps / rs), chunks = CeilDiv(s.Cin, cinChunk);
        var (tSplits, bSplits) = workers == 1 || s.N >= 2 * workers ? (1, 1) : Conv2dShiftedWindow.Splits(s.N, tiles, blocks, workers);
        ParallelFor(s.N * tSplits * bSplits, workers, new RunTask
        {
            S = s, Padded = padded, Output = output, Bias = bias, Off = off, Pix = pix, Packed = packed, Ohw = ohw, Tiles = tiles, Blocks = blocks,
            Chunks = chunks, TSplits = tSplits, BSplits = bSplits, Relu = relu, Wide = wide,
        });
        ArrayPool<float>.Shared.Return(padded);
        ArrayPool<int>.Shared.Return(off);
        ArrayPool<int>.Shared.Return(pix);
    }

    /// <summary>Run's padding of image n into padded [N][ImageLength].</summary>
    private readonly struct PadTask(PaddedConv s, float[] input, float[] padded) : IPoolBody
    {
        public unsafe void Run(int n)
        {
            fixed (float* src = input, dst = padded) s.Pad(src + (long)n * s.Cin * s.Hin * s.Win, dst + (long)n * s.ImageLength);
        }
    }

    /// <summary>Run's task (image, range of pixel tiles, range of channel blocks) of TSplits × BSplits per image.</summary>
    private unsafe struct RunTask : IPoolBody
    {
        public PaddedConv S;
        public float[] Padded, Output;  // [N][ImageLength], [N, Cout, OHW]
        public float[]? Bias;           // [Cout]
        public int[] Off, Pix;          // tap offsets [Taps], tile pixel bases [tiles·6]
        public float* Packed;           // the packed weights, pinned by the caller
        public int Ohw, Tiles, Blocks, Chunks, TSplits, BSplits;
        public bool Relu, Wide;

        public readonly void Run(int task)
        {
            var s = S;
            int taps = s.Taps, img = s.ImageLength, rs = s.R * s.S, ohw = Ohw, tiles = Tiles, blocks = Blocks, chunks = Chunks;
            int tSplits = TSplits, bSplits = BSplits;
            bool wide = Wide, relu = Relu;
            float* packed = Packed;
            float[] padded = Padded, output = Output;
            float[]? bias = Bias;
            int[] off = Off, pix = Pix;
            int n = task / (tSplits * bSplits), ts = task / bSplits % tSplits, bs = task % bSplits;
            int t0 = (int)((long)tiles * ts / tSplits), t1 = (int)((long)tiles * (ts + 1) / tSplits);
            int b0 = (int)((long)blocks * bs / bSplits), b1 = (int)((long)blocks * (bs + 1) / bSplits);
            if (t0 >= t1 || b0 >= b1) return;
            int mineBlocks = b1 - b0;
            const int tileFloats = Rows * Lanes;
            float* acc = CpuScratch.Floats(ref _tileScratch, (long)(t1 - t0) * mineBlocks * tileFloats); // [tiles][blocks][6, 16]
            {
                fixed (float* pin = padded, po = output, pb = bias)
                fixed (int* poff = off, ppix = pix)
                {
                    float* image = pin + (long)n * img;
                    for (int ch = 0; ch < chunks; ch++)
                    {
                        int c0 = (int)((long)s.Cin * ch / chunks), c1 = (int)((long)s.Cin * (ch + 1) / chunks);
                        int p0 = c0 * rs, count = (c1 - c0) * rs;
                        for (int kb = b0; kb < b1; kb += wide && kb + 1 < b1 ? 2 : 1)
                        {
                            float* wk = packed + ((long)kb * taps + p0) * Lanes;
                            for (int t = t0; t < t1; t++)
                            {
                                int* b = ppix + t * Rows;
                                float* tile = acc + ((long)(t - t0) * mineBlocks + kb - b0) * tileFloats;
                                if (wide && kb + 1 < b1)
                                    Kernel6x32(count, wk, wk + (long)taps * Lanes, poff + p0, image + b[0], image + b[1], image + b[2], image + b[3], image + b[4], image + b[5],
                                        tile, tile + tileFloats, accumulate: ch > 0);
                                else
                                    Kernel6x16(count, wk, poff + p0, image + b[0], image + b[1], image + b[2], image + b[3], image + b[4], image + b[5],
                                        tile, accumulate: ch > 0);
                            }
                        }
                    }
                    float* outImage = po + (long)n * s.Cout * ohw;
                    for (int kb = b0; kb < b1; kb++)
                        Store(acc + (kb - b0) * tileFloats, mineBlocks * tileFloats, t0, t1, outImage, kb * Lanes, s.Cout, ohw, pb, relu);
                }
            }
        }
    }

    /// <summary>
    /// Writes channel block k0 of tiles [t0, t1) into out [Cout, OHW] plus bias (then ReLU when <paramref name="relu"/>:
    /// v > 0 ? v : 0, so NaN becomes 0 as in the reference): tile t's [6 pixels, 16 channels] lies at
    /// tiles + (t − t0)·<paramref name="tileStride"/>; channels past Cout and pixels past OHW are dropped.
    /// </summary>
    private static unsafe void Store(float* tiles, long tileStride, int t0, int t1, float* outImage, int k0, int cout, int ohw, float* bias, bool relu)
    {
        int lanes = Math.Min(Lanes, cout - k0);
        // bias and ReLU on the tiles' rows as vectors (no branch per output), then the transposing copy
        Vector256<float> bLow = Vector256<float>.Zero, bHigh = Vector256<float>.Zero;
        if (bias != null)
        {
            var lanesBias = stackalloc float[Lanes];
            for (int i = 0; i < Lanes; i++) lanesBias[i] = i < lanes ? bias[k0 + i] : 0f;
            bLow = Vector256.Load(lanesBias);
            bHigh = Vector256.Load(lanesBias + 8);
        }
        for (int t = t0; t < t1; t++)
            for (int j = 0; j < Rows; j++)
            {
                float* row = tiles + (t - t0) * tileStride + j * Lanes;
                BiasRelu(Vector256.Load(row), bLow, relu).Store(row);
                BiasRelu(Vector256.Load(row + 8), bHigh, relu).Store(row + 8);
            }
        // runs of eight pixels (across tiles) by whole halves of eight channels as 8×8 register transposes, the rest one by one
        // (element by element, a channel's six floats per tile went to a new row of out each time)
        var rows = stackalloc float*[8];
        int p0 = t0 * Rows, p1 = Math.Min(t1 * Rows, ohw), halves = Avx.IsSupported ? lanes / 8 : 0, p = p0;
        for (; p + 8 <= p1 && halves > 0; p += 8)
        {
            for (int i = 0; i < 8; i++)
            {
                int q = p + i - p0;
                rows[i] = tiles + q / Rows * tileStride + q % Rows * Lanes;
            }
            for (int h = 0; h < halves; h++)
                Conv2dPack.Transpose8x8(rows, 8 * h, outImage + (long)(k0 + 8 * h) * ohw + p, ohw);
        }
        for (int i = 0; i < lanes; i++)
        {
            float* dst = outImage + (long)(k0 + i) * ohw;
            for (int q = i < 8 * halves ? p : p0; q < p1; q++) dst[q] = tiles[(q - p0) / Rows * tileStride + (q - p0) % Rows * Lanes + i];
        }
    }

    /// <summary>
    /// The 6×16 channel-vector tile over <paramref name="taps"/> steps: w is the packed panel
    /// [taps][16] (64-byte aligned), tap t of pixel j is x_j[off[t]]; result to tile [6, 16], or
    /// added to it when <paramref name="accumulate"/>. Nothing else happens in the loop, so the
    /// twelve accumulators, two weight vectors and the broadcast stay in registers.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static unsafe void Kernel6x16(int taps, float* w, int* off, float* x0, float* x1, float* x2, float* x3, float* x4, float* x5,
        float* tile, bool accumulate)
    {
        Vector256<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default;
        Vector256<float> c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
        if (accumulate) MicroTile.Load(tile, 16, out c00, out c01, out c10, out c11, out c20, out c21, out c30, out c31, out c40, out c41, out c50, out c51);
        for (nint p = 0; p < taps; p++)
        {
            nint o = off[p];
            var w0 = Vector256.LoadAligned(w);
            var w1 = Vector256.LoadAligned(w + 8);
            var b = Vector256.Create(x0[o]);
            c00 = Fmadd(b, w0, c00); c01 = Fmadd(b, w1, c01);
            b = Vector256.Create(x1[o]);
            c10 = Fmadd(b, w0, c10); c11 = Fmadd(b, w1, c11);
            b = Vector256.Create(x2[o]);
            c20 = Fmadd(b, w0, c20); c21 = Fmadd(b, w1, c21);
            b = Vector256.Create(x3[o]);
            c30 = Fmadd(b, w0, c30); c31 = Fmadd(b, w1, c31);
            b = Vector256.Create(x4[o]);
            c40 = Fmadd(b, w0, c40); c41 = Fmadd(b, w1, c41);
            b = Vector256.Create(x5[o]);
            c50 = Fmadd(b, w0, c50); c51 = Fmadd(b, w1, c51);
            w += Lanes;
        }
        MicroTile.Store(tile, 16, c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51);
    }

    /// <summary>
    /// <see cref="Kernel6x16"/> for two 16-channel panels at once with 512-bit vectors: panel
    /// <paramref name="wLow"/> into <paramref name="tileLow"/> [6, 16], <paramref name="wHigh"/> into
    /// <paramref name="tileHigh"/> (or added to them when <paramref name="accumulate"/>); each lane's chain of
    /// FMAs is the one Kernel6x16 runs (same bits).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static unsafe void Kernel6x32(int taps, float* wLow, float* wHigh, int* off, float* x0, float* x1, float* x2, float* x3, float* x4, float* x5,
        float* tileLow, float* tileHigh, bool accumulate = false)
    {
        Vector512<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default;
        Vector512<float> c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
        if (accumulate)
        {
            c00 = Vector512.Load(tileLow); c10 = Vector512.Load(tileLow + 16); c20 = Vector512.Load(tileLow + 32);
            c30 = Vector512.Load(tileLow + 48); c40 = Vector512.Load(tileLow + 64); c50 = Vector512.Load(tileLow + 80);
            c01 = Vector512.Load(tileHigh); c11 = Vector512.Load(tileHigh + 16); c21 = Vector512.Load(tileHigh + 32);
            c31 = Vector512.Load(tileHigh + 48); c41 = Vector512.Load(tileHigh + 64); c51 = Vector512.Load(tileHigh + 80);
        }
        for (nint p = 0; p < taps; p++)
        {
            nint o = off[p];
            var w0 = Vector512.LoadAligned(wLow);
            var w1 = Vector512.LoadAligned(wHigh);
            var b = Vector512.Create(x0[o]);
            c00 = Vector512.FusedMultiplyAdd(b, w0, c00); c01 = Vector512.FusedMultiplyAdd(b, w1, c01);
            b = Vector512.Create(x1[o]);
            c10 = Vector512.FusedMultiplyAdd(b, w0, c10); c11 = Vector512.FusedMultiplyAdd(b, w1, c11);
            b = Vector512.Create(x2[o]);
            c20 = Vector512.FusedMultiplyAdd(b, w0, c20); c21 = Vector512.FusedMultiplyAdd(b, w1, c21);
            b = Vector512.Create(x3[o]);
            c30 = Vector512.FusedMultiplyAdd(b, w0, c30); c31 = Vector512.FusedMultiplyAdd(b, w1, c31);
            b = Vector512.Create(x4[o]);
            c40 = Vector512.FusedMultiplyAdd(b, w0, c40); c41 = Vector512.FusedMultiplyAdd(b, w1, c41);
            b = Vector512.Create(x5[o]);
            c50 = Vector512.FusedMultiplyAdd(b, w0, c50); c51 = Vector512.FusedMultiplyAdd(b, w1, c51);
            wLow += Lanes;
            wHigh += Lanes;
        }
        c00.Store(tileLow); c10.Store(tileLow + 16); c20.Store(tileLow + 32); c30.Store(tileLow + 48); c40.Store(tileLow + 64); c50.Store(tileLow + 80);
        c01.Store(tileHigh); c11.Store(tileHigh + 16); c21.Store(tileHigh + 32); c31.Store(tileHigh + 48); c41.Store(tileHigh + 64); c51.Store(tileHigh + 80);
    }
}
