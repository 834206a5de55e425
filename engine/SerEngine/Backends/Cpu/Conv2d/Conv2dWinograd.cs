using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using static SerEngine.Backends.Cpu.Conv2dChannelVector;
using static SerEngine.Backends.Cpu.Conv2dEpilogue;
using static SerEngine.Backends.Cpu.CpuBackend;

namespace SerEngine.Backends.Cpu;

// The Winograd paths (Conv2dPath.WinogradF23 and WinogradF25: one driver, the transforms chosen by R):
// conv2d forward with 3×3 or 5×5 filters, stride 1 and no dilation as Winograd's minimal filtering
// F(2×2, R×R) (Lavin & Gray, "Fast Algorithms for Convolutional Neural Networks", 2016): every 2×2
// block of outputs (a tile) comes from the α×α input patch under it (α = R + 1) with α² multiplies
// per (output channel, input channel) instead of 4R² (16 instead of 36; 36 instead of 100),
//   Y = Aᵀ [ Σ_c U[k, c] ⊙ V[c] ] A,   U[k, c] = G g[k, c] Gᵀ (α×α),   V[c] = Bᵀ d[c] B (α×α)
// with B, G and A of F(2, 3) or F(2, 5) (Conv2dWinograd.F23.cs, Conv2dWinograd.F25.cs),
// so the sum over input channels is α² independent products, one per transform point ξ = αρ + σ:
//   M_ξ [tiles, K] = V_ξ [tiles, C] · U_ξ [C, K].
// The filters are transformed into 16-lane panels U [α² ξ][K/16][C][16]: once for packed weights (an
// inference network's cached filters; the routing packs 3×3 and 5×5 filters from 4 input channels
// with full output lanes), per call for the 5×5 forwards and backward-inputs (as the forward of
// their adjoint) that Conv2dRouting finds big enough (3×3 per call only when forced), so each product runs the
// channel-vector micro-kernel of Conv2dChannelVector.cs (with 256-bit vectors its loop over a band's groups inside it,
// Conv2dWinograd.Products.cs): 16 output channels in the lanes, six tiles broadcast, one input channel per step. Around it, per band of tile rows (Bands):
//   input transform   8 tiles of a tile row at a time from the zero-padded image (even and odd
//                     columns split with two shuffles), V [α² ξ][C][band tiles]
//   products          per chunk of channel blocks, point ξ by point, every group of six real tiles,
//                     M [block][group][α² ξ][6][16] (U_ξ and V_ξ stay close over the band's groups)
//   output transform  8 channels of a tile at a time, + bias, ReLU, stored as column pairs (F(2×2, 3×3) without pooling:
//                     two whole tiles at a time as rows of four, Conv2dWinograd.Store23.cs)
// The tasks are (image, range of tile rows, range of 16-channel blocks), cut by Splits.
// Rounding: the transforms add and subtract values of the patch before multiplying, so results
// differ from direct summation by a few ulps of the larger partial sums (CpuFastConv2dWinogradTests bounds
// them against a double sum; the measured errors are in benchmarks/results).
// FocusCalibrationNet at batch 1: 19 M multiply-adds of 3×3 convolution become 8.5 M.
// Per-call forwards of 3×3 filters over many channels and several images take 4×4 tiles instead, F(4×4, 3×3)
// (TileSize; Conv2dWinograd.F43.cs), the whole batch at once (Conv2dWinograd.Batched.cs); per-call 5×5 forwards over
// several images take F(4×4, 5×5) (Conv2dWinograd.F45.cs, Conv2dWinograd.F45Driver.cs). Packed 5×5 filters over many
// channels take F(4×4, 5×5) too (PackedTileSize; Conv2dWinograd.F45Packed.cs), and one image of deep packed filters
// runs the whole-batch driver on 2×2 tiles (Conv2dWinograd.Batched.cs: Forward's bits, the threads sharing each pass).
// Which tiles each pass takes: Conv2dWinograd.Tiles.cs.
internal static partial class Conv2dWinograd
{
    /// <summary>
    /// F(2×2, r×r) for r = 3 (<see cref="Conv2dPath.WinogradF23"/>) or 5 (<see cref="Conv2dPath.WinogradF25"/>):
    /// r×r filters, stride 1, no dilation, AVX2 and FMA; forward (packed or per-call filters),
    /// backward-input as the forward of its adjoint, or backward-weight (Conv2dWinograd.BackwardWeight.cs). Which of these the routing uses: Conv2dRouting.Choose.
    /// </summary>
    public static bool Supports(int r, Conv2dPass pass, in Conv2dGeometry g, in Conv2dIsa isa) =>
        isa.Avx2 && isa.Fma && g.R == r && g.S == r && g.StrideH == 1 && g.StrideW == 1 && g.DilationH == 1 && g.DilationW == 1
        && pass switch { Conv2dPass.BackwardInput => Conv2dAdjoint.Exists(g), _ => true };

