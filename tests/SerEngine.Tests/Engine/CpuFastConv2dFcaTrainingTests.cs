using SerEngine.Backends;
using SerEngine.Backends.Cpu;
using static SerEngine.Tests.Engine.FastAgreement;

namespace SerEngine.Tests.Engine;

/// <summary>
/// FocusCalibrationNet's training convolutions over several images (focus_calibration_net.train_step.b32.26x63):
/// the per-call F(2×2, 3×3) forward and backward-input, whose tasks are whole images where the images outnumber
/// twice the threads (each task pads its own image) and image parts otherwise, against the <c>cpu-reference</c>
/// loops, and the same bits on either split, at either vector width; the channel-vector backward-weight of conv2
/// and conv3 likewise, and the one-channel direct backward-weight of conv1a and conv1b.
/// </summary>
public class CpuFastConv2dFcaTrainingTests
{
    // N, C, H, W, K, R, S, stride, padding (top, bottom, left, right), dilation; five images: whole-image tasks on 1 and 2 threads, parts on 3
    private static readonly Conv2dGeometry[] Layers =
    [
        new(5, 16, 25, 62, 32, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1),   // conv2
        new(5, 32, 12, 31, 48, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1),   // conv3
        new(5, 48, 6, 15, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1),    // conv4
        new(5, 64, 6, 15, 80, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1),    // conv5
        new(5, 20, 7, 9, 24, 3, 3, 1, 1, 0, 1, 2, 0, 1, 1),     // asymmetric padding, idle lanes both ways
    ];

    [Fact]
    public void PerCallForwardAndBackwardInputAgreeWithTheReferenceOnEverySplit()
    {
        var rng = new Generator(2207);
        foreach (var g in Layers)
        {
            var x = RandomArray(rng, g.N * g.C * g.H * g.W);
            var w = RandomArray(rng, g.K * g.C * 9);
            var bias = RandomArray(rng, g.K);
            var dy = RandomArray(rng, g.N * g.K * g.OutH * g.OutW);
            Assert.Equal(2, Conv2dWinograd.TileSize(g));
            float[] Forward(bool wide, int threads)
            {
                var y = new float[dy.Length];
                Conv2dWinograd.ForwardPerCall(x, w, bias, y, g, relu: true, threads, wide);
                return y;
            }
            float[] BackwardInput(bool wide, int threads)
            {
                var dx = new float[x.Length];
                Conv2dWinograd.BackwardInput(dy, w, dx, g, threads, wide);
                return dx;
            }
            var y2 = Forward(false, 2);
            Assert.Equal(y2, Forward(true, 2));
            Assert.Equal(y2, Forward(true, 1));
            Assert.Equal(y2, Forward(true, 3));
            var expected = Output(dy.Length);
            Ref.Conv2dForwardRelu(ToRef(x), ToRef(w), ToRef(bias), expected, g);
            Agree(Read(expected), y2, $"per-call forward {g}");
            var dx2 = BackwardInput(false, 2);
            Assert.Equal(dx2, BackwardInput(true, 2));
            Assert.Equal(dx2, BackwardInput(true, 1));
            Assert.Equal(dx2, BackwardInput(true, 3));
            var dxExpected = Output(x.Length);
            Ref.Conv2dBackwardInput(ToRef(dy), ToRef(w), dxExpected, g);
            Agree(Read(dxExpected), dx2, $"backward-input {g}");
        }
    }

