using SerEngine.Autograd;
using SerEngine.Backends;
using SerEngine.Backends.Cpu;
using static SerEngine.Tests.Engine.FastAgreement;

namespace SerEngine.Tests.Engine;

/// <summary>
/// <see cref="Backend.Conv2dForwardPackedReluMaxPool"/>: the fast CPU backend's Winograd forward with the 2×2 max pool
/// taken in its output transform (Conv2dWinograd.Pool.cs) gives bit for bit the values of its unfused
/// <see cref="Backend.Conv2dForwardPacked"/> + <see cref="Backend.MaxPool2dForward"/>, and agrees with the
/// <c>cpu-reference</c> loops, at FocusCalibrationNet's pooled layers (odd output height, odd output width), even
/// and odd sizes, asymmetric padding, idle lanes, 5×5 filters, several images, on 1–3 threads (3×3 filters over fewer than 128
/// channels pool 4×4 tiles, Conv2dWinograd.PooledTileSize: there the unfused values come from the same driver on the same panels
/// without the pool); shapes the fused
/// store cannot cut (an odd output side without padding there) take the default; and <see cref="Ops.Conv2dReluMaxPool"/>.
/// </summary>
public class CpuFastConv2dReluMaxPoolTests
{
    // N, C, H, W, K, R, S, stride, padding (top, bottom, left, right), dilation
    private static readonly Conv2dGeometry[] Shapes =
    [
        new(1, 16, 25, 62, 32, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1),   // FocusCalibrationNet conv2: output 25 × 62, pooled 12 × 31
        new(1, 32, 12, 31, 48, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1),   // conv3: output 12 × 31, pooled 6 × 15
        new(2, 5, 9, 20, 16, 3, 3, 1, 1, 0, 2, 1, 0, 1, 1),     // asymmetric padding, two images
        new(3, 7, 6, 8, 60, 3, 3, 1, 1, 1, 1, 0, 1, 1, 1),      // 60 channels: a block with 12 live lanes; odd width cut on the right
        new(1, 9, 40, 3, 32, 3, 3, 1, 1, 2, 1, 0, 2, 1, 1),     // tall and narrow: several bands
        new(2, 16, 11, 17, 32, 5, 5, 1, 1, 2, 2, 2, 2, 1, 1),   // F(2×2, 5×5): odd output sizes
        new(1, 64, 12, 18, 32, 5, 5, 1, 1, 2, 2, 2, 2, 1, 1),   // packed on 4×4 tiles (PackedTileSize): the pooled store takes the default
        new(1, 128, 9, 11, 32, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1),   // 3×3 over deep channels: pooled on the packed 2×2 tiles (PooledTileSize)
        new(2, 4, 14, 10, 32, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1),    // 4×4 tiles: a last tile row and column half outside the pooled map
    ];

    [Fact]
    public void FusedPoolEqualsConvThenPoolAndAgreesWithTheReference()
    {
        var rng = new Generator(91);
        foreach (var g in Shapes)
            foreach (bool withBias in new[] { true, false })
            {
                var x = Random(rng, g.N * g.C * g.H * g.W);
                var w = Random(rng, g.K * g.C * g.R * g.S);
                var bias = withBias ? Random(rng, g.K) : null;
                var pool = new Pool2dGeometry(g.N, g.K, g.OutH, g.OutW, 2, 2, 2, 2, 0, 0);
                int pooled = pool.N * pool.C * pool.OutH * pool.OutW;
                var map = Output(g.N * g.K * g.OutH * g.OutW);
                var expected = Output(pooled);
                Ref.Conv2dForwardRelu(x, w, bias, map, g);
                Ref.MaxPool2dForward(map, expected, Ref.Allocate(pooled, DType.Int32), pool);
                foreach (int threads in new[] { 1, 2, 3 })
                {
                    var fast = new CpuBackend(threads);
                    var packed = fast.PackConv2dWeight(w, g);
                    Assert.IsType<Conv2dWinogradWeight>(packed);
                    var unfusedMap = Output(g.N * g.K * g.OutH * g.OutW);
                    var unfused = Output(pooled);
                    bool cut = g.PadBottom >= g.OutH % 2 && g.PadRight >= g.OutW % 2; // else the default: conv on the packed tiles, then pool
                    if (cut && Conv2dWinograd.PooledTileSize(g) == 4 && g.R == 3)
                        UnpooledTile4(x, (Conv2dWinogradWeight)packed, bias, unfusedMap, g, threads); // the pooled store's own tiles, unpooled
                    else
                        fast.Conv2dForwardPacked(x, packed, bias, unfusedMap, g, relu: true);
                    fast.MaxPool2dForward(unfusedMap, unfused, Ref.Allocate(pooled, DType.Int32), pool);
                    var y = Output(pooled);
                    fast.Conv2dForwardPackedReluMaxPool(x, packed, bias, y, g);
                    float[] u = Read(unfused), f = Read(y);
                    int differ = Enumerable.Range(0, u.Length).Count(i => u[i] != f[i]);
                    Assert.True(differ == 0, $"{g} bias={withBias} threads={threads}: {differ} of {u.Length} differ"); // same products and transforms, the max of the same four values
                    Agree(expected, y, $"{g} bias={withBias} threads={threads}");
                }
            }
    }