    /// <summary>Tiles a band should hold at least (whole tile rows): 8 groups of six for the micro-kernel, little waste.</summary>
    private const int BandTiles = 48;

    /// <summary>
    /// Packed filters' panels for <see cref="PackedTileSize"/>×<see cref="PackedTileSize"/> tiles in a new pinned array (zeros past K):
    /// F(4×4, 5×5)'s (<see cref="PanelsF45"/>) or those of <see cref="Panels(float[], FilterLayout, in Conv2dGeometry, float*, int, int)"/>.
    /// </summary>
    public static unsafe float[] Panels(float[] w, in Conv2dGeometry g, int threads)
    {
        int m = PackedTileSize(g);
        var panels = GC.AllocateArray<float>(PanelFloats(g, m) + 16, pinned: true);
        float* u = (float*)Align64(panels);
        if (m == 4) PanelsF45(w, FilterLayout.Plain(g), g, u, PanelXiStride(g), threads);
        else Panels(w, FilterLayout.Plain(g), g, u, threads, m);
        return panels;
    }

    /// <summary>
    /// y = conv(x, w) + bias (then ReLU when <paramref name="relu"/>) with w packed by <see cref="Panels(float[], in Conv2dGeometry, int)"/>:
    /// on the tiles <see cref="PackedTileSize"/> chose for them, one image of deep filters through the whole-image driver.
    /// </summary>
    public static unsafe void ForwardPacked(float[] x, float* panels, float[]? bias, float[] y, in Conv2dGeometry g, bool relu, int threads, bool? wide = null)
    {
        if (PackedTileSize(g) == 4) ForwardPackedF45(x, panels, bias, y, g, relu, threads, wide);
        else if (WholeImagePays(g)) ForwardBatched(x, panels, bias, y, g, relu, threads, wide, m: 2);
        else Forward(x, panels, bias, y, g, relu, threads, wide);
    }

    /// <summary>Floats of the Winograd panels of g's filters for m×m tiles: α² points of <see cref="PanelXiStride"/> floats.</summary>
    private static int PanelFloats(in Conv2dGeometry g, int m) => (m + g.R - 1) * (m + g.R - 1) * (int)PanelXiStride(g);

    /// <summary>
    /// Floats from U_ξ to U_ξ+1: K/16 · C · 16 and one cache line more (at whole multiples of 4 KB, or of 64 KB, the α²
    /// lines one filter transform writes fell into one L1 set, or one L2 set, and evicted each other half-written).
    /// </summary>
    internal static long PanelXiStride(in Conv2dGeometry g) => (long)CeilDiv(g.K, Lanes) * g.C * Lanes + Lanes;

    /// <summary>
    /// Bytes of V for one tile row (α² · C · TilesWPad floats). The products read a band's V for every
    /// group of six tiles, so a band should stay in L2: bands are cut to <see cref="BandBytes"/>
    /// (one row at least), and rows over <see cref="RowMaxBytes"/> keep the channel-vector or shifted-window kernels.
    /// </summary>
    internal static long RowBytes(in Conv2dGeometry g, int m = 2) =>
        (long)(m + g.R - 1) * (m + g.R - 1) * g.C * RoundUp(CeilDiv(g.OutW, m), 8) * sizeof(float);

    /// <summary>Most bytes of V one band holds (half of L2).</summary>
    internal const long BandBytes = 256 * 1024;

    /// <summary>
    /// Most bytes of V in one tile row for the per-call routing: a one-row band within a 1 MB L2
    /// (conv2d.fwd_bwd.16x64x24x36.k5x192's backward-input, 192 channels, 660 KB per row, beats the
    /// channel-vector kernel: CONV-CPU-2026-12-06.md).
    /// </summary>
    internal const long RowMaxBytes = 768 * 1024;

    /// <summary>y = conv(x, w) + bias (then ReLU) with w [K, C, R, R] transformed for this call.</summary>
    public static void ForwardPerCall(float[] x, float[] w, float[]? bias, float[] y, in Conv2dGeometry g, bool relu, int threads, bool? wide = null) =>
        ForwardPerCall(x, w, FilterLayout.Plain(g), bias, y, g, relu, threads, wide);

