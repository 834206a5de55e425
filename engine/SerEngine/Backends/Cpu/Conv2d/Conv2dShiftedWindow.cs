using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using static SerEngine.Backends.Cpu.Conv2dEpilogue;
using static SerEngine.Backends.Cpu.CpuBackend;

namespace SerEngine.Backends.Cpu;

// Conv2d with stride 1 as a "shifted-window" implicit GEMM that packs nothing but the weights.
// Each image is copied once with its zero padding into P [C, Hp, Wp] (Hp = H + padTop + padBottom,
// Wp = W + max(padLeft, padRight): the zeros between two rows pad both, plus a little zero slack). Outputs are computed on a virtual grid of
// OutH rows × Wp columns (the columns past OutW are computed and dropped): flattening that grid to
// v = oh·Wp + ow, tap t = (c, r, s) of output v reads P[v + off[t]] with off[t] = c·Hp·Wp + r·dh·Wp + s·dw,
// so for a tile of 16 consecutive v every tap is one contiguous 16-float load straight from P. The
// micro-kernel is the GEMM's 6×16 register tile (6 output channels × 16 outputs) with its B operand
// read through the offset table instead of a packed panel:
//   forward          y[n, k, v] = bias[k] + Σ_t w[k, t] · P_n[v + off[t]]          (A = w [K, C·R·S], 6 rows read in place)
//   backward-input   the same with dy as the image (padding dh·(R−1) − padTop etc.) and the weights
//                    flipped and transposed (A[c, (k, r', s')] = w[k, c, R−1−r', S−1−s']), giving dx
//   backward-weight  dw[k, t] = Σ_n Σ_v dyV_n[k, v] · P_n[v + off[t]], dyV = dy laid on the virtual grid
//                    (zeros in the dropped columns): dot products along v, 3 channels × 4 taps per
//                    register tile, images shared among threads (each sums into its own partial dw);
//                    (Conv2dShiftedWindow.BackwardWeight.cs; the routing gives it at most 64 output channels)
// Compared with im2col packing this reads each input value from cache instead of writing C·R·S
// copies of it, which is most of the time when the channel counts are small (FocusCalibrationNet).
// Wasted work: the Wp − OutW dropped columns of each row ((Wp − OutW) / Wp, a few % for the models' layers).
internal static partial class Conv2dShiftedWindow
{
    /// <summary>Every pass at stride 1 (backward-input where the adjoint exists), on 256-bit vectors.</summary>
    public static bool Supports(Conv2dPass pass, in Conv2dGeometry g, in Conv2dIsa isa) =>
        isa.Simd256 && (pass == Conv2dPass.BackwardInput ? Conv2dAdjoint.Exists(g) : g.StrideH == 1 && g.StrideW == 1);

    /// <summary>y = conv(x, w) + bias (then ReLU when <paramref name="relu"/>) at stride 1.</summary>
    public static unsafe void Forward(float[] x, float[] w, float[]? bias, float[] y, in Conv2dGeometry g, bool relu, int threads)
    {
        var s = PaddedConv.Forward(g);
        if (g.N < 2 * threads)
        {
            // few images: the weights [K, C·R·S] are read in place, six rows at a time (at batch 1 a
            // packing pass over them costs a large share of the convolution: focus_calibration_net.train_step.b1.26x63)
            Run(s, x, w, packedWeights: false, bias, y, relu, threads);
            return;
        }
        // many images: packed once into 6-row panels [K/6][taps][6] (one stream for the kernel to read)
        int taps = g.C * g.R * g.S, panels = CeilDiv(g.K, GemmMR);
        var packed = ArrayPool<float>.Shared.Rent(panels * taps * GemmMR);
        fixed (float* pw = w, pp = packed)
        {
            for (int kp = 0; kp < panels; kp++)
                for (int i = 0; i < GemmMR; i++)
                {
                    float* src = pw + (long)Math.Min(kp * GemmMR + i, g.K - 1) * taps; // rows past K repeat the last (dropped)
                    float* dst = pp + (long)kp * taps * GemmMR + i;
                    for (int t = 0; t < taps; t++) dst[t * GemmMR] = src[t];
                }
        }
        Run(s, x, packed, packedWeights: true, bias, y, relu, threads);
        ArrayPool<float>.Shared.Return(packed);
    }

