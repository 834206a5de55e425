using static SerEngine.Backends.Cpu.Conv2dChannelVector;
using static SerEngine.Backends.Cpu.CpuBackend;

namespace SerEngine.Backends.Cpu;

// The tasks of Conv2dWinograd.Forward as worker-pool bodies (IPoolBody): structs holding the call's operands, so a
// batch-1 forward's convolutions allocate no closure. Each cut is the one Forward describes where it chooses it.
internal static partial class Conv2dWinograd
{
    /// <summary>The operands of one <see cref="Forward"/> call as its tasks read them (the arrays are pinned by each task).</summary>
    private unsafe struct ForwardCall
    {
        public float[] X, Y;           // [N, C, H, W], [N, K, OutH, OutW] (or the pooled [N, K, OutH/2, OutW/2])
        public float[]? Bias;          // [K]
        public float* Panels;          // U [α² ξ][K/16][C][16], pinned by its owner
        public Conv2dGeometry G;
        public TileGeometry Wg;
        public PaddedImage Padding;
        public long Image, YImage;     // floats of one padded image [C][Hp, Wp], of one output image
        public int Blocks;             // 16-channel blocks of K
        public bool Relu, Wide, Pool;
    }

    /// <summary>One image, task t of <paramref name="workers"/>: an equal share of the groups of six tiles, every block.</summary>
    private readonly struct ForwardGroupShares(ForwardCall call, int workers) : IPoolBody
    {
        public unsafe void Run(int task)
        {
            var wg = call.Wg;
            int all = wg.TilesH * wg.TilesW, groups = CeilDiv(all, Rows);
            int e0 = Rows * (int)((long)groups * task / workers), e1 = Math.Min(all, Rows * (int)((long)groups * (task + 1) / workers));
            if (e0 >= e1) return;
            int i0 = e0 / wg.TilesW, i1 = CeilDiv(e1, wg.TilesW);
            fixed (float* src = call.X, py = call.Y, pb = call.Bias)
                ForwardTask(PadRows(src, call.Padding, call.G, wg, call.Image, i0, i1), call.Panels, pb, py, call.G, wg, i0, i1, 0, call.Blocks,
                    call.Relu, call.Wide, call.Pool, e0, e1);
        }
    }

    /// <summary>Image n whole: padded into this thread's scratch, then every tile row and block.</summary>
    private readonly struct ForwardImages(ForwardCall call) : IPoolBody
    {
        public unsafe void Run(int n)
        {
            float* pad = CpuScratch.Floats(ref _paddedScratch, call.Image);
            var g = call.G;
            fixed (float* src = call.X, py = call.Y, pb = call.Bias)
            {
                call.Padding.Write(src + (long)n * g.C * g.H * g.W, pad);
                ForwardTask(pad, call.Panels, pb, py + n * call.YImage, g, call.Wg, 0, call.Wg.TilesH, 0, call.Blocks, call.Relu, call.Wide, call.Pool);
            }
        }
    }

    /// <summary>
    /// Task (image, tile-row range, block range) of <paramref name="rowSplits"/> × <paramref name="blockSplits"/> per image: from
    /// <paramref name="padded"/> [N][C][Hp, Wp] when given (PadImages wrote it), else (one image) the rows under its tiles padded here.
    /// </summary>
    private readonly struct ForwardRowBlocks(ForwardCall call, int rowSplits, int blockSplits, float[]? padded) : IPoolBody
    {
        public unsafe void Run(int task)
        {
            var wg = call.Wg;
            int n = task / (rowSplits * blockSplits), rs = task / blockSplits % rowSplits, bs = task % blockSplits;
            int i0 = (int)((long)wg.TilesH * rs / rowSplits), i1 = (int)((long)wg.TilesH * (rs + 1) / rowSplits);
            int kb0 = (int)((long)call.Blocks * bs / blockSplits), kb1 = (int)((long)call.Blocks * (bs + 1) / blockSplits);
            if (i0 >= i1 || kb0 >= kb1) return;
            fixed (float* src = call.X, pin = padded, py = call.Y, pb = call.Bias)
            {
                float* image = pin != null ? pin + n * call.Image : PadRows(src, call.Padding, call.G, wg, call.Image, i0, i1);
                ForwardTask(image, call.Panels, pb, py + n * call.YImage, call.G, wg, i0, i1, kb0, kb1, call.Relu, call.Wide, call.Pool);
            }
        }
    }

    /// <summary>Image n padded into <paramref name="padded"/> [N][C][Hp, Wp].</summary>
    private readonly struct PadImages(ForwardCall call, float[] padded) : IPoolBody
    {
        public unsafe void Run(int n)
        {
            var g = call.G;
            fixed (float* src = call.X, dst = padded)
                call.Padding.Write(src + (long)n * g.C * g.H * g.W, dst + n * call.Image);
        }
    }
}