    /// <summary>
    /// dx = the adjoint of conv(·, w) applied to dy, as the Winograd forward of dy with w[k, c, r, s] read as w'[c, k, R−1−r, S−1−s]
    /// (the panels gather w' straight from w: no flipped copy).
    /// </summary>
    public static void BackwardInput(float[] dy, float[] w, float[] dx, in Conv2dGeometry g, int threads, bool? wide = null) =>
        ForwardPerCall(dy, w, FilterLayout.Adjoint(g), null, dx, Conv2dAdjoint.Geometry(g), relu: false, threads, wide);

    private static unsafe void ForwardPerCall(float[] x, float[] w, FilterLayout layout, float[]? bias, float[] y, in Conv2dGeometry g, bool relu, int threads, bool? wide)
    {
        int m = TileSize(g, adjoint: layout.QStep != 1);
        if (m == 4 && g.R == 5)
        {
            ForwardF45(x, w, layout, bias, y, g, relu, threads, wide);
            return;
        }
        var panels = ArrayPool<float>.Shared.Rent(PanelFloats(g, m) + 16);
        fixed (float* pp = panels)
        {
            float* u = (float*)(((nint)pp + 63) & ~(nint)63);
            Panels(w, layout, g, u, threads, m);
            if (m == 4) ForwardBatched(x, u, bias, y, g, relu, threads, wide, m);
            else Forward(x, u, bias, y, g, relu, threads, wide);
        }
        ArrayPool<float>.Shared.Return(panels);
    }

    /// <summary>
    /// Where filter tap q of (output channel k, input channel c) of the convolution being run lies in the array
    /// given: w[k·KStride + c·CStride + q·QStep + QFirst] (QStep −1 for the adjoint's flipped taps).
    /// </summary>
    private readonly record struct FilterLayout(int KStride, int CStride, int QStep, int QFirst)
    {
        /// <summary>w [K, C, R, S] as it is.</summary>
        public static FilterLayout Plain(in Conv2dGeometry g) => new(g.C * g.R * g.S, g.R * g.S, 1, 0);

        /// <summary>The adjoint's filters w'[c, k, q] = w[k, c, RS − 1 − q] of w [K, C, R, S] (g the forward's geometry).</summary>
        public static FilterLayout Adjoint(in Conv2dGeometry g) => new(g.R * g.S, g.C * g.R * g.S, -1, g.R * g.S - 1);
    }

    /// <summary>
    /// U[ξ = αρ + σ] = (G g Gᵀ)[ρ, σ] of every filter g = w[k, c] [R, R] for m×m tiles (α = m + R − 1, w read through
    /// <paramref name="layout"/>) into panels u [α² ξ][K/16][C][16] (64-byte aligned, U_ξ <see cref="PanelXiStride"/> apart;
    /// lane k mod 16, lanes past K zero: their outputs are never stored); blocks of 16 output channels shared among threads.
    /// </summary>
    private static unsafe void Panels(float[] w, FilterLayout layout, in Conv2dGeometry g, float* u, int threads, int m)
    {
        int k = g.K, c = g.C, r = g.R, rr = r * r;
        bool large = m == 4;
        long xiStride = PanelXiStride(g);
        // a block's 16 output channels as two halves of 8, one per lane, their taps gathered (filling the lanes one by one
        // through memory stalled every load on store forwarding); (G g Gᵀ) as two products; both halves of a panel row
        // are stored together, so each cache line of U is written whole at once
        ParallelFor(CeilDiv(k, Lanes), (long)k * c * rr >= ParallelElements ? threads : 1, kb =>
        {
            int k0 = Lanes * kb;
            var taps = stackalloc Vector256<float>[50];  // g [R, R], 8 filters, per half
            var gg = stackalloc Vector256<float>[60];    // G·g [α, R] per half
            var lanes = stackalloc int[8];
            var index = stackalloc Vector256<int>[2];
            var mask = stackalloc Vector256<float>[2];
            for (int h = 0; h < 2; h++)
            {
                int live = Math.Clamp(k - k0 - 8 * h, 0, 8);
                for (int i = 0; i < 8; i++) lanes[i] = Math.Max(0, Math.Min(i, live - 1)) * layout.KStride;
                index[h] = Vector256.Load(lanes);
                mask[h] = Vector256.LessThan(Vector256.Create(0, 1, 2, 3, 4, 5, 6, 7), Vector256.Create(live)).AsSingle();
            }
            fixed (float* pw = w)
                for (int cc = 0; cc < c; cc++)
                {
                    for (int h = 0; h < 2; h++)
                    {
                        // no live lane in the upper half: the masked gathers read nothing and give zeros
                        float* filters = k0 + 8 * h < k ? pw + (long)(k0 + 8 * h) * layout.KStride + (long)cc * layout.CStride + layout.QFirst : pw;
                        for (int q = 0; q < rr; q++)
                            taps[25 * h + q] = Avx2.GatherMaskVector256(Vector256<float>.Zero, filters + q * layout.QStep, index[h], mask[h], 4);
                    }
                    // G·g column by column, then (G·g)·Gᵀ row by row: each output the FMA chain over G's
                    // nonzero taps in order (the loops over G's entries cost more than the arithmetic)
                    float* line = u + ((long)kb * c + cc) * Lanes;
                    for (int h = 0; h < 2; h++)
                    {
                        Vector256<float>* t = taps + 25 * h, gh = gg + 30 * h;
                        if (r == 5)
                            for (int s = 0; s < 5; s++) ApplyG5(t[s], t[5 + s], t[10 + s], t[15 + s], t[20 + s], gh + s, 5);
                        else if (large)
                            for (int s = 0; s < 3; s++) ApplyG43(t[s], t[3 + s], t[6 + s], gh + s, 3);
                        else
                            for (int s = 0; s < 3; s++) ApplyG3(t[s], t[3 + s], t[6 + s], gh + s, 3);
                    }
                    int alpha = m + r - 1;
                    for (int rho = 0; rho < alpha; rho++)
                        for (int h = 0; h < 2; h++)
                        {
                            Vector256<float>* row = gg + 30 * h + r * rho;
                            float* dst = line + alpha * rho * xiStride + 8 * h;
                            if (r == 5) ApplyG5(row[0], row[1], row[2], row[3], row[4], dst, xiStride);
                            else if (large) ApplyG43(row[0], row[1], row[2], dst, xiStride);
                            else ApplyG3(row[0], row[1], row[2], dst, xiStride);
                        }
                }
        });
    }

