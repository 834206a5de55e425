namespace SerEngine.Backends.Cpu;

// The tile size of every Winograd pass, chosen here and nowhere else (each rule's measurement in its doc):
// the per-call forward and backward-input (TileSize), the backward-weight (WeightTileSize) and packed filters
// (PackedTileSize) and the pooled packed forward (PooledTileSize). 4 means F(4×4, r×r): α = r + 3, fewer products per output for larger transforms and larger
// rounding; 2 means F(2×2, r×r). The profile names the choice (CpuBackend.Conv2dWinogradTile).
internal static partial class Conv2dWinograd
{
    /// <summary>
    /// Input channels from which the per-call forward passes of 3×3 filters over several images take F(4×4, 3×3)
    /// (Conv2dWinograd.F43.cs: 36 multiplies per 16 outputs instead of 16 per 4; the whole batch at once,
    /// Conv2dWinograd.Batched.cs): AttentionFcn's default-width 3×3 layers in training (192–384 channels). With 128
    /// channels (its scratch recipe, attention_fcn.scratch_step.b16.200x300) the larger filter transforms and the
    /// batch-wide V and M cost more than the products saved; FocusCalibrationNet's layers (at most 80 channels) and
    /// packed filters (inference) keep F(2×2, 3×3) as well.
    /// </summary>
    internal const int LargeTileMinChannels = 192;

    /// <summary>
    /// Outputs per tile side of g's per-call pass, the one place that chooses it: 4 for 3×3 filters over at least
    /// <see cref="LargeTileMinChannels"/> channels and several images (F(4×4, 3×3)), and for 5×5 forwards over several
    /// images (F(4×4, 5×5)); else 2. A 5×5 backward-input (its adjoint) keeps F(2×2, 5×5) at every width: 4×4 tiles are faster
    /// for it from 16 channels up, and each call's result stays within a few millionths of the 2×2 one, but trained with them
    /// AttentionFcn lost test UA across seeds (README's widths and the hard12 recipe's; CONV5-BWDI-2026-12-07.md).
    /// </summary>
    internal static int TileSize(in Conv2dGeometry g, bool adjoint = false) =>
        g.N >= 2 && ((g.R == 3 && g.C >= LargeTileMinChannels) || (g.R == 5 && !adjoint)) ? 4 : 2;

    /// <summary>
    /// Outputs per tile side of g's backward-weight (Conv2dWinograd.BackwardWeight.cs), the one place that chooses it (measured
    /// per layer with the forward's geometry, CONV-BWDW4-2026-12-07.md): 4 over several images for 3×3 filters from
    /// <see cref="LargeTileMinChannels"/> input channels (AttentionFcn's default-width 3×3 layers: the products fall to 36 per
    /// 16 outputs and the batch-wide driver keeps dU in L2 point by point; with 128 channels or fewer F(2×2, 3×3) is as fast
    /// or faster) and for 5×5 filters from <see cref="LargeWeightTile5MinChannels"/> (F(4×4, 5×5): 64 products per 16 outputs
    /// instead of 144, and closer to a double sum than F(2×2, 5×5)); else 2.
    /// </summary>
    internal static int WeightTileSize(in Conv2dGeometry g) =>
        g.N >= 2 && ((g.R == 3 && g.C >= LargeTileMinChannels) || (g.R == 5 && g.C >= LargeWeightTile5MinChannels)) ? 4 : 2;

    /// <summary>
    /// Input channels from which 5×5 backward-weights take 4×4 tiles (<see cref="WeightTileSize"/>): AttentionFcn's default
    /// widths (64 → 192). Its scratch recipe's 32 → 64 ran faster on them too, but its hard12 training lost UA over ten seeds
    /// (CONV-BWDW4-2026-12-07.md), and the built-in recipe's 16 → 32 keeps its bits (README's main command, the training tests).
    /// </summary>
    internal const int LargeWeightTile5MinChannels = 64;

    /// <summary>
    /// Outputs per tile side of packed filters (inference), the one place that chooses it: the packing and
    /// <see cref="ForwardPacked"/> both ask it, so it depends on the filters only, not on the image count. 4 for 5×5 filters
    /// over at least <see cref="PackedLargeTileMinChannels"/> channels (F(4×4, 5×5): AttentionFcn's default-width conv2, whose
    /// one image per call in attention_fcn.infer.b1.200x300 reads its 3 MB of U once for 0.44× the products); else 2. Deep 3×3
    /// filters keep F(2×2, 3×3): at one 11×17 image F(4×4) covers 15 tiles in three groups of six for 2.25× the U, and was
    /// no faster (FCN-INFER-2026-12-07.md).
    /// </summary>
    internal static int PackedTileSize(in Conv2dGeometry g) => g.R == 5 && g.C >= PackedLargeTileMinChannels ? 4 : 2;

    /// <summary>
    /// Outputs per tile side of the pooled packed forward (Backend.Conv2dForwardPackedReluMaxPool, Conv2dWinograd.Pool.cs), the one
    /// place that chooses it; the weight keeps panels for it beside its own (Conv2dWinogradWeight.PooledPanels). 4 for 3×3 filters
    /// over fewer than <see cref="WinogradDeepChannels"/> channels (FocusCalibrationNet's conv2 and conv3 at one image,
    /// focus_calibration_net.infer.b1.26x63: a 4×4 tile is four pool windows, 36 products per 16 outputs instead of 64, and the
    /// input and output transforms per output fall too); else the tile the filters were packed for (<see cref="PackedTileSize"/>),
    /// and the pooled store takes only 2×2 ones.
    /// </summary>
    internal static int PooledTileSize(in Conv2dGeometry g) => g.R == 3 && g.S == 3 && g.C < WinogradDeepChannels ? 4 : PackedTileSize(g);

    /// <summary>
    /// Input channels from which packed 5×5 filters take F(4×4, 5×5): AttentionFcn's default widths (64 into conv2); the
    /// README's and the hard12 recipe's narrower conv2 (16 and 32 channels), whose validation passes pick the kept epoch,
    /// keep the F(2×2, 5×5) bits.
    /// </summary>
    internal const int PackedLargeTileMinChannels = 64;
}
