using SerEngine.Backends;
using SerEngine.Backends.Cpu;
using static SerEngine.Tests.Engine.FastAgreement;

namespace SerEngine.Tests.Engine;

/// <summary>
/// The 5×5 backward-input on F(2×2, 5×5) (the forward of its adjoint) in bands of tile rows whose V stays in L2
/// (Conv2dWinograd.Bands): at AttentionFcn's training maps with the hard12 recipe's widths (32 → 64: bands of two tile rows)
/// and wider adjoints (96 and 192 channels: one row a band), against the <c>cpu-reference</c> loops at the shared norm-wise
/// tolerance, and the same bits with 256-bit and 512-bit products and on 1–3 threads (three threads on two images cut the
/// tile rows among tasks, so the bands differ from those of one task per image).
/// </summary>
public class CpuFastConv2dWinogradBandsTests
{
    // N, C, H, W, K, R, S, stride, padding (top, bottom, left, right), dilation
    private static readonly Conv2dGeometry[] Shapes =
    [
        new(2, 32, 24, 36, 64, 5, 5, 1, 1, 2, 2, 2, 2, 1, 1),   // scratch_step's conv2
        new(2, 40, 24, 36, 96, 5, 5, 1, 1, 2, 2, 2, 2, 1, 1),   // 96 adjoint channels: one row a band; 40 outputs: idle lanes
        new(2, 16, 23, 35, 192, 5, 5, 1, 1, 2, 2, 2, 2, 1, 1),  // 192 adjoint channels (train_step's conv2), odd sizes: edge tiles
    ];

    [Fact]
    public void BackwardInputInL2BandsAgreesWithTheReferenceAndKeepsItsBits()
        => WinogradBackwardInputCheck.AgreesAndKeepsItsBits(Shapes, 2525, "F(2×2, 5×5) backward-input");
}