    /// <summary>Tile counts and the zero-padded image of one F(m×m, R×R) convolution (α = m + R − 1 points per axis).</summary>
    private readonly record struct TileGeometry(int M, int Alpha, int TilesH, int TilesW, int TilesWPad, int Hp, int Wp)
    {
        /// <summary>
        /// Tiles cover the output in m×m blocks; a tile row is computed in groups of 8 (TilesWPad), reading the padded plane [Hp, Wp]
        /// (with m = 4, two columns more: the last group's loads of 8 tiles reach 4 columns past its last patch start).
        /// </summary>
        public static TileGeometry Of(in Conv2dGeometry g, int m)
        {
            int tilesH = CeilDiv(g.OutH, m), tilesW = CeilDiv(g.OutW, m), tilesWPad = RoundUp(tilesW, 8);
            return new(m, m + g.R - 1, tilesH, tilesW, tilesWPad, m * tilesH + g.R - 1, m * tilesWPad + g.R - 1 + (m == 4 ? 2 : 0));
        }

        public int Plane => Hp * Wp;

        /// <summary>The zero-padded planes [C][Hp, Wp] of an image of <paramref name="g"/> (padding top and left; the rest of Hp × Wp zeros).</summary>
        public PaddedImage Image(in Conv2dGeometry g) => new(g.C, g.H, g.W, g.PadTop, g.PadLeft, Wp, Plane, g.C * Plane);

        /// <summary>Transform points of a tile, α².</summary>
        public int Points => Alpha * Alpha;
    }