    /// <summary>dx = conv(dy, w flipped and transposed) with the complementary padding (<see cref="Conv2dAdjoint"/>).</summary>
    public static unsafe void BackwardInput(float[] dy, float[] w, float[] dx, in Conv2dGeometry g, int threads)
    {
        // dx = conv(dy, w flipped and transposed) with the complementary padding
        int taps = g.K * g.R * g.S, panels = CeilDiv(g.C, GemmMR), rs = g.R * g.S;
        var packed = ArrayPool<float>.Shared.Rent(panels * taps * GemmMR); // [C/6][(k, r', s')][6]
        fixed (float* pw = w, pp = packed)
        {
            for (int cp = 0; cp < panels; cp++)
                for (int k = 0; k < g.K; k++)
                    for (int r = 0; r < g.R; r++)
                        for (int s2 = 0; s2 < g.S; s2++)
                        {
                            int t = (k * g.R + r) * g.S + s2;
                            float* d = pp + ((long)cp * taps + t) * GemmMR;
                            for (int i = 0; i < GemmMR; i++)
                            {
                                int c = cp * GemmMR + i;
                                d[i] = c < g.C ? pw[((long)k * g.C + c) * rs + (g.R - 1 - r) * g.S + (g.S - 1 - s2)] : 0f;
                            }
                        }
        }
        var s = PaddedConv.Adjoint(g);
        Run(s, dy, packed, packedWeights: true, null, dx, relu: false, threads);
        ArrayPool<float>.Shared.Return(packed);
    }

    /// <summary>
    /// Pads every image, then runs the 6×16 tiles (images × weight-panel ranges × ranges of v tiles
    /// shared among threads). The weights are either packed ([Cout/6][taps][6],
    /// <paramref name="packedWeights"/>) or plain rows [Cout, taps] read six at a time.
    /// </summary>
    private static unsafe void Run(PaddedConv s, float[] input, float[] weights, bool packedWeights, float[]? bias, float[] output, bool relu, int threads)
    {
        int wp = s.Wp, hout = s.Hout, wout = s.Wout, taps = s.Taps, img = s.ImageLength;
        int v = hout * wp, vTiles = CeilDiv(v, 16), panels = CeilDiv(s.Cout, GemmMR);
        var off = s.TapOffsets(taps);
        var padded = ArrayPool<float>.Shared.Rent(s.N * img); // [N][ImageLength]
        long macs = (long)s.N * panels * GemmMR * vTiles * 16 * taps;
        int workers = macs < GemmParallelMacs ? 1 : threads;
        // each image padded once: zeros everywhere, then the input rows copied in
        ParallelFor(s.N, workers, n =>
        {
            fixed (float* src = input, dst = padded) s.Pad(src + (long)n * s.Cin * s.Hin * s.Win, dst + (long)n * img);
        });
        // tasks: (image, range of weight panels), at least a few per thread; within a task the taps
        // go in chunks of whole channels (outermost), so that a chunk's weight panels (a few hundred KB)
        // stay in L2 while every v tile passes over them, and the image rows one v tile reads for a
        // chunk stay in L1 while every panel passes over them; tiles accumulate across chunks
        int chunk = Math.Min(taps, Math.Max(1, L1Bytes / (s.R * 3 * 64)) * s.R * s.S);
        // fewer images than twice the workers: cut each image into blocks of (v tiles × weight
        // panels), as many as keep the threads equally busy (Splits); every task reads the
        // weights of its panels (they stay in L2) and only its own rows of the image
        var (vSplits, panelSplits) = workers == 1 || s.N >= 2 * workers ? (1, 1) : Splits(s.N, vTiles, panels, workers);
        ParallelFor(s.N * vSplits * panelSplits, workers, task =>
        {
            int n = task / (vSplits * panelSplits), vs = task / panelSplits % vSplits, ps = task % panelSplits;
            int t0 = (int)((long)vTiles * vs / vSplits), t1 = (int)((long)vTiles * (vs + 1) / vSplits);
            int kp0 = (int)((long)panels * ps / panelSplits), kp1 = (int)((long)panels * (ps + 1) / panelSplits);
            if (t0 >= t1 || kp0 >= kp1) return;
            int mine = t1 - t0, minePanels = kp1 - kp0;
            var tileBuffer = ArrayPool<float>.Shared.Rent(mine * minePanels * GemmMR * 16 + 16); // [mine][minePanels][6, 16]
            fixed (float* pin = padded, pa = weights, po = output, pb = bias, ptb = tileBuffer)
            fixed (int* poff = off)
            {
                float* image = pin + (long)n * img;
                float* outImage = po + (long)n * s.Cout * hout * wout;
                float* tiles = (float*)(((nint)ptb + 63) & ~(nint)63);
                for (int p0 = 0; p0 < taps; p0 += chunk)
                {
                    int count = Math.Min(chunk, taps - p0);
                    for (int t = t0; t < t1; t++)
                        for (int kp = kp0; kp < kp1; kp++)
                        {
                            float* tile = tiles + ((long)(t - t0) * minePanels + kp - kp0) * GemmMR * 16;
                            if (packedWeights)
                            {
                                Kernel6x16(count, pa + ((long)kp * taps + p0) * GemmMR, image + t * 16, poff + p0, tile, accumulate: p0 > 0);
                            }
                            else
                            {
                                // rows past Cout repeat the last row (their results are dropped)
                                int k0 = kp * GemmMR, last = s.Cout - 1;
                                float* r0 = pa + (long)k0 * taps + p0;
                                KernelRows6x16(count, r0, RowOr(r0, 1, k0, last, taps), RowOr(r0, 2, k0, last, taps),
                                    RowOr(r0, 3, k0, last, taps), RowOr(r0, 4, k0, last, taps), RowOr(r0, 5, k0, last, taps),
                                    image + t * 16, poff + p0, tile, accumulate: p0 > 0);
                            }
                        }
                }
                for (int t = t0; t < t1; t++)
                    for (int kp = kp0; kp < kp1; kp++)
                        Store(tiles + ((long)(t - t0) * minePanels + kp - kp0) * GemmMR * 16, outImage, kp * GemmMR, s.Cout, t * 16, v, wp, wout, hout, pb, relu);
            }
            ArrayPool<float>.Shared.Return(tileBuffer);
        });
        ArrayPool<float>.Shared.Return(padded);
    }

