using System.Buffers;
using System.Runtime.Intrinsics;
using static SerEngine.Backends.Cpu.Conv2dChannelVector;
using static SerEngine.Backends.Cpu.CpuBackend;

namespace SerEngine.Backends.Cpu;

// The whole-batch Winograd forward: every tile of every image at once, in three passes shared among the threads
// instead of Forward's bands of one image. It runs
//   - the per-call F(4×4, 3×3) forward (Conv2dWinograd.TileSize 4: deep 3×3 layers over several images), and
//   - packed deep filters on 2×2 tiles for one image (WholeImagePays: AttentionFcn's 3×3 layers at batch 1,
//     attention_fcn.infer.b1.200x300), where Forward's tasks either each transform the whole image or each stream all of U.
// The passes:
//   input transform   the threads' channel ranges (padding included), every real tile into V [α² ξ][C][tiles]
//   products          the threads' ranges of (ξ, 16-channel block pair), every group of six tiles: M [block][group][α² ξ][6][16]
//   output transform  the threads' ranges of (block, group), + bias, ReLU, into y
// With ξ outermost each thread keeps V_ξ and U_ξ (a few hundred KB each for AttentionFcn's layers) in its L2
// while it runs every group against them, so U (α² points of K × C) is read once per call instead of once per
// image, and V and M cross memory once each. Each element of M is still one FMA chain over the input channels
// in order (Kernel6x32 and Kernel6x16 give the same bits), and V and the output transforms are Forward's, so the
// result does not depend on the vector width or the thread count (and on 2×2 tiles it has Forward's bits).
internal static partial class Conv2dWinograd
{
    /// <summary>
    /// True when packed 2×2-tile filters of <paramref name="g"/> take <see cref="ForwardBatched"/>: one image over deep channels,
    /// where Forward's cut either repeats the input transform on every thread or reads all of U on every thread.
    /// </summary>
    private static bool WholeImagePays(in Conv2dGeometry g) => g.N == 1 && g.C >= WinogradDeepChannels;

    /// <summary>
    /// y = conv(x, w) + bias (then ReLU when <paramref name="relu"/>) with F(m×m, R×R) panels at <paramref name="panels"/>
    /// (<paramref name="m"/> 4 for 3×3 filters, or 2), the whole batch at once.
    /// </summary>
    private static unsafe void ForwardBatched(float[] x, float* panels, float[]? bias, float[] y, in Conv2dGeometry g, bool relu, int threads, bool? wide, int m)
    {
        bool pairs = wide ?? Vector512.IsHardwareAccelerated; // 512-bit products (tests pin both widths: same bits)
        bool wideInput = WideTransforms(pairs);
        var wg = TileGeometry.Of(g, m);
        int c = g.C, blocks = CeilDiv(g.K, Lanes), points = wg.Points;
        int perImage = wg.TilesH * wg.TilesW, tiles = g.N * perImage, groups = CeilDiv(tiles, Rows);
        long image = (long)c * wg.Plane;
        long vc = tiles + 8 + 8;                 // V_ξ row of one channel: its tiles, the up to 7 a last run writes past them, and a gap
        long vXi = c * vc + 32;                  // V_ξ [C][tiles] (32 floats more than a multiple of 4 KB apart at most)
        const int mXi = Rows * Lanes;
        long mGroup = (long)points * mXi, mBlock = groups * mGroup;
        long uXi = PanelXiStride(g);
        var padded = ArrayPool<float>.Shared.Rent((int)(g.N * image));    // [N][C][Hp, Wp]
        var v = ArrayPool<float>.Shared.Rent((int)(points * vXi));        // [α² ξ][C][tiles]
        var mAll = ArrayPool<float>.Shared.Rent((int)(blocks * mBlock));  // [block][group][α² ξ][6][16]
        var off = ArrayPool<int>.Shared.Rent(c);
        for (int cc = 0; cc < c; cc++) off[cc] = (int)(cc * vc);
        var at = ArrayPool<int>.Shared.Rent(groups * Rows); // the o-th tile of the products (the last repeated to fill the last six)
        for (int o = 0; o < groups * Rows; o++) at[o] = Math.Min(o, tiles - 1);
        int workers = Math.Max(1, threads);
        var call = new BatchedCall
        {
            X = x, Y = y, Bias = bias, Padded = padded, V = v, MAll = mAll, Off = off, At = at, Panels = panels, G = g, Wg = wg, M = m,
            Image = image, Vc = vc, VXi = vXi, MGroup = mGroup, MBlock = mBlock, UXi = uXi, PerImage = perImage, Tiles = tiles, Groups = groups,
            Blocks = blocks, Units = pairs ? CeilDiv(blocks, 2) : blocks, Workers = workers, Pairs = pairs, WideInput = wideInput, Relu = relu,
        };
        try
        {
            ParallelFor(workers, workers, new BatchedInput(call));
            ParallelFor(workers, workers, new BatchedProducts(call));
            ParallelFor(workers, workers, new BatchedOutput(call));
        }
        finally
        {
            ArrayPool<float>.Shared.Return(padded);
            ArrayPool<float>.Shared.Return(v);
            ArrayPool<float>.Shared.Return(mAll);
            ArrayPool<int>.Shared.Return(off);
            ArrayPool<int>.Shared.Return(at);
        }
    }