    /// <summary>
    /// y = conv(x, w) + bias (then ReLU when <paramref name="relu"/>) with w as Winograd panels (<see cref="Panels(float[], in Conv2dGeometry, int)"/>);
    /// on <paramref name="m"/>×<paramref name="m"/> tiles (the panels' tile size: 2, or 4 for 3×3 filters, F(4×4, 3×3));
    /// with <paramref name="pool"/> (g's output size even) y [N, K, OutH/2, OutW/2] is its 2×2 max pool (Conv2dWinograd.Pool.cs).
    /// </summary>
    public static unsafe void Forward(float[] x, float* panels, float[]? bias, float[] y, in Conv2dGeometry g, bool relu, int threads, bool? wide = null, bool pool = false, int m = 2)
    {
        if (m == 4 && g.R != 3) throw new ArgumentException($"conv2d Winograd: 4×4 tiles in this driver take 3×3 filters, got {g.R}×{g.S}");
        bool wideProducts = wide ?? Vector512.IsHardwareAccelerated; // 512-bit products (tests pin both widths: same bits)
        var wg = TileGeometry.Of(g, m);
        int blocks = CeilDiv(g.K, Lanes);
        long image = (long)g.C * wg.Plane;
        long macs = (long)g.N * wg.Points * blocks * Lanes * g.C * wg.TilesH * wg.TilesWPad;
        int workers = macs < GemmParallelMacs ? 1 : threads;
        var call = new ForwardCall
        {
            X = x, Panels = panels, Bias = bias, Y = y, G = g, Wg = wg, Padding = wg.Image(g), Image = image,
            YImage = pool ? (long)g.K * (g.OutH / 2) * (g.OutW / 2) : (long)g.K * g.OutH * g.OutW, Blocks = blocks, Relu = relu, Wide = wideProducts, Pool = pool,
        };
        if (g.N == 1 && workers > 1 && g.C < WinogradDeepChannels && blocks % ((wideProducts ? 2 : 1) * workers) != 0)
        {
            // one image whose channel blocks (pairs of them with 512-bit products) do not split evenly among the threads: each
            // thread takes an equal share of the groups of six tiles with every block, transforming the input rows under its tiles
            // only (a cut by tile rows or by blocks left one thread a row or a block more); an even cut by blocks is kept, as each
            // thread then reads only its part of U
            ParallelFor(workers, workers, new ForwardGroupShares(call, workers));
            return;
        }
        var (rowSplits, blockSplits) = workers == 1 || g.N >= 2 * workers ? (1, 1) : Splits(g.N, wg.TilesH, blocks, workers);
        if (rowSplits == 1 && blockSplits == 1)
        {
            // one task per image: it pads its image into its own scratch, read back from L2 by the input transforms
            // (a batch-wide padded copy went to memory and came back)
            ParallelFor(g.N, workers, new ForwardImages(call));
            return;
        }
        if (g.N == 1 && g.W >= 8)
        {
            // one image cut by tile rows and blocks: each task pads the rows under its tiles into its own scratch (one thread
            // padding the whole image while the others waited was a serial step of every batch-1 conv)
            ParallelFor(rowSplits * blockSplits, workers, new ForwardRowBlocks(call, rowSplits, blockSplits, null));
            return;
        }
        var padded = ArrayPool<float>.Shared.Rent((int)(g.N * image)); // [N][C][Hp, Wp]
        ParallelFor(g.N, workers, new PadImages(call, padded));
        ParallelFor(g.N * rowSplits * blockSplits, workers, new ForwardRowBlocks(call, rowSplits, blockSplits, padded));
        ArrayPool<float>.Shared.Return(padded);
    }

    /// <summary>
    /// The padded rows under tile rows [i0, i1) of image src written into this thread's padding scratch (the rest of it
    /// left as it is: the task reads those rows only); W ≥ 8 (PaddedImage.WriteRows), else the whole image.
    /// </summary>
    private static unsafe float* PadRows(float* src, in PaddedImage padding, in Conv2dGeometry g, in TileGeometry wg, long image, int i0, int i1)
    {
        float* pad = CpuScratch.Floats(ref _paddedScratch, image);
        if (g.W >= 8) padding.WriteRows(src, pad, wg.M * i0, wg.M * i1 + g.R - 1);
        else padding.Write(src, pad);
        return pad;
    }

    /// <summary>
    /// How to cut each of <paramref name="images"/> images into tile-row ranges × channel-block ranges:
    /// the cut whose busiest thread (taking tasks in turn) does the least work, counting the input
    /// transform of a task's rows, which every task repeats, as <see cref="InputShare"/> of
    /// one block's products over them; ties go to fewer tasks. (FocusCalibrationNet at batch 1 on two
    /// threads: conv2's 13 tile rows in halves of 7 and 6 rather than both threads transforming all
    /// rows for one of its two blocks; conv5's 3 tile rows whole, its five blocks as 3 and 2; one image over fewer than
    /// WinogradDeepChannels channels whose blocks do not split evenly is cut into equal shares of its groups of six tiles instead, in Forward.)
    /// </summary>
    internal static (int RowSplits, int BlockSplits) Splits(int images, int tileRows, int blocks, int threads)
    {
        (int, int) best = (1, 1);
        double bestCost = double.MaxValue;
        for (int rs = 1; rs <= tileRows; rs++)
            for (int bs = 1; bs <= blocks; bs++)
            {
                int tasks = images * rs * bs;
                if (tasks > 8 * threads) break;
                double cost = CeilDiv(tasks, threads) * CeilDiv(tileRows, rs) * (InputShare + CeilDiv(blocks, bs));
                if (cost < bestCost - 1e-9)
                {
                    bestCost = cost;
                    best = (rs, bs);
                }
            }
        return best;
    }