    /// <summary>conv + bias + ReLU of g on the F(4×4, 3×3) panels the pooled store uses, through the same driver without the pool.</summary>
    private static unsafe void UnpooledTile4(Storage x, Conv2dWinogradWeight packed, Storage? bias, Storage y, in Conv2dGeometry g, int threads)
    {
        var panels = packed.PooledPanels(threads);
        Conv2dWinograd.Forward(Read(x), (float*)CpuBackend.Align64(panels), bias is null ? null : Read(bias), ((CpuStorage)y).F, g, relu: true, threads, m: 4);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void PooledTile4IsTheSameAtBothVectorWidths(bool wide)
    {
        // the pooled 4×4 store after 256-bit products (one channel block at a time) and after 512-bit pairs: the same bits
        var rng = new Generator(94);
        var g = new Conv2dGeometry(1, 16, 25, 62, 48, 3, 3, 1, 1, 1, 0, 1, 1, 1, 1); // FocusCalibrationNet conv2 cut to an even output (24 × 62), 3 blocks
        var x = RandomArray(rng, g.N * g.C * g.H * g.W);
        var w = RandomArray(rng, g.K * g.C * 9);
        var bias = RandomArray(rng, g.K);
        var panels = Conv2dWinograd.PooledPanels(w, g, 2);
        var narrow = new float[g.N * g.K * g.OutH / 2 * (g.OutW / 2)];
        var other = new float[narrow.Length];
        unsafe
        {
            float* u = (float*)CpuBackend.Align64(panels);
            Conv2dWinograd.Forward(x, u, bias, narrow, g, relu: true, 2, wide: false, pool: true, m: 4);
            Conv2dWinograd.Forward(x, u, bias, other, g, relu: true, 2, wide: wide, pool: true, m: 4);
        }
        Assert.Equal(narrow, other);
    }

    [Fact]
    public void ShapesTheStoreCannotCutTakeTheDefault()
    {
        var rng = new Generator(92);
        var g = new Conv2dGeometry(1, 8, 9, 10, 16, 3, 3, 1, 1, 0, 0, 1, 1, 1, 1); // output 7 × 10, no padding below
        var x = Random(rng, g.N * g.C * g.H * g.W);
        var w = Random(rng, g.K * g.C * g.R * g.S);
        var bias = Random(rng, g.K);
        var pool = new Pool2dGeometry(g.N, g.K, g.OutH, g.OutW, 2, 2, 2, 2, 0, 0);
        int pooled = pool.N * pool.C * pool.OutH * pool.OutW;
        var map = Output(g.N * g.K * g.OutH * g.OutW);
        var expected = Output(pooled);
        Ref.Conv2dForwardRelu(x, w, bias, map, g);
        Ref.MaxPool2dForward(map, expected, Ref.Allocate(pooled, DType.Int32), pool);
        var fast = new CpuBackend(2);
        var y = Output(pooled);
        fast.Conv2dForwardPackedReluMaxPool(x, fast.PackConv2dWeight(w, g), bias, y, g);
        Agree(expected, y, "odd output height without bottom padding");
        var viaRef = Output(pooled);
        Ref.Conv2dForwardPackedReluMaxPool(x, Ref.PackConv2dWeight(w, g), bias, viaRef, g);
        Assert.Equal(Read(expected), Read(viaRef)); // the default: the reference's own conv and pool
    }

    [Fact]
    public void OpMatchesPoolOfConvReluAndRecordsNoGradient()
    {
        var fast = new CpuBackend(2);
        var rng = new Generator(93);
        var x = Tensor.FromArray(RandomArray(rng, 2 * 16 * 11 * 15), new Shape(2, 16, 11, 15), fast);
        var w = Tensor.FromArray(RandomArray(rng, 32 * 16 * 9), new Shape(32, 16, 3, 3), fast);
        var b = Tensor.FromArray(RandomArray(rng, 32), new Shape(32), fast);
        var g = new Conv2dGeometry(2, 16, 11, 15, 32, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1);
        var packed = fast.PackConv2dWeight(w.Storage, g);
        var unfused = Ops.MaxPool2d(Ops.Conv2dRelu(x, packed, b, (1, 1, 1, 1)), (2, 2));
        var fused = Ops.Conv2dReluMaxPool(x, packed, b, (1, 1, 1, 1));
        Assert.Equal(new Shape(2, 32, 5, 7), fused.Shape);
        var direct = Output(2 * 32 * 5 * 7);
        fast.Conv2dForwardPackedReluMaxPool(x.Storage, packed, b.Storage, direct, g);
        Assert.Equal(Read(direct), fused.ToArray());                            // the op is the primitive
        Agree(unfused.ToArray(), fused.ToArray(), "op against conv + ReLU, then pool"); // 4×4 pooled tiles against 2×2 packed ones: rounding
        var tracked = Tensor.FromArray(x.ToArray(), x.Shape, fast);
        tracked.RequiresGrad = true;
        var e = Assert.Throws<InvalidOperationException>(() => Ops.Conv2dReluMaxPool(tracked, packed, b, (1, 1, 1, 1)));
        Assert.Contains("records no gradient", e.Message);
    }
}
