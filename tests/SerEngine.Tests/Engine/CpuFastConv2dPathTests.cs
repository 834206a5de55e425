using SerEngine.Backends;
using SerEngine.Backends.Cpu;
using static SerEngine.Tests.Engine.FastAgreement;

namespace SerEngine.Tests.Engine;

/// <summary>
/// Every conv2d path of the fast CPU backend forced (<see cref="Conv2dPathSettings"/>) at every pass
/// and geometry it supports agrees with the <c>cpu-reference</c> loops, norm-wise to 1e-4 relative,
/// including combinations the routing never picks (Winograd F(2×2, 3×3) per call and for
/// backward-input, the shifted window on one channel, the channel-vector path on one image).
/// </summary>
public class CpuFastConv2dPathTests
{
    // N, C, H, W, K, R, S, stride, padding (top, bottom, left, right), dilation
    private static readonly Conv2dGeometry[] Shapes =
    [
        new(2, 16, 9, 14, 32, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1),    // 3×3, full lanes
        new(1, 6, 7, 11, 20, 3, 3, 1, 1, 0, 2, 1, 0, 1, 1),     // 3×3, asymmetric padding, idle lanes, one image
        new(2, 8, 10, 9, 16, 5, 5, 1, 1, 2, 2, 2, 2, 1, 1),     // 5×5
        new(2, 1, 12, 15, 8, 4, 3, 2, 1, 1, 2, 0, 1, 1, 1),     // one channel, stride 2 along H only
        new(2, 1, 9, 13, 5, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1),      // one channel, stride 1
        new(2, 3, 13, 12, 16, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1),    // stride 2
        new(2, 4, 10, 9, 17, 3, 4, 1, 1, 2, 0, 1, 3, 2, 3),     // dilation, asymmetric padding
        new(2, 5, 8, 9, 16, 3, 3, 1, 1, 3, 3, 3, 3, 1, 1),      // padding past the kernel extent: no adjoint
    ];

    public static TheoryData<Conv2dPath> Paths => [.. Enum.GetValues<Conv2dPath>()];

    [Theory]
    [MemberData(nameof(Paths))]
    public void AForcedPathAgreesWithTheReferenceWhereverItRuns(Conv2dPath path)
    {
        var rng = new Generator(91);
        var isa = Conv2dIsa.Host;
        var fast = new CpuBackend(2) { Conv2dPaths = Conv2dPathSettings.Default.Force(path) };
        foreach (var g in Shapes)
        {
            var x = Random(rng, g.N * g.C * g.H * g.W);
            var w = Random(rng, g.K * g.C * g.R * g.S);
            var bias = Random(rng, g.K);
            var dy = Random(rng, g.N * g.K * g.OutH * g.OutW);
            var geo = g;
            // each pass on the reference and on the fast backend, where the forced path runs it
            void Check(Conv2dPass pass, string what, int length, Action<Backend, Storage> run)
            {
                if (!Conv2dRouting.Supports(path, pass, geo, isa)) return;
                Assert.Equal(path, fast.ChooseConv2dPath(pass, geo));
                var (expected, actual) = (Output(length), Output(length));
                run(Ref, expected);
                run(fast, actual);
                Agree(expected, actual, $"{what} {Conv2dPathNames.Of(path)} {geo}");
            }
            Check(Conv2dPass.Forward, "forward + relu", dy.Length, (b, y) => b.Conv2dForwardRelu(x, w, bias, y, geo));
            Check(Conv2dPass.ForwardPacked, "packed forward", dy.Length, (b, y) => b.Conv2dForwardPacked(x, b.PackConv2dWeight(w, geo), bias, y, geo, relu: false));
            Check(Conv2dPass.BackwardInput, "backward-input", x.Length, (b, dx) => b.Conv2dBackwardInput(dy, w, dx, geo));
            Check(Conv2dPass.BackwardWeight, "backward-weight", w.Length, (b, dw) => b.Conv2dBackwardWeight(x, dy, dw, geo));
        }
    }

    [Fact]
    public void EveryPathRunsSomeShapeHere()
    {
        // on an AVX2 + FMA machine every path supports at least one pass of the shapes above
        var isa = Conv2dIsa.Avx2Fma;
        foreach (var path in Enum.GetValues<Conv2dPath>())
            Assert.Contains(Shapes, g => Enum.GetValues<Conv2dPass>().Any(pass => Conv2dRouting.Supports(path, pass, g, isa)));
    }
}
