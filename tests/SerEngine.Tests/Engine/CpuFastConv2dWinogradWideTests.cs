using SerEngine.Backends;
using SerEngine.Backends.Cpu;
using static SerEngine.Tests.Engine.FastAgreement;

namespace SerEngine.Tests.Engine;

/// <summary>
/// The per-call F(2×2, 3×3) forward and backward-input with 512-bit products and output transforms (Conv2dWinograd.Products.cs's
/// Products12x16 for a lone 16-channel block, Conv2dWinograd.Store23.cs's StoreTilePair16) against the 256-bit forms: the same
/// bits on 1–3 threads, and the <c>cpu-reference</c> loops at the shared norm-wise tolerance. Shapes: FocusCalibrationNet's
/// training layers at two images (conv2's backward-input has one block, conv3's forward a pair and a lone block), odd group
/// counts, blocks with 8 and 12 live lanes (the tile-by-tile store), bias and ReLU; rows of 20 to 48 tiles over 32 to 40 input
/// channels for the tile-lane products and stores (Conv2dWinograd.Lanes.cs: whole 16-tile vectors, a last group of one to three,
/// masked right edges).
/// </summary>
public class CpuFastConv2dWinogradWideTests
{
    // N, C, H, W, K, R, S, stride, padding (top, bottom, left, right), dilation
    private static readonly Conv2dGeometry[] Shapes =
    [
        new(2, 16, 25, 62, 32, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1),   // conv2 (backward-input: 16 output channels, one block)
        new(2, 32, 12, 31, 48, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1),   // conv3: a pair and a lone block; odd output width
        new(3, 48, 6, 15, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1),    // conv4 (backward-input: 48 channels)
        new(1, 64, 6, 15, 80, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1),    // conv5: five blocks, one image cut among threads
        new(2, 7, 9, 23, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1),     // one block, 5 × 12 tiles: an odd number of groups of six
        new(2, 5, 11, 14, 40, 3, 3, 1, 1, 0, 1, 1, 0, 1, 1),    // 40 channels: a last block of 8 live lanes; asymmetric padding
        new(2, 12, 8, 9, 60, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1),     // 60 channels: a last block of 12 live lanes; 12 input channels
        new(2, 32, 13, 61, 20, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1),   // tiles in the lanes: 31 of 32 tiles a row, odd height, 4 live lanes in the last block
        new(2, 33, 7, 95, 8, 3, 3, 1, 1, 1, 0, 2, 1, 1, 1),     // tiles in the lanes: 48 tiles a row (one group of three vectors), asymmetric padding, 33 channels
        new(1, 40, 10, 40, 24, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1),   // one image, 20 of 32 tiles a row, blocks of 16 and 8 lanes
    ];

    [Fact]
    public void ForwardKeepsItsBitsAtBothWidthsAndAgreesWithTheReference()
    {
        var rng = new Generator(2323);
        foreach (var g in Shapes)
            foreach (bool relu in new[] { false, true })
            {
                var x = RandomArray(rng, g.N * g.C * g.H * g.W);
                var w = RandomArray(rng, g.K * g.C * g.R * g.S);
                var bias = RandomArray(rng, g.K);
                var expected = Output(g.N * g.K * g.OutH * g.OutW);
                if (relu) Ref.Conv2dForwardRelu(ToRef(x), ToRef(w), ToRef(bias), expected, g);
                else Ref.Conv2dForward(ToRef(x), ToRef(w), ToRef(bias), expected, g);
                float[] Forward(int threads, bool wide)
                {
                    var y = new float[g.N * g.K * g.OutH * g.OutW];
                    Array.Fill(y, float.NaN);
                    Conv2dWinograd.ForwardPerCall(x, w, bias, y, g, relu, threads, wide);
                    return y;
                }
                var y2 = Forward(2, wide: true);
                Agree(Read(expected), y2, $"F(2×2, 3×3) forward relu {relu} {g}");
                Assert.Equal(y2, Forward(2, wide: false));
                Assert.Equal(y2, Forward(1, wide: true));
                Assert.Equal(y2, Forward(3, wide: true));
                Assert.Equal(y2, Forward(3, wide: false));
            }
    }

    [Fact]
    public void BackwardInputKeepsItsBitsAtBothWidthsAndAgreesWithTheReference()
        => WinogradBackwardInputCheck.AgreesAndKeepsItsBits(Shapes, 2324, "F(2×2, 3×3) backward-input");
}
