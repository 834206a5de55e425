using System.Buffers;
using System.Runtime.Intrinsics;
using static SerEngine.Backends.Cpu.Conv2dChannelVector;
using static SerEngine.Backends.Cpu.CpuBackend;

namespace SerEngine.Backends.Cpu;

// The forward of packed 5×5 filters as F(4×4, 5×5) (Conv2dWinograd.PackedTileSize 4): the panels U [64 ξ][K/16][C][16]
// were transformed once when the weights were packed (PanelsF45), so a call runs only the input transforms, the
// products and the output transforms of Conv2dWinograd.F45.cs. Tasks are (image, band of tile rows, range of
// 16-channel blocks): one image of AttentionFcn's conv2 would be a single band, so with fewer images than threads
// its tile rows are cut into one band per thread (and the blocks as well when the rows run out).
// Each element of M is one FMA chain over the input channels in order (Kernel6x32 and Kernel6x16 give the same
// bits) and every transform is 256-bit, so the result does not depend on the vector width or the thread count.
internal static partial class Conv2dWinograd
{
    /// <summary>
    /// y = conv(x, w) + bias (then ReLU when <paramref name="relu"/>) with w as F(4×4, 5×5) panels at <paramref name="panels"/>
    /// (<see cref="Panels(float[], in Conv2dGeometry, int)"/> where <see cref="PackedTileSize"/> is 4).
    /// </summary>
    private static unsafe void ForwardPackedF45(float[] x, float* panels, float[]? bias, float[] y, in Conv2dGeometry g, bool relu, int threads, bool? wide)
    {
        bool pairs = wide ?? Vector512.IsHardwareAccelerated; // 512-bit products (tests pin both widths: same bits)
        int c = g.C, blocks = CeilDiv(g.K, Lanes), unit = pairs ? 2 : 1;
        int tilesH = CeilDiv(g.OutH, 4), tilesW = CeilDiv(g.OutW, 4), readW = Math.Max(tilesW, 8);
        int wp = 4 * readW + 4, plane = (4 * tilesH + 4) * wp;
        long image = (long)c * plane, uXi = PanelXiStride(g);
        long macs = (long)g.N * 64 * blocks * Lanes * c * tilesH * tilesW;
        int workers = macs < GemmParallelMacs ? 1 : Math.Max(1, threads);
        // fewer (image, band) tasks than threads: more bands first (each thread transforms only its rows, and its smaller V
        // stays in L2 beside M), then the channel blocks too, in whole pairs
        var (bandRows, _) = F45Bands(g, tilesH, tilesW, blocks, unit);
        int bands = CeilDiv(tilesH, bandRows);
        if (g.N * bands < workers)
        {
            bandRows = CeilDiv(tilesH, Math.Min(tilesH, CeilDiv(workers, g.N)));
            bands = CeilDiv(tilesH, bandRows);
        }
        int blockSplits = Math.Clamp(CeilDiv(workers, g.N * bands), 1, CeilDiv(blocks, unit));
        int splitBlocks = RoundUp(CeilDiv(blocks, blockSplits), unit);
        long mBlockBytes = 64L * RoundUp(bandRows * tilesW, Rows) * Lanes * sizeof(float);
        int chunk = Math.Min(splitBlocks, Math.Max(unit, (int)(ChunkBytes / mBlockBytes) / unit * unit));
        var padded = ArrayPool<float>.Shared.Rent((int)(g.N * image)); // [N][C][Hp, Wp]
        var padding = new PaddedImage(c, g.H, g.W, g.PadTop, g.PadLeft, wp, plane, (int)image);
        try
        {
            ParallelFor(g.N, workers, new PadImages(new ForwardCall { X = x, G = g, Padding = padding, Image = image }, padded));
            ParallelFor(g.N * bands * blockSplits, workers, new PackedF45Task
            {
                X = padded, Y = y, Bias = bias, Panels = panels, G = g, Image = image, UXi = uXi, Wp = wp, Plane = plane, TilesW = tilesW, TilesH = tilesH,
                BandRows = bandRows, Bands = bands, BlockSplits = blockSplits, SplitBlocks = splitBlocks, Blocks = blocks, Chunk = chunk, Relu = relu, Pairs = pairs,
            });
        }
        finally
        {
            ArrayPool<float>.Shared.Return(padded);
        }
    }

    /// <summary>ForwardPackedF45's task (image, band of tile rows, range of channel blocks) over the padded images.</summary>
    private unsafe struct PackedF45Task : IPoolBody
    {
        public float[] X, Y;            // padded [N][C][Hp, Wp], [N, K, OutH, OutW]
        public float[]? Bias;           // [K]
        public float* Panels;           // U, pinned by its owner
        public Conv2dGeometry G;
        public long Image, UXi;
        public int Wp, Plane, TilesW, TilesH, BandRows, Bands, BlockSplits, SplitBlocks, Blocks, Chunk;
        public bool Relu, Pairs;

        public readonly void Run(int task)
        {
            int n = task / (Bands * BlockSplits), band = task / BlockSplits % Bands, bs = task % BlockSplits;
            int i0 = band * BandRows, rows = Math.Min(BandRows, TilesH - i0);
            int kb0 = Math.Min(Blocks, bs * SplitBlocks), kb1 = Math.Min(Blocks, kb0 + SplitBlocks);
            if (kb0 >= kb1) return;
            fixed (float* pin = X, py = Y, pb = Bias)
                BandF45(pin + n * Image, Wp, Plane, Panels, UXi, pb, py + (long)n * G.K * G.OutH * G.OutW, G,
                    TilesW, i0, rows, kb0, kb1, Chunk, Relu, Pairs);
        }
    }
}