    /// <summary>
    /// How to cut each of <paramref name="images"/> images into v-tile ranges × panel ranges so that
    /// the threads finish together: among cuts into a multiple of <paramref name="threads"/> tasks (up
    /// to four per thread), the one whose busiest thread has the fewest (tile, panel) units, assuming
    /// each thread takes an equal number of tasks and every task is as big as the biggest; ties go to
    /// fewer tasks. (11 × 17 maps with a 3 × 3 kernel have 13 v tiles: halves of 6 and 7 leave one
    /// thread idle 1/13 of the time; halving the 43 weight panels instead, 1/43.)
    /// </summary>
    internal static (int VSplits, int PanelSplits) Splits(int images, int vTiles, int panels, int threads)
    {
        (int, int) best = (1, 1);
        long bestCost = long.MaxValue;
        for (int tasks = threads; tasks <= 4 * threads; tasks += threads)
        {
            if (tasks % images != 0) continue;
            int perImage = tasks / images;
            for (int vs = 1; vs <= Math.Min(perImage, vTiles); vs++)
            {
                if (perImage % vs != 0 || perImage / vs > panels) continue;
                int ps = perImage / vs;
                long cost = (long)(tasks / threads) * CeilDiv(vTiles, vs) * CeilDiv(panels, ps);
                if (cost < bestCost)
                {
                    bestCost = cost;
                    best = (vs, ps);
                }
            }
        }
        return best;
    }

    /// <summary>Bytes of image rows one tap chunk may touch per v tile (half of L1).</summary>
    private const int L1Bytes = 16 * 1024;

    /// <summary>
    /// Writes tile [6, 16] (channels k0.., virtual outputs v0..v0+15) into out [Cout, Hout, Wout] plus
    /// bias (then ReLU when <paramref name="relu"/>, NaN giving 0 as the reference's ReLU), dropping
    /// rows past Cout and columns whose ow ≥ Wout or v ≥ V.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void Store(float* tile, float* outImage, int k0, int cout, int v0, int v, int wp, int wout, int hout, float* bias, bool relu = false)
    {
        int rows = Math.Min(GemmMR, cout - k0);
        int oh = v0 / wp, ow = v0 - oh * wp;
        long plane = (long)hout * wout;
        if (ow + 16 <= wout && v0 + 16 <= v)
        {
            // the whole tile inside one output row
            for (int i = 0; i < rows; i++)
            {
                var b = Vector256.Create(bias == null ? 0f : bias[k0 + i]);
                float* dst = outImage + (k0 + i) * plane + (long)oh * wout + ow;
                BiasRelu(Vector256.Load(tile + i * 16), b, relu).Store(dst);
                BiasRelu(Vector256.Load(tile + i * 16 + 8), b, relu).Store(dst + 8);
            }
            return;
        }
        // the tile crosses a row end (or v's end): one run of columns per output row it touches; runs
        // of 8 or more go as vectors, the last one overlapping the one before (same values again)
        for (int j = 0; j < 16 && v0 + j < v;)
        {
            int len = Math.Min(Math.Min(16 - j, wp - ow), v - v0 - j), valid = Math.Min(len, wout - ow);
            for (int i = 0; i < rows; i++)
            {
                float b = bias == null ? 0f : bias[k0 + i];
                float* src = tile + i * 16 + j, dst = outImage + (k0 + i) * plane + (long)oh * wout + ow;
                if (valid >= 8)
                {
                    var bv = Vector256.Create(b);
                    BiasRelu(Vector256.Load(src), bv, relu).Store(dst);
                    if (valid > 8) BiasRelu(Vector256.Load(src + valid - 8), bv, relu).Store(dst + valid - 8);
                    continue;
                }
                for (int q = 0; q < valid; q++) dst[q] = BiasRelu(src[q], b, relu);
            }
            j += len;
            ow += len;
            if (ow == wp)
            {
                ow = 0;
                oh++;
            }
        }
    }

