using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

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
//                    only for K ≤ 64 (more output channels: the packed GEMM of CpuFast.Conv2d.cs)
// Compared with im2col packing this reads each input value from cache instead of writing C·R·S
// copies of it, which is most of the time when the channel counts are small (FocusCalibrationNet).
// Wasted work: the Wp − OutW dropped columns of each row (2–6 % for these layers).
public partial class CpuBackend
{
    private unsafe void Conv2dForwardShifted(float[] x, float[] w, float[]? bias, float[] y, in Conv2dGeometry g, bool relu = false)
    {
        var s = ShiftedConv.Forward(g);
        if (g.N < 2 * Threads)
        {
            // few images: the weights [K, C·R·S] are read in place, six rows at a time (at batch 1 a
            // packing pass over them cost a quarter of the convolution)
            Run(s, x, w, packedWeights: false, bias, y, relu);
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
        Run(s, x, packed, packedWeights: true, bias, y, relu);
        ArrayPool<float>.Shared.Return(packed);
    }

    private unsafe void Conv2dBackwardInputShifted(float[] dy, float[] w, float[] dx, in Conv2dGeometry g)
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
        var s = ShiftedConv.Adjoint(g);
        Run(s, dy, packed, packedWeights: true, null, dx);
        ArrayPool<float>.Shared.Return(packed);
    }

    private unsafe void Conv2dBackwardWeightShifted(float[] x, float[] dy, float[] dw, in Conv2dGeometry g)
    {
        var s = ShiftedConv.Forward(g);
        int wp = s.Wp, hout = s.Hout, wout = s.Wout, taps = s.Taps, img = s.ImageLength, k = g.K, images = g.N;
        int v = hout * wp, vPad = RoundUp(v, 8), tapBlocks = CeilDiv(taps, 4), kBlocks = CeilDiv(k, 3);
        var off = s.TapOffsets(tapBlocks * 4); // taps past the last read offset 0 and are dropped
        long macs = (long)g.N * k * taps * vPad;
        int chunks = macs < GemmParallelMacs ? 1 : Math.Min(g.N, Threads);
        // images per group: enough that each kernel call runs ~20 steps per accumulator (its
        // horizontal sums and stores cost about as much as ten steps), within ~16 MB of buffers;
        // a call's own operands (3 dy rows, 4 taps of one channel) stay small whatever the group
        int perImage = img + k * vPad;
        int group = Math.Clamp(Math.Min(CeilDiv(ShiftedStepsPerCall, vPad / 8), ShiftedGroupFloats / perImage), 1, CeilDiv(images, chunks));
        var partial = new float[chunks * k * taps]; // [chunk][K, taps]
        ParallelFor(chunks, chunks, chunk =>
        {
            var buffer = ArrayPool<float>.Shared.Rent(group * perImage); // [group][ImageLength] images, then [group][K][vPad] dy
            fixed (float* pb = buffer, pdy = dy, pp = partial, px = x)
            fixed (int* poff = off)
            {
                float* pin = pb, pd = pb + (long)group * img;
                var sums = stackalloc float[12];
                float* part = pp + (long)chunk * k * taps;
                // this chunk's images: chunk, chunk + chunks, ...
                int mine = CeilDiv(images - chunk, chunks);
                for (int g0 = 0; g0 < mine; g0 += group)
                {
                    int count = Math.Min(group, mine - g0);
                    for (int i = 0; i < count; i++)
                    {
                        int n = chunk + (g0 + i) * chunks;
                        PadImage(px + (long)n * s.Cin * s.Hin * s.Win, pin + (long)i * img, s);
                        // dy[n] on the virtual grid: row oh of channel k at [k, oh·Wp ..], zeros past OutW and past V
                        float* d = pd + (long)i * k * vPad;
                        new Span<float>(d, k * vPad).Clear();
                        for (int kk = 0; kk < k; kk++)
                            for (int oh = 0; oh < hout; oh++)
                                CopyFloats(d + (long)kk * vPad + oh * wp, pdy + (((long)n * k + kk) * hout + oh) * wout, wout);
                    }
                    for (int kb = 0; kb < kBlocks; kb++)
                    {
                        int k0 = 3 * kb, rows = Math.Min(3, k - k0);
                        float* d0 = pd + (long)k0 * vPad;
                        float* d1 = rows > 1 ? d0 + vPad : d0, d2 = rows > 2 ? d0 + 2 * vPad : d0;
                        for (int tb = 0; tb < tapBlocks; tb++)
                        {
                            int t0 = 4 * tb, cols = Math.Min(4, taps - t0);
                            KernelDot3x4(count, vPad / 8, d0, d1, d2, (long)k * vPad, pin, img, poff[t0], poff[t0 + 1], poff[t0 + 2], poff[t0 + 3], sums);
                            for (int i = 0; i < rows; i++)
                                for (int j = 0; j < cols; j++) part[(k0 + i) * taps + t0 + j] += sums[i * 4 + j];
                        }
                    }
                }
            }
            ArrayPool<float>.Shared.Return(buffer);
        });
        for (int i = 0; i < k * taps; i++)
        {
            float total = 0f;
            for (int c = 0; c < chunks; c++) total += partial[c * k * taps + i];
            dw[i] = total;
        }
    }