    /// <summary>
    /// The input transform of a tile row's C channels against the products and output transform of
    /// one 16-channel block over it (estimated from the cycles of each per channel and tile, then measured;
    /// the cuts it gives focus_calibration_net.infer.b1.26x63's layers are listed at Splits).
    /// </summary>
    private const double InputShare = 0.35;

    /// <summary>
    /// Tile rows [i0, i1) of one image (of them only the tiles [<paramref name="e0"/>, <paramref name="e1"/>) in the image's
    /// row-major order), output channel blocks [kb0, kb1): band by band (<see cref="Bands"/>), the
    /// input transform of every channel into V; then for each chunk of channel blocks, point by point ξ, the
    /// products of every group of six tiles (two channel blocks at a time when <paramref name="wide"/>) into M
    /// [block][group][α² ξ][6][16], and the chunk's output transforms into y [K, OutH, OutW]. With ξ outermost,
    /// U_ξ of the chunk and V_ξ of the band stay in L1/L2 across the groups, and U is read once per band
    /// (each element is still one FMA chain over the input channels: the same bits in any order of the loops).
    /// </summary>
    private static unsafe void ForwardTask(float* image, float* panels, float* bias, float* y, in Conv2dGeometry g, in TileGeometry wg,
        int i0, int i1, int kb0, int kb1, bool relu, bool wide, bool pool = false, int e0 = 0, int e1 = int.MaxValue)
    {
        int c = g.C, blocks = CeilDiv(g.K, Lanes), tilesWPad = wg.TilesWPad;
        bool wideInput = WideTransforms(wide), lanes = TileLanes(g, wg, wideInput, pool); // a band of whole rows: Conv2dWinograd.Lanes.cs
        bool wholeImage = i0 == 0 && i1 == wg.TilesH && e0 == 0 && e1 >= wg.TilesH * wg.TilesW && !pool;
        var (bandRows, chunkBlocks) = Bands(g, wg, i1 - i0, kb1 - kb0, wide, wholeImage);
        // V_ξ [C][band tiles] lie 32 floats more than a multiple of 4 KB apart at most (one input
        // transform writes all 16: in one L1 set they would evict each other)
        long vXi = (long)c * bandRows * tilesWPad + 32;
        int points = wg.Points;
        int groupsMax = CeilDiv(bandRows * wg.TilesW, Rows);
        const int mXi = Rows * Lanes;
        long mGroup = (long)points * mXi;                                // M of one block's six tiles: [α² ξ][6][16]
        var v = ArrayPool<float>.Shared.Rent((int)(points * vXi));       // [α² ξ][C][band tiles]
        var at = ArrayPool<int>.Shared.Rent(groupsMax * Rows);           // the band's real tiles (not the padding of a row to 8)
        float* mAll = CpuScratch.Floats(ref _productScratch, chunkBlocks * groupsMax * mGroup); // [chunk block][group][α² ξ][6][16]
        try
        {
            fixed (float* pv = v)
            fixed (int* pat = at)
                for (int b0 = i0; b0 < i1; b0 += bandRows)
                {
                    int rows = Math.Min(bandRows, i1 - b0), tiles = rows * tilesWPad;
                    // the products run over the real tiles only, six at a time: position of the o-th in V (the
                    // last one repeated to fill the last six; their results are never read)
                    int first = Math.Max(0, e0 - b0 * wg.TilesW), real = Math.Min(rows * wg.TilesW, e1 - b0 * wg.TilesW) - first; // the task's tiles in the band
                    if (real <= 0) continue;
                    int groups = CeilDiv(real, Rows);
                    for (int o = 0; o < groups * Rows; o++)
                    {
                        int e = first + Math.Min(o, real - 1);
                        pat[o] = e / wg.TilesW * tilesWPad + e % wg.TilesW;
                    }
                    for (int cc = 0; cc < c; cc++)
                    {
                        float* src = image + (long)cc * wg.Plane;
                        for (int r = 0; r < rows; r++)
                            for (int j0 = 0; j0 < tilesWPad;)
                            {
                                float* patch = src + wg.M * ((b0 + r) * wg.Wp + j0), slot = pv + (long)cc * tiles + r * tilesWPad + j0;
                                if (wg.M == 4)
                                {
                                    Input8Tile4(patch, wg.Wp, slot, vXi);
                                    j0 += 8;
                                }
                                else j0 += InputTiles(wg.Alpha, patch, wg.Wp, slot, vXi, tilesWPad - j0, wideInput);
                            }
                    }
                    if (lanes && first == 0 && real == rows * wg.TilesW)
                    {
                        LaneBand(pv, vXi, panels, bias, y, g, wg, rows, b0, kb0, kb1, relu);
                        continue;
                    }
                    long uXi = PanelXiStride(g), mBlock = groups * mGroup;
                    for (int kc0 = kb0; kc0 < kb1; kc0 += chunkBlocks)
                    {
                        int kc1 = Math.Min(kb1, kc0 + chunkBlocks);
                        for (int xi = 0; xi < points; xi++)
                        {
                            float* vx = pv + xi * vXi;
                            for (int kb = kc0; kb < kc1;)
                            {
                                // two channel blocks at once with 512-bit vectors (the same FMA chains as one at a time)
                                bool pair = wide && kb + 1 < kc1;
                                float* ux = panels + xi * uXi + (long)kb * c * Lanes, mo = mAll + (kb - kc0) * mBlock + xi * mXi;
                                if (!pair)
                                {
                                    if (wide) Products12x16(c, ux, tiles, vx, pat, groups, mo, mGroup);
                                    else Products6x16(c, ux, tiles, vx, pat, groups, mo, mGroup);
                                    kb++;
                                    continue;
                                }
                                Products6x32(c, ux, (long)c * Lanes, tiles, vx, pat, groups, mo, mGroup, mBlock);
                                kb += 2;
                            }
                        }
                        for (int kb = kc0; kb < kc1; kb++)
                        {
                            if (wg.Alpha == 4 && wg.M == 2 && !pool)
                            {
                                if (wideInput) StoreBand23Wide(wg, mAll + (kb - kc0) * mBlock, mGroup, pat, real, b0, kb, bias, relu, y, g);
                                else StoreBand23(wg, mAll + (kb - kc0) * mBlock, mGroup, pat, real, b0, kb, bias, relu, y, g);
                                continue;
                            }
                            for (int o = 0; o < groups; o++)
                                if (pool)
                                    StoreGroupPooled(wg, mAll + (kb - kc0) * mBlock + o * mGroup, mXi, pat + o * Rows, Math.Min(Rows, real - o * Rows), b0, kb, bias, relu, y, g);
                                else
                                    StoreGroup(wg, mAll + (kb - kc0) * mBlock + o * mGroup, mXi, pat + o * Rows, Math.Min(Rows, real - o * Rows), b0, kb, bias, relu, y, g);
                        }
                    }
                }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(v);
            ArrayPool<int>.Shared.Return(at);
        }
    }