    /// <summary>
    /// The 6×16 register tile over <paramref name="taps"/> steps: a is the packed weight panel
    /// [taps][6], tap t's 16 inputs are b[off[t] .. off[t] + 15]; result to tile [6, 16], or added to
    /// it when <paramref name="accumulate"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void Kernel6x16(int taps, float* a, float* b, int* off, float* tile, bool accumulate)
    {
        Vector256<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default;
        Vector256<float> c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
        if (accumulate) MicroTile.Load(tile, 16, out c00, out c01, out c10, out c11, out c20, out c21, out c30, out c31, out c40, out c41, out c50, out c51);
        for (int p = 0; p < taps; p++)
        {
            float* bp = b + off[p];
            var b0 = Vector256.Load(bp);
            var b1 = Vector256.Load(bp + 8);
            var av = Vector256.Create(a[0]);
            c00 = Fmadd(av, b0, c00); c01 = Fmadd(av, b1, c01);
            av = Vector256.Create(a[1]);
            c10 = Fmadd(av, b0, c10); c11 = Fmadd(av, b1, c11);
            av = Vector256.Create(a[2]);
            c20 = Fmadd(av, b0, c20); c21 = Fmadd(av, b1, c21);
            av = Vector256.Create(a[3]);
            c30 = Fmadd(av, b0, c30); c31 = Fmadd(av, b1, c31);
            av = Vector256.Create(a[4]);
            c40 = Fmadd(av, b0, c40); c41 = Fmadd(av, b1, c41);
            av = Vector256.Create(a[5]);
            c50 = Fmadd(av, b0, c50); c51 = Fmadd(av, b1, c51);
            a += GemmMR;
        }
        MicroTile.Store(tile, 16, c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51);
    }

    /// <summary>Row <paramref name="i"/> of a six-row block starting at row k0 (<paramref name="r0"/>), or row <paramref name="last"/> past it.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe float* RowOr(float* r0, int i, int k0, int last, int taps) =>
        r0 + (long)(Math.Min(k0 + i, last) - k0) * taps;

    /// <summary>
    /// <see cref="Kernel6x16"/> with the weights read from six plain rows (tap p of row i at
    /// a_i[p]) instead of a packed panel.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void KernelRows6x16(int taps, float* a0, float* a1, float* a2, float* a3, float* a4, float* a5,
        float* b, int* off, float* tile, bool accumulate)
    {
        Vector256<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default;
        Vector256<float> c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
        if (accumulate) MicroTile.Load(tile, 16, out c00, out c01, out c10, out c11, out c20, out c21, out c30, out c31, out c40, out c41, out c50, out c51);
        for (nint p = 0; p < taps; p++)
        {
            float* bp = b + off[p];
            var b0 = Vector256.Load(bp);
            var b1 = Vector256.Load(bp + 8);
            var av = Vector256.Create(a0[p]);
            c00 = Fmadd(av, b0, c00); c01 = Fmadd(av, b1, c01);
            av = Vector256.Create(a1[p]);
            c10 = Fmadd(av, b0, c10); c11 = Fmadd(av, b1, c11);
            av = Vector256.Create(a2[p]);
            c20 = Fmadd(av, b0, c20); c21 = Fmadd(av, b1, c21);
            av = Vector256.Create(a3[p]);
            c30 = Fmadd(av, b0, c30); c31 = Fmadd(av, b1, c31);
            av = Vector256.Create(a4[p]);
            c40 = Fmadd(av, b0, c40); c41 = Fmadd(av, b1, c41);
            av = Vector256.Create(a5[p]);
            c50 = Fmadd(av, b0, c50); c51 = Fmadd(av, b1, c51);
        }
        MicroTile.Store(tile, 16, c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51);
    }
}