    /// <summary>Vector steps a backward-weight kernel call should run at least (images are grouped to get there).</summary>
    private const int ShiftedStepsPerCall = 160;

    /// <summary>Most floats of padded images and virtual dy one backward-weight group may hold (16 MB).</summary>
    private const int ShiftedGroupFloats = 4 << 20;

    /// <summary>Writes image [Cin, Hin, Win] with its zero padding (and zero slack) into dst [ImageLength].</summary>
    private static unsafe void PadImage(float* src, float* dst, in ShiftedConv s) =>
        PadPlanes(src, dst, s.Cin, s.Hin, s.Win, s.Hp * s.Wp, s.Wp, s.PadTop, s.PadLeft, s.ImageLength);

    /// <summary>
    /// Writes image [planes, h, w] into dst [length] as zero-padded planes of <paramref name="planeLength"/>
    /// floats and row pitch <paramref name="pitch"/>: pixel (i, j) of plane c at c·planeLength + (i + top)·pitch + j + left,
    /// zeros everywhere else (the shifted, channel-vector and Winograd kernels' padded images).
    /// </summary>
    private static unsafe void PadPlanes(float* src, float* dst, int planes, int h, int w, int planeLength, int pitch, int top, int left, int length)
    {
        new Span<float>(dst, length).Clear();
        for (int c = 0; c < planes; c++)
            for (int i = 0; i < h; i++)
                CopyFloats(dst + (long)c * planeLength + (i + top) * pitch + left, src + ((long)c * h + i) * w, w);
    }