    /// <summary>The operands and sizes of one <see cref="ForwardBatched"/> call as its passes' tasks read them.</summary>
    private unsafe struct BatchedCall
    {
        public float[] X, Y, Padded, V, MAll;  // [N, C, H, W], [N, K, OutH, OutW], [N][C][Hp, Wp], [α² ξ][C][tiles], [block][group][α² ξ][6][16]
        public float[]? Bias;                  // [K]
        public int[] Off, At;                  // V's channel offsets [C], the products' tiles [groups·6]
        public float* Panels;                  // U, pinned by its owner
        public Conv2dGeometry G;
        public TileGeometry Wg;
        public int M, PerImage, Tiles, Groups, Blocks, Units, Workers;
        public long Image, Vc, VXi, MGroup, MBlock, UXi;
        public bool Pairs, WideInput, Relu;
    }

    /// <summary>
    /// Thread task's channel range: padding and the input transforms, channel by channel: runs of 8 (or 16) tiles, tile rows and
    /// images in order (a run past a row's last tile writes into the next row's slots, which that row then overwrites).
    /// </summary>
    private readonly struct BatchedInput(BatchedCall call) : IPoolBody
    {
        public unsafe void Run(int task)
        {
            var geo = call.G;
            var wg = call.Wg;
            int c = geo.C, workers = call.Workers, m = call.M;
            int c0 = (int)((long)c * task / workers), c1 = (int)((long)c * (task + 1) / workers);
            var part = new PaddedImage(c1 - c0, geo.H, geo.W, geo.PadTop, geo.PadLeft, wg.Wp, wg.Plane, (c1 - c0) * wg.Plane);
            fixed (float* src = call.X, pin = call.Padded, pv = call.V)
                for (int n = 0; n < geo.N; n++)
                {
                    float* img = pin + n * call.Image;
                    part.Write(src + ((long)n * geo.C + c0) * geo.H * geo.W, img + (long)c0 * wg.Plane);
                    for (int cc = c0; cc < c1; cc++)
                        for (int i = 0; i < wg.TilesH; i++)
                            for (int j0 = 0; j0 < wg.TilesW;)
                            {
                                float* patch = img + (long)cc * wg.Plane + m * (i * wg.Wp + j0), slot = pv + cc * call.Vc + n * call.PerImage + i * wg.TilesW + j0;
                                if (m == 4)
                                {
                                    Input8Tile4(patch, wg.Wp, slot, call.VXi);
                                    j0 += 8;
                                }
                                else j0 += InputTiles(wg.Alpha, patch, wg.Wp, slot, call.VXi, wg.TilesWPad - j0, call.WideInput);
                            }
                }
        }
    }