    /// <summary>This thread's padded image in <see cref="Forward"/> when its tasks are whole images (CpuScratch).</summary>
    [ThreadStatic] private static float[]? _paddedScratch;

    /// <summary>This thread's M of <see cref="ForwardTask"/> (CpuScratch: a fresh block per task page-faults).</summary>
    [ThreadStatic] private static float[]? _productScratch;

    /// <summary>
    /// The output transforms of <paramref name="count"/> tiles of a group of six (positions t in the band's V)
    /// for channel block <paramref name="kb"/>: M [α² ξ][6][16] at m, + bias, ReLU, into y [K, OutH, OutW].
    /// </summary>
    private static unsafe void StoreGroup(in TileGeometry wg, float* m, long mXi, int* t, int count, int b0, int kb, float* bias, bool relu, float* y, in Conv2dGeometry g)
    {
        int k = g.K, outH = g.OutH, outW = g.OutW, k0 = kb * Lanes, tilesWPad = wg.TilesWPad;
        long plane = (long)outH * outW;
        int lanesLow = Math.Min(8, k - k0), lanesHigh = Math.Min(8, k - k0 - 8);
        Vector256<float> biasLow = Bias(bias, k0, lanesLow), biasHigh = lanesHigh > 0 ? Bias(bias, k0 + 8, lanesHigh) : default;
        for (int q = 0; q < count; q++)
        {
            int r = t[q] / tilesWPad, j = t[q] - r * tilesWPad, oh = wg.M * (b0 + r);
            float* dst = y + k0 * plane + (long)oh * outW + wg.M * j;
            int rowsIn = Math.Min(wg.M, outH - oh), colsIn = Math.Min(wg.M, outW - wg.M * j);
            if (wg.M == 4)
            {
                StoreTile4(m + q * Lanes, mXi, biasLow, relu, dst, plane, outW, lanesLow, rowsIn, colsIn);
                if (lanesHigh > 0)
                    StoreTile4(m + q * Lanes + 8, mXi, biasHigh, relu, dst + 8 * plane, plane, outW, lanesHigh, rowsIn, colsIn);
                continue;
            }
            Store(wg.Alpha, m + q * Lanes, mXi, biasLow, relu, dst, plane, outW, lanesLow, rowsIn, colsIn);
            if (lanesHigh > 0)
                Store(wg.Alpha, m + q * Lanes + 8, mXi, biasHigh, relu, dst + 8 * plane, plane, outW, lanesHigh, rowsIn, colsIn);
        }
    }

