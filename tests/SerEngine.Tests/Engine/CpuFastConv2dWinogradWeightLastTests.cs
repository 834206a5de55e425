using SerEngine.Backends;
using SerEngine.Backends.Cpu;
using static SerEngine.Tests.Engine.FastAgreement;

namespace SerEngine.Tests.Engine;

/// <summary>
/// The Winograd backward-weight on 2×2 tiles with channel-last transforms (Conv2dWinograd.BackwardWeightLast.cs) against
/// the <c>cpu-reference</c> loops, and bit for bit against the tile-in-lanes transforms it replaced, with 512- and 256-bit
/// micro-tiles and on 1–3 threads: 3×3 and 5×5 filters, edge tiles, asymmetric padding, channels and output channels off
/// the lanes and the micro-tile, widths not a multiple of 8, bands of several images and of a few tile rows.
/// </summary>
public class CpuFastConv2dWinogradWeightLastTests
{
    // N, C, H, W, K, R, S, stride, padding (top, bottom, left, right), dilation
    private static readonly Conv2dGeometry[] Shapes =
    [
        new(3, 128, 11, 17, 40, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1),   // AttentionFcn's hard12 11×17 maps: edge tiles right and bottom
        new(2, 33, 10, 13, 25, 3, 3, 1, 1, 0, 1, 1, 0, 1, 1),    // odd everything, asymmetric padding
        new(5, 20, 6, 7, 13, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1),      // small maps: bands of several images
        new(2, 40, 9, 70, 20, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1),     // 35 tiles a row, W a multiple of neither 8 nor 16
        new(1, 7, 30, 9, 6, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1),       // one image, fewer than 8 channels, bands of a few rows
        new(3, 32, 24, 36, 64, 5, 5, 1, 1, 2, 2, 2, 2, 1, 1),    // the hard12 recipe's conv2 (fewer images)
        new(2, 17, 13, 11, 9, 5, 5, 1, 1, 2, 1, 0, 2, 1, 1),     // 5×5: asymmetric padding, off the lanes
        new(4, 16, 6, 7, 13, 5, 5, 1, 1, 2, 2, 2, 2, 1, 1),      // 5×5: bands of several images
    ];

    [Fact]
    public void ChannelLastBackwardWeightAgreesWithTheReference()
    {
        var rng = new Generator(4501);
        foreach (var g in Shapes)
        {
            var x = RandomArray(rng, g.N * g.C * g.H * g.W);
            var dy = RandomArray(rng, g.N * g.K * g.OutH * g.OutW);
            var expected = Output(g.K * g.C * g.R * g.S);
            Ref.Conv2dBackwardWeight(ToRef(x), ToRef(dy), expected, g);
            foreach (int threads in new[] { 1, 2, 3 })
            {
                var dw = new float[g.K * g.C * g.R * g.S];
                Conv2dWinograd.BackwardWeight(x, dy, dw, g, threads, wide: threads != 2, m: 2);
                Agree(Read(expected), dw, $"channel-last 2×2-tile backward-weight {g} on {threads} threads");
            }
        }
    }

    [Fact]
    public void ChannelLastAndTileInLanesTransformsMicroTilesAndThreadCountsGiveTheSameBits()
    {
        var rng = new Generator(4502);
        foreach (var g in Shapes)
        {
            var x = RandomArray(rng, g.N * g.C * g.H * g.W);
            var dy = RandomArray(rng, g.N * g.K * g.OutH * g.OutW);
            float[] Run(int threads, bool wide, bool channelLast)
            {
                var dw = new float[g.K * g.C * g.R * g.S];
                Conv2dWinograd.BackwardWeight(x, dy, dw, g, threads, wide, m: 2, channelLast: channelLast);
                return dw;
            }
            var lanes = Run(2, wide: false, channelLast: false);
            Assert.Equal(lanes, Run(2, wide: false, channelLast: true));
            Assert.Equal(lanes, Run(2, wide: true, channelLast: true));
            Assert.Equal(lanes, Run(1, wide: true, channelLast: true));
            Assert.Equal(lanes, Run(3, wide: false, channelLast: true));
            Assert.Equal(lanes, Run(1, wide: false, channelLast: false));
        }
    }
}