    /// <summary>
    /// sums[i·4 + j] = Σ over <paramref name="images"/> images (dy rows <paramref name="dStride"/>, images
    /// <paramref name="pStride"/> floats apart) and <paramref name="steps"/>·8 positions of d_i[v]·p[v + o_j]:
    /// three dy rows against four taps, twelve accumulators (no calls inside, so they stay in registers).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void KernelDot3x4(int images, int steps, float* d0, float* d1, float* d2, long dStride,
        float* p, long pStride, int o0, int o1, int o2, int o3, float* sums)
    {
        Vector256<float> a00 = default, a01 = default, a02 = default, a03 = default;
        Vector256<float> a10 = default, a11 = default, a12 = default, a13 = default;
        Vector256<float> a20 = default, a21 = default, a22 = default, a23 = default;
        long dSkip = dStride - 8L * steps, pSkip = pStride - 8L * steps;
        for (int n = 0; n < images; n++, d0 += dSkip, d1 += dSkip, d2 += dSkip, p += pSkip)
        {
            for (int i = 0; i < steps; i++)
            {
                var y0 = Vector256.Load(d0);
                var y1 = Vector256.Load(d1);
                var y2 = Vector256.Load(d2);
                var b = Vector256.Load(p + o0);
                a00 = Fmadd(y0, b, a00); a10 = Fmadd(y1, b, a10); a20 = Fmadd(y2, b, a20);
                b = Vector256.Load(p + o1);
                a01 = Fmadd(y0, b, a01); a11 = Fmadd(y1, b, a11); a21 = Fmadd(y2, b, a21);
                b = Vector256.Load(p + o2);
                a02 = Fmadd(y0, b, a02); a12 = Fmadd(y1, b, a12); a22 = Fmadd(y2, b, a22);
                b = Vector256.Load(p + o3);
                a03 = Fmadd(y0, b, a03); a13 = Fmadd(y1, b, a13); a23 = Fmadd(y2, b, a23);
                d0 += 8; d1 += 8; d2 += 8; p += 8;
            }
        }
        Sum4(a00, a01, a02, a03).Store(sums);
        Sum4(a10, a11, a12, a13).Store(sums + 4);
        Sum4(a20, a21, a22, a23).Store(sums + 8);
    }

    /// <summary>
    /// The four horizontal sums of a, b, c, d as one vector: three horizontal adds and one add
    /// (twelve separate Vector256.Sum calls cost about as much as 20 steps of the loop above).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<float> Sum4(Vector256<float> a, Vector256<float> b, Vector256<float> c, Vector256<float> d)
    {
        if (!Avx.IsSupported) return Vector128.Create(Vector256.Sum(a), Vector256.Sum(b), Vector256.Sum(c), Vector256.Sum(d));
        var abcd = Avx.HorizontalAdd(Avx.HorizontalAdd(a, b), Avx.HorizontalAdd(c, d)); // [Σa, Σb, Σc, Σd] per 128-bit half
        return abcd.GetLower() + abcd.GetUpper();
    }

    /// <summary>Sizes of one shifted-window convolution: input [N, Cin, Hin, Win] → output [N, Cout, Hout, Wout].</summary>
    private readonly record struct ShiftedConv(int N, int Cin, int Hin, int Win, int Cout, int R, int S,
        int PadTop, int PadBottom, int PadLeft, int PadRight, int DilH, int DilW)
    {
        public int Hp => Hin + PadTop + PadBottom;

        /// <summary>
        /// Row pitch of the padded planes and width of the virtual output grid: W plus the wider of the
        /// two side paddings, not their sum. The zeros after a row's data serve as its right padding
        /// and as the next row's left padding (a tap reaching past the right edge lands in them, as
        /// does one reaching before the left edge), so fewer dropped columns are computed
        /// (24 × 36 maps with a 5 × 5 kernel: 38 columns instead of 40).
        /// </summary>
        public int Wp => Math.Max(Win + Math.Max(PadLeft, PadRight), Wout);
        public int Hout => Hp - DilH * (R - 1);
        public int Wout => Win + PadLeft + PadRight - DilW * (S - 1);
        public int Taps => Cin * R * S;

        /// <summary>Floats of one padded image: the planes plus zero slack for the tiles' dropped columns.</summary>
        public int ImageLength => Cin * Hp * Wp + 16 + DilW * (S - 1);

        /// <summary>The forward convolution of <paramref name="g"/>: x is the image, w's K rows the outputs.</summary>
        public static ShiftedConv Forward(in Conv2dGeometry g) =>
            new(g.N, g.C, g.H, g.W, g.K, g.R, g.S, g.PadTop, g.PadBottom, g.PadLeft, g.PadRight, g.DilationH, g.DilationW);

        /// <summary>Backward-input of <paramref name="g"/> (stride 1) as a forward convolution (<see cref="Conv2dAdjoint"/>).</summary>
        public static ShiftedConv Adjoint(in Conv2dGeometry g) => Forward(Conv2dAdjoint.Geometry(g));

        /// <summary>
        /// off[t] for tap t = (c, r, s): c·Hp·Wp + r·dh·Wp + s·dw, the tap's shift in the padded image;
        /// <paramref name="length"/> ≥ <see cref="Taps"/> entries, those past the taps 0.
        /// </summary>
        public int[] TapOffsets(int length)
        {
            var off = new int[length];
            for (int c = 0; c < Cin; c++)
                for (int r = 0; r < R; r++)
                    for (int q = 0; q < S; q++)
                        off[(c * R + r) * S + q] = c * Hp * Wp + r * DilH * Wp + q * DilW;
            return off;
        }
    }

    /// <summary>
    /// Pads every image, then runs the 6×16 tiles (images × weight-panel ranges × ranges of v tiles
    /// shared among threads). The weights are either packed ([Cout/6][taps][6],
    /// <paramref name="packedWeights"/>) or plain rows [Cout, taps] read six at a time.
    /// </summary>
    private unsafe void Run(ShiftedConv s, float[] input, float[] weights, bool packedWeights, float[]? bias, float[] output, bool relu = false)
    {
        int wp = s.Wp, hout = s.Hout, wout = s.Wout, taps = s.Taps, img = s.ImageLength;
        int v = hout * wp, vTiles = CeilDiv(v, 16), panels = CeilDiv(s.Cout, GemmMR);
        var off = s.TapOffsets(taps);
        var padded = ArrayPool<float>.Shared.Rent(s.N * img); // [N][ImageLength]
        long macs = (long)s.N * panels * GemmMR * vTiles * 16 * taps;
        int threads = macs < GemmParallelMacs ? 1 : Threads;
        // each image padded once: zeros everywhere, then the input rows copied in
        ParallelFor(s.N, threads, n =>
        {
            fixed (float* src = input, dst = padded) PadImage(src + (long)n * s.Cin * s.Hin * s.Win, dst + (long)n * img, s);
        });
        // tasks: (image, range of weight panels), at least a few per thread; within a task the taps
        // go in chunks of whole channels (outermost), so that a chunk's weight panels (a few hundred KB)
        // stay in L2 while every v tile passes over them, and the image rows one v tile reads for a
        // chunk stay in L1 while every panel passes over them; tiles accumulate across chunks
        int chunk = Math.Min(taps, Math.Max(1, ShiftedL1Bytes / (s.R * 3 * 64)) * s.R * s.S);
        // fewer images than twice the threads: cut each image into blocks of (v tiles × weight
        // panels), as many as keep the threads equally busy (ShiftedSplits); every task reads the
        // weights of its panels (they stay in L2) and only its own rows of the image
        var (vSplits, panelSplits) = threads == 1 || s.N >= 2 * threads ? (1, 1) : ShiftedSplits(s.N, vTiles, panels, threads);
        ParallelFor(s.N * vSplits * panelSplits, threads, task =>
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
                                KernelShifted6x16(count, pa + ((long)kp * taps + p0) * GemmMR, image + t * 16, poff + p0, tile, accumulate: p0 > 0);
                            }
                            else
                            {
                                // rows past Cout repeat the last row (their results are dropped)
                                int k0 = kp * GemmMR, last = s.Cout - 1;
                                float* r0 = pa + (long)k0 * taps + p0;
                                KernelShiftedRows6x16(count, r0, RowOr(r0, 1, k0, last, taps), RowOr(r0, 2, k0, last, taps),
                                    RowOr(r0, 3, k0, last, taps), RowOr(r0, 4, k0, last, taps), RowOr(r0, 5, k0, last, taps),
                                    image + t * 16, poff + p0, tile, accumulate: p0 > 0);
                            }
                        }
                }
                for (int t = t0; t < t1; t++)
                    for (int kp = kp0; kp < kp1; kp++)
                        StoreShifted(tiles + ((long)(t - t0) * minePanels + kp - kp0) * GemmMR * 16, outImage, kp * GemmMR, s.Cout, t * 16, v, wp, wout, hout, pb, relu);
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
    /// thread idle 8 % of the time; halving the 43 weight panels instead, 2 %.)
    /// </summary>
    internal static (int VSplits, int PanelSplits) ShiftedSplits(int images, int vTiles, int panels, int threads)
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
    private const int ShiftedL1Bytes = 16 * 1024;

    /// <summary>
    /// Writes tile [6, 16] (channels k0.., virtual outputs v0..v0+15) into out [Cout, Hout, Wout] plus
    /// bias (then ReLU when <paramref name="relu"/>, NaN giving 0 as the reference's ReLU), dropping
    /// rows past Cout and columns whose ow ≥ Wout or v ≥ V.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void StoreShifted(float* tile, float* outImage, int k0, int cout, int v0, int v, int wp, int wout, int hout, float* bias, bool relu = false)
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

    /// <summary>x + b, then ReLU when <paramref name="relu"/> (NaN gives 0, as the reference's ReLU).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> BiasRelu(Vector256<float> x, Vector256<float> b, bool relu)
    {
        var y = x + b;
        return relu ? Vector256.ConditionalSelect(Vector256.GreaterThan(y, Vector256<float>.Zero), y, Vector256<float>.Zero) : y;
    }

    /// <summary>x + b, then ReLU when <paramref name="relu"/> (NaN gives 0): the scalar twin of the vector form.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float BiasRelu(float x, float b, bool relu)
    {
        float y = x + b;
        return !relu || y > 0f ? y : 0f;
    }

    /// <summary>
    /// The 6×16 register tile over <paramref name="taps"/> steps: a is the packed weight panel
    /// [taps][6], tap t's 16 inputs are b[off[t] .. off[t] + 15]; result to tile [6, 16], or added to
    /// it when <paramref name="accumulate"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void KernelShifted6x16(int taps, float* a, float* b, int* off, float* tile, bool accumulate)
    {
        Vector256<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default;
        Vector256<float> c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
        if (accumulate)
        {
            c00 = Vector256.Load(tile); c01 = Vector256.Load(tile + 8); c10 = Vector256.Load(tile + 16); c11 = Vector256.Load(tile + 24);
            c20 = Vector256.Load(tile + 32); c21 = Vector256.Load(tile + 40); c30 = Vector256.Load(tile + 48); c31 = Vector256.Load(tile + 56);
            c40 = Vector256.Load(tile + 64); c41 = Vector256.Load(tile + 72); c50 = Vector256.Load(tile + 80); c51 = Vector256.Load(tile + 88);
        }
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
        c00.Store(tile); c01.Store(tile + 8); c10.Store(tile + 16); c11.Store(tile + 24);
        c20.Store(tile + 32); c21.Store(tile + 40); c30.Store(tile + 48); c31.Store(tile + 56);
        c40.Store(tile + 64); c41.Store(tile + 72); c50.Store(tile + 80); c51.Store(tile + 88);
    }

    /// <summary>Row <paramref name="i"/> of a six-row block starting at row k0 (<paramref name="r0"/>), or row <paramref name="last"/> past it.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe float* RowOr(float* r0, int i, int k0, int last, int taps) =>
        r0 + (long)(Math.Min(k0 + i, last) - k0) * taps;

    /// <summary>
    /// <see cref="KernelShifted6x16"/> with the weights read from six plain rows (tap p of row i at
    /// a_i[p]) instead of a packed panel.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void KernelShiftedRows6x16(int taps, float* a0, float* a1, float* a2, float* a3, float* a4, float* a5,
        float* b, int* off, float* tile, bool accumulate)
    {
        Vector256<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default;
        Vector256<float> c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
        if (accumulate)
        {
            c00 = Vector256.Load(tile); c01 = Vector256.Load(tile + 8); c10 = Vector256.Load(tile + 16); c11 = Vector256.Load(tile + 24);
            c20 = Vector256.Load(tile + 32); c21 = Vector256.Load(tile + 40); c30 = Vector256.Load(tile + 48); c31 = Vector256.Load(tile + 56);
            c40 = Vector256.Load(tile + 64); c41 = Vector256.Load(tile + 72); c50 = Vector256.Load(tile + 80); c51 = Vector256.Load(tile + 88);
        }
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
        c00.Store(tile); c01.Store(tile + 8); c10.Store(tile + 16); c11.Store(tile + 24);
        c20.Store(tile + 32); c21.Store(tile + 40); c30.Store(tile + 48); c31.Store(tile + 56);
        c40.Store(tile + 64); c41.Store(tile + 72); c50.Store(tile + 80); c51.Store(tile + 88);
    }
}