    /// <summary>Thread task's contiguous range of the products' (ξ, block pair) tasks, in order.</summary>
    private readonly struct BatchedProducts(BatchedCall call) : IPoolBody
    {
        public unsafe void Run(int task)
        {
            const int mXi = Rows * Lanes;
            int c = call.G.C, units = call.Units, blocks = call.Blocks, groups = call.Groups, tasks = call.Wg.Points * units, workers = call.Workers;
            bool pairs = call.Pairs;
            long mBlock = call.MBlock, mGroup = call.MGroup;
            int t0 = (int)((long)tasks * task / workers), t1 = (int)((long)tasks * (task + 1) / workers);
            fixed (float* pv = call.V, pm = call.MAll)
            fixed (int* poff = call.Off, pat = call.At)
                for (int t = t0; t < t1; t++)
                {
                    int xi = t / units, kb = (t % units) * (pairs ? 2 : 1);
                    bool pair = pairs && kb + 1 < blocks;
                    float* vx = pv + xi * call.VXi, ux = call.Panels + xi * call.UXi + (long)kb * c * Lanes, mo = pm + kb * mBlock + xi * mXi;
                    for (int o = 0; o < groups; o++, mo += mGroup)
                    {
                        int* q = pat + o * Rows;
                        if (pair)
                            Kernel6x32(c, ux, ux + (long)c * Lanes, poff, vx + q[0], vx + q[1], vx + q[2], vx + q[3], vx + q[4], vx + q[5], mo, mo + mBlock);
                        else
                            Kernel6x16(c, ux, poff, vx + q[0], vx + q[1], vx + q[2], vx + q[3], vx + q[4], vx + q[5], mo, accumulate: false);
                    }
                }
        }
    }

    /// <summary>Thread task's range of the output transforms, (block, group) by (block, group).</summary>
    private readonly struct BatchedOutput(BatchedCall call) : IPoolBody
    {
        public unsafe void Run(int task)
        {
            const int mXi = Rows * Lanes;
            int groups = call.Groups, workers = call.Workers, tiles = call.Tiles;
            int all = call.Blocks * groups, s0 = (int)((long)all * task / workers), s1 = (int)((long)all * (task + 1) / workers);
            fixed (float* pm = call.MAll, py = call.Y, pb = call.Bias)
                for (int s = s0; s < s1; s++)
                {
                    int kb = s / groups, o = s % groups;
                    StoreBatchGroup(call.Wg, call.G, call.M, pm + kb * call.MBlock + o * call.MGroup, mXi, o * Rows, Math.Min(Rows, tiles - o * Rows), kb, pb, call.Relu, py);
                }
        }
    }

    /// <summary>
    /// The output transforms (m×m tiles) of <paramref name="count"/> tiles from batch tile <paramref name="first"/> on (image, tile row,
    /// tile column in order) for channel block <paramref name="kb"/>: M [α² ξ][6][16] at mp, + bias, ReLU, into y [N, K, OutH, OutW].
    /// </summary>
    private static unsafe void StoreBatchGroup(in TileGeometry wg, in Conv2dGeometry g, int m, float* mp, long mXi, int first, int count, int kb, float* bias, bool relu, float* y)
    {
        int k = g.K, outH = g.OutH, outW = g.OutW, k0 = kb * Lanes, perImage = wg.TilesH * wg.TilesW;
        long plane = (long)outH * outW;
        int lanesLow = Math.Min(8, k - k0), lanesHigh = Math.Min(8, k - k0 - 8);
        Vector256<float> biasLow = Bias(bias, k0, lanesLow), biasHigh = lanesHigh > 0 ? Bias(bias, k0 + 8, lanesHigh) : default;
        for (int q = 0; q < count; q++)
        {
            int e = first + q, n = e / perImage, r = e % perImage / wg.TilesW, j = e % wg.TilesW, oh = m * r;
            float* dst = y + ((long)n * k + k0) * plane + (long)oh * outW + m * j;
            int rowsIn = Math.Min(m, outH - oh), colsIn = Math.Min(m, outW - m * j);
            for (int half = 0; half < (lanesHigh > 0 ? 2 : 1); half++)
            {
                float* src = mp + q * Lanes + 8 * half, to = dst + 8 * half * plane;
                var b = half == 0 ? biasLow : biasHigh;
                int lanes = half == 0 ? lanesLow : lanesHigh;
                if (m == 4) StoreTile4(src, mXi, b, relu, to, plane, outW, lanes, rowsIn, colsIn);
                else Store(wg.Alpha, src, mXi, b, relu, to, plane, outW, lanes, rowsIn, colsIn);
            }
        }
    }
}