    /// <summary>
    /// The channel-vector backward-weight (each thread pads image by image the input channels its taps read and packs the dy
    /// panels its tasks read) at
    /// conv2 (two panels, taps split between threads) and conv3 (three panels, runs crossing panels) and odd shapes:
    /// against the reference, the same bits on 1–3 threads and at either width.
    /// </summary>
    [Fact]
    public void ChannelVectorBackwardWeightAgreesWithTheReferenceOnAnyThreads()
    {
        var rng = new Generator(2208);
        Conv2dGeometry[] shapes =
        [
            Layers[0], Layers[1],
            new(3, 7, 9, 11, 40, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1),     // three panels, the last with 8 live lanes
            new(4, 5, 8, 10, 64, 5, 5, 1, 1, 2, 2, 1, 3, 1, 1),     // 5×5, asymmetric padding, two pairs
            new(3, 13, 14, 20, 32, 3, 3, 1, 1, 0, 2, 1, 2, 1, 1),   // no top padding: a plane's last row reads into the next plane's row 0; tap halves share channel 6
            new(2, 6, 7, 9, 140, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1),     // nine panels: three 512-bit triples, the last panel with 12 live lanes
            new(3, 5, 6, 11, 80, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1),     // five panels: single panels at both widths
            new(3, 16, 9, 13, 24, 3, 3, 1, 1, 0, 2, 2, 0, 1, 1),    // channel-last at 512 bits: three groups of 8 (2:1 over two threads), asymmetric padding
            new(2, 32, 5, 7, 16, 5, 3, 1, 1, 2, 2, 1, 1, 1, 1),     // channel-last, two input panels × two groups, five filter rows
            new(2, 48, 4, 6, 8, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1),      // channel-last, three input panels × one group (2:1 over two threads), rows under 8 wide
            new(2, 16, 4, 3, 8, 3, 3, 1, 1, 0, 0, 0, 0, 1, 1),      // channel-last, one group, one output column, no padding
        ];
        foreach (var g in shapes)
        {
            var x = RandomArray(rng, g.N * g.C * g.H * g.W);
            var dy = RandomArray(rng, g.N * g.K * g.OutH * g.OutW);
            float[] Run(bool wide, int threads)
            {
                var dw = new float[g.K * g.C * g.R * g.S];
                Conv2dChannelVector.BackwardWeight(x, dy, dw, g, threads, wide);
                return dw;
            }
            var dw2 = Run(true, 2);
            Assert.Equal(dw2, Run(false, 2));
            Assert.Equal(dw2, Run(true, 1));
            Assert.Equal(dw2, Run(false, 3));
            Assert.Equal(dw2, Run(true, 3));
            var expected = Output(dw2.Length);
            Ref.Conv2dBackwardWeight(ToRef(x), ToRef(dy), expected, g);
            Agree(Read(expected), dw2, $"channel-vector backward-weight {g}");
        }
    }

    [Fact]
    public void OneChannelDirectBackwardWeightAgreesWithTheReferenceAtEitherWidth()
    {
        var rng = new Generator(2209);
        Conv2dGeometry[] shapes =
        [
            new(5, 1, 26, 63, 8, 10, 2, 1, 1, 4, 4, 0, 0, 1, 1),    // conv1a: four channel pairs, 20 taps (three groups of 8, the last with 4 live)
            new(5, 1, 26, 63, 8, 2, 8, 1, 1, 0, 0, 3, 3, 1, 1),     // conv1b: 16 taps
            new(3, 1, 9, 13, 5, 3, 3, 1, 1, 1, 0, 2, 1, 1, 1),      // odd channels (two pairs and one alone), rows of 13: a tail of 5 columns
            new(2, 1, 11, 7, 3, 2, 2, 2, 1, 0, 1, 0, 1, 2, 1),      // stride 2 down, dilation 2, one pair and one alone
        ];
        foreach (var g in shapes)
        {
            var x = RandomArray(rng, g.N * g.C * g.H * g.W);
            var dy = RandomArray(rng, g.N * g.K * g.OutH * g.OutW);
            float[] Run(bool wide, int threads)
            {
                var dw = new float[g.K * g.R * g.S];
                Conv2dOneChannelDirect.BackwardWeight(x, dy, dw, g, threads, wide);
                return dw;
            }
            foreach (int threads in new[] { 1, 2, 3 })
                Assert.Equal(Run(false, threads), Run(true, threads));
            var dw2 = Run(true, 2);
            var expected = Output(dw2.Length);
            Ref.Conv2dBackwardWeight(ToRef(x), ToRef(dy), expected, g);
            Agree(Read(expected), dw2, $"one-channel-direct backward-weight {g}");
        }
    }
}
