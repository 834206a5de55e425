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
        var geo = g;
        var padding = new PaddedImage(c, g.H, g.W, g.PadTop, g.PadLeft, wp, plane, (int)image);
        nint ua = (nint)panels;
        try
        {
            ParallelFor(g.N, workers, n =>
            {
                fixed (float* src = x, dst = padded)
                    padding.Write(src + (long)n * geo.C * geo.H * geo.W, dst + n * image);
            });
            ParallelFor(g.N * bands * blockSplits, workers, task =>
            {
                int n = task / (bands * blockSplits), band = task / blockSplits % bands, bs = task % blockSplits;
                int i0 = band * bandRows, rows = Math.Min(bandRows, tilesH - i0);
                int kb0 = Math.Min(blocks, bs * splitBlocks), kb1 = Math.Min(blocks, kb0 + splitBlocks);
                if (kb0 >= kb1) return;
                fixed (float* pin = padded, py = y, pb = bias)
                    BandF45(pin + n * image, wp, plane, (float*)ua, uXi, pb, py + (long)n * geo.K * geo.OutH * geo.OutW, geo,
                        tilesW, i0, rows, kb0, kb1, chunk, relu, pairs);
            });
        }
        finally
        {
            ArrayPool<float>.Shared.Return(padded);
        }
    }
}