    /// <summary>
    /// The output transform (α = 4 or 6) of 8 channels of one tile (m: M_0's lanes, M_ξ <paramref name="xiStride"/>
    /// further) into y at dst (row pitch <paramref name="outW"/>, channels <paramref name="plane"/> apart):
    /// a whole tile as column pairs, an edge tile (or fewer channels) element by element.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void Store(int alpha, float* m, long xiStride, Vector256<float> bias, bool relu, float* dst, long plane, int outW, int lanes, int rows, int cols)
    {
        Vector256<float> y00, y01, y10, y11;
        if (alpha == 4) Output8(m, xiStride, bias, relu, out y00, out y01, out y10, out y11);
        else Output8Alpha6(m, xiStride, bias, relu, out y00, out y01, out y10, out y11);
        StoreOutputs2(y00, y01, y10, y11, dst, plane, outW, lanes, rows, cols);
    }

    /// <summary>The even and the odd floats of p[0..16), each in order.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe (Vector256<float> Even, Vector256<float> Odd) Deinterleave(float* p)
    {
        var a = Avx.LoadVector256(p);
        var b = Avx.LoadVector256(p + 8);
        var even = Avx.Shuffle(a, b, 0b10_00_10_00); // a0 a2 b0 b2 | a4 a6 b4 b6
        var odd = Avx.Shuffle(a, b, 0b11_01_11_01);  // a1 a3 b1 b3 | a5 a7 b5 b7
        return (Avx2.Permute4x64(even.AsDouble(), 0b11_01_10_00).AsSingle(), Avx2.Permute4x64(odd.AsDouble(), 0b11_01_10_00).AsSingle());
    }

    /// <summary>bias[k0 .. k0 + lanes) in the first lanes of a vector (zeros past them, or everywhere without a bias).</summary>
    private static unsafe Vector256<float> Bias(float* bias, int k0, int lanes)
    {
        if (bias == null) return Vector256<float>.Zero;
        if (lanes == 8) return Vector256.Load(bias + k0);
        var v = stackalloc float[8];
        for (int i = 0; i < 8; i++) v[i] = i < lanes ? bias[k0 + i] : 0f;
        return Vector256.Load(v);
    }

    /// <summary>
    /// A tile on the bottom or right edge of y, or of the last channels: the first
    /// <paramref name="lanes"/> channels, <paramref name="rows"/> rows and <paramref name="cols"/> columns, element by element.
    /// </summary>
    [SkipLocalsInit] // its stack buffer is written before it is read
    private static unsafe void StoreEdgeTile(Vector256<float> y00, Vector256<float> y01, Vector256<float> y10, Vector256<float> y11,
        float* dst, long plane, int outW, int lanes, int rows, int cols)
    {
        var tile = stackalloc float[32]; // [a, b][8 lanes]
        y00.Store(tile);
        y01.Store(tile + 8);
        y10.Store(tile + 16);
        y11.Store(tile + 24);
        for (int i = 0; i < lanes; i++)
            for (int a = 0; a < rows; a++)
                for (int b = 0; b < cols; b++)
                    dst[i * plane + a * outW + b] = tile[(a * 2 + b) * 8 + i];
    }

    /// <summary>For lane i of 8 channels: (left[i], right[i]) to dst + i·<paramref name="channelStride"/> (two adjacent output columns).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void StoreColumnPairs(Vector256<float> left, Vector256<float> right, float* dst, long channelStride)
    {
        var lo = Avx.UnpackLow(left, right).AsDouble();  // channels 0, 1 | 4, 5
        var hi = Avx.UnpackHigh(left, right).AsDouble(); // channels 2, 3 | 6, 7
        Vector128<double> l = lo.GetLower(), h = hi.GetLower();
        Sse2.StoreLow((double*)dst, l);
        Sse2.StoreHigh((double*)(dst + channelStride), l);
        Sse2.StoreLow((double*)(dst + 2 * channelStride), h);
        Sse2.StoreHigh((double*)(dst + 3 * channelStride), h);
        l = lo.GetUpper();
        h = hi.GetUpper();
        Sse2.StoreLow((double*)(dst + 4 * channelStride), l);
        Sse2.StoreHigh((double*)(dst + 5 * channelStride), l);
        Sse2.StoreLow((double*)(dst + 6 * channelStride), h);
        Sse2.StoreHigh((double*)(dst + 7 * channelStride), h);
    }
}
