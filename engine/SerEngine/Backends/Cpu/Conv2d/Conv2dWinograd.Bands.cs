using static SerEngine.Backends.Cpu.Conv2dChannelVector;
using static SerEngine.Backends.Cpu.CpuBackend;

namespace SerEngine.Backends.Cpu;

// How a Winograd pass walks its tiles: tile rows per band and channel blocks per chunk, sized to the caches
// (the transformed input V of a band, the products M of a chunk, the transformed filters U).
internal static partial class Conv2dWinograd
{
    /// <summary>Input channels from which <see cref="Bands"/> weighs the traffic of U against that of V (the 3×3 layers of AttentionFcn).</summary>
    private const int WinogradDeepChannels = 128;

    /// <summary>Most bytes of M one chunk of channel blocks holds (it is written and read back while in L2).</summary>
    private const long ChunkBytes = 256 * 1024;

    /// <summary>Most bytes of V a band keeps for re-reading from L2 by every chunk; a bigger band's V streams once per chunk.</summary>
    private const long ResidentBytes = 512 * 1024;

    /// <summary>Most bytes of V one band of a deep or 5×5 convolution holds (beyond L2: read once per chunk from L3).</summary>
    private const long DeepBandBytes = 5L << 19;

    /// <summary>
    /// Tile rows per band and channel blocks per chunk for <paramref name="taskRows"/> rows and <paramref name="taskBlocks"/> blocks.
    /// 5×5 convolutions take as many tile rows as keep the band's V within <see cref="ResidentBytes"/> (one row at least: the
    /// input transform writes V and every chunk reads it back in L2, which costs less than re-reading U from L3 per band;
    /// FCN-TRAIN-2026-12-07-b.md). Deep (≥ 128 input channels) 3×3 convolutions take the band with the fewest bytes moved per
    /// tile beyond L2 (U once per band, V once plus once per chunk when over <see cref="ResidentBytes"/>), up to
    /// <see cref="DeepBandBytes"/>; the rest keep whole tile rows of up to <see cref="BandTiles"/> tiles within <see cref="BandBytes"/>,
    /// or, for a task of a <paramref name="wholeImage"/> of 2×2 tiles, more rows when they leave fewer groups of six (<see cref="FewestGroupsRows"/>).
    /// </summary>
    private static (int Rows, int Chunk) Bands(in Conv2dGeometry g, in TileGeometry wg, int taskRows, int taskBlocks, bool wide, bool wholeImage = false)
    {
        long rowBytes = RowBytes(g, wg.M);
        int unit = wide ? 2 : 1, points = wg.Points, tilesW = wg.TilesW;
        int Chunk(int rows)
        {
            long mBlock = (long)points * RoundUp(rows * tilesW, Rows) * Lanes * sizeof(float);
            return Math.Min(taskBlocks, Math.Max(unit, (int)(ChunkBytes / mBlock) / unit * unit));
        }
        if (g.R == 5)
        {
            int rows = (int)Math.Clamp(ResidentBytes / rowBytes, 1, taskRows);
            return (rows, Chunk(rows));
        }
        if (g.C < WinogradDeepChannels)
        {
            int rows = Math.Min(taskRows, CeilDiv(BandTiles, wg.TilesWPad));
            rows = (int)Math.Clamp(BandBytes / rowBytes, 1, rows);
            if (wholeImage && wg.M == 2) rows = FewestGroupsRows(wg, rows, (int)Math.Clamp(ResidentBytes / rowBytes, rows, taskRows));
            return (rows, Chunk(rows));
        }
        long u = (long)wg.Points * g.C * taskBlocks * Lanes * sizeof(float);
        (int, int) best = (1, Chunk(1));
        double bestCost = double.MaxValue;
        for (int rows = 1; rows <= taskRows && (rows == 1 || rows * rowBytes <= DeepBandBytes); rows++)
        {
            int chunk = Chunk(rows), chunks = CeilDiv(taskBlocks, chunk);
            long vBytes = rows * rowBytes;
            double cost = (u + vBytes * (1 + (vBytes <= ResidentBytes ? 1 : chunks))) / (double)(rows * wg.TilesW);
            if (cost < bestCost * 0.999)
            {
                bestCost = cost;
                best = (rows, chunk);
            }
        }
        return best;
    }

    /// <summary>
    /// Tile rows per band, from <paramref name="rows"/> to <paramref name="most"/>, that leave the fewest groups of six over the
    /// image (the products run whole groups, and a band's last group is padded with repeats of its last tile: FocusCalibrationNet's
    /// conv2 at 13 × 31 tiles, focus_calibration_net.train_step.b32.26x63, runs 72 groups in bands of 2 rows and 68 in bands of 5);
    /// ties keep fewer rows. Each tile's outputs are the same FMA chains in any band.
    /// </summary>
    private static int FewestGroupsRows(in TileGeometry wg, int rows, int most)
    {
        static int Groups(int tilesH, int tilesW, int r) => tilesH / r * CeilDiv(r * tilesW, Rows) + CeilDiv(tilesH % r * tilesW, Rows);
        int best = rows;
        for (int r = rows + 1; r <= most; r++)
            if (Groups(wg.TilesH, wg.TilesW, r) < Groups(wg.TilesH, wg.TilesW, best)) best = r;
        return best;
    }
}
