using SerEngine.Autograd;
using SerEngine.Backends;
using SerEngine.Backends.Cpu;
using static SerEngine.Tests.Engine.FastAgreement;

namespace SerEngine.Tests.Engine;

/// <summary>
/// Fused primitives of the fast <c>cpu</c> backend against the <c>cpu-reference</c> backend (whose
/// fused primitives are the unfused ones run one after the other): conv2d + bias + ReLU on each of
/// the fast conv paths (direct, channel-vector, shifted, GEMM), norm-wise to 1e-4 relative, and the Conv2dRelu op's
/// gradients by finite differences.
/// </summary>
public class CpuFastConv2dFusionTests
{
    private static readonly Backend Ref = BackendRegistry.Get("cpu-reference");

    // N, C, H, W, K, R, S, stride, padding (top, bottom, left, right), dilation
    private static readonly Conv2dGeometry[] Geometries =
    [
        new(1, 1, 26, 63, 8, 10, 2, 1, 1, 4, 4, 0, 0, 1, 1),   // conv1a at batch 1 (direct path)
        new(2, 1, 26, 20, 8, 2, 8, 1, 1, 0, 0, 3, 3, 1, 1),    // conv1b (direct path), two images
        new(1, 1, 12, 14, 3, 3, 2, 2, 1, 1, 2, 1, 0, 2, 3),    // one channel, dilated, K not a multiple of 4
        new(1, 16, 25, 62, 32, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1),  // conv2 at batch 1 (shifted path)
        new(1, 48, 6, 15, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1),   // conv4 at batch 1
        new(3, 5, 9, 11, 7, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1),     // several images, K not a multiple of 6
        new(4, 9, 11, 10, 13, 3, 2, 1, 1, 2, 0, 1, 3, 2, 3),   // packed weights, dilation, asymmetric padding
        new(1, 3, 17, 15, 4, 3, 3, 2, 2, 1, 1, 2, 2, 2, 2),    // stride 2 (GEMM path)
        new(2, 8, 7, 9, 32, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1),     // two images, 32 output channels (channel-vector path)
        new(2, 3, 19, 21, 48, 5, 5, 2, 3, 2, 2, 1, 3, 1, 1),   // channel-vector path at stride 2×3, asymmetric padding
        new(1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1),      // all size 1
    ];

    [Fact]
    public void Conv2dForwardReluAgreesWithConvThenRelu()
    {
        var rng = new Generator(31);
        CpuBackend[] configs = [new() { Threads = 2 }, new() { Threads = 1 }, new() { Threads = 3 }];
        foreach (var g in Geometries)
        {
            int outputs = g.N * g.K * g.OutH * g.OutW;
            var x = Random(rng, g.N * g.C * g.H * g.W);
            var w = Random(rng, g.K * g.C * g.R * g.S);
            var bias = Random(rng, g.K);
            var (yr, ybr) = (Output(outputs), Output(outputs));
            Ref.Conv2dForwardRelu(x, w, null, yr, g);
            Ref.Conv2dForwardRelu(x, w, bias, ybr, g);
            if (outputs > 1)
            {
                var expected = Read(ybr);
                Assert.Contains(expected, v => v == 0f);  // both signs occur, so the rectifier is exercised
                Assert.Contains(expected, v => v > 0f);
            }
            Assert.All(Read(yr), v => Assert.True(v >= 0f));
            foreach (var fast in configs)
            {
                string what = $"t{fast.Threads} {g}";
                if (g.N == 2 && g.K % 16 == 0) Assert.True(fast.ChooseConv2dPath(Conv2dPass.Forward, g) == Conv2dPath.ChannelVector, $"{g} should run the channel-vector kernel");
                var (yf, ybf) = (Output(outputs), Output(outputs));
                fast.Conv2dForwardRelu(x, w, null, yf, g);
                Agree(yr, yf, $"conv + relu {what}");
                fast.Conv2dForwardRelu(x, w, bias, ybf, g);
                Agree(ybr, ybf, $"conv + bias + relu {what}");
            }
        }
    }

    [Fact]
    public void Conv2dForwardReluMapsNaNToZeroAsTheReferenceRelu()
    {
        var g = new Conv2dGeometry(1, 2, 5, 7, 3, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1);
        var rng = new Generator(32);
        var xs = new float[g.N * g.C * g.H * g.W];
        for (int i = 0; i < xs.Length; i++) xs[i] = rng.NextNormal();
        xs[17] = float.NaN;
        var x = Ref.Allocate(xs.Length, DType.Float32);
        Ref.Write(x, xs);
        var w = Random(rng, g.K * g.C * g.R * g.S);
        int outputs = g.N * g.K * g.OutH * g.OutW;
        var (yr, yf) = (Output(outputs), Output(outputs));
        Ref.Conv2dForwardRelu(x, w, null, yr, g);
        new CpuBackend { Threads = 2 }.Conv2dForwardRelu(x, w, null, yf, g);
        Assert.Equal(Read(yr), Read(yf), (a, b) => a == b || Math.Abs(a - b) <= 1e-4f * (1 + Math.Abs(a)));
        Assert.Contains(Read(yr), v => v == 0f);
    }

    [Theory]
    [MemberData(nameof(GradCheck.CpuBackends), MemberType = typeof(GradCheck))]
    public void Conv2dReluGradients(string backendName)
    {
        var be = BackendRegistry.Get(backendName);
        var rng = new Generator(33);
        var x = GradCheck.Param(be, rng, 2, 3, 6, 7);
        var w = GradCheck.Param(be, rng, 4, 3, 3, 2);
        var b = GradCheck.Param(be, rng, 4);
        GradCheck.Check(_ => Ops.Conv2dRelu(x, w, b, (1, 1), (1, 0, 2, 1), (1, 1)), [x, w, b]);
        GradCheck.Check(_ => Ops.Conv2dRelu(x, w, null, (2, 1), (0, 1, 1, 1), (1, 2)), [x, w]);
    }

    [Theory]
    [MemberData(nameof(GradCheck.CpuBackends), MemberType = typeof(GradCheck))]
    public void Conv2dReluEqualsConv2dThenRelu(string backendName)
    {
        var be = BackendRegistry.Get(backendName);
        var rng = new Generator(34);
        var x = GradCheck.Param(be, rng, 1, 16, 12, 31);
        var w = GradCheck.Param(be, rng, 24, 16, 3, 3);
        var b = GradCheck.Param(be, rng, 24);
        var fused = Ops.Conv2dRelu(x, w, b, (1, 1), (1, 1, 1, 1), (1, 1));
        var plain = Ops.Conv2d(x, w, b, (1, 1), (1, 1, 1, 1), (1, 1)).Relu();
        var (f, p) = (fused.ToArray(), plain.ToArray());
        for (int i = 0; i < p.Length; i++) Assert.True(Math.Abs(f[i] - p[i]) <= 1e-5f * (1 + Math.Abs(p[i])), $"element {i}: {f[i]} vs {p[i]}");
        var seed = Tensor.RandomNormal(fused.Shape, rng, backend: be);
        (fused * seed).Sum().Backward();
        var (dxFused, dwFused) = (x.Grad!.ToArray(), w.Grad!.ToArray());
        x.ZeroGrad();
        w.ZeroGrad();
        b.ZeroGrad();
        (plain * seed).Sum().Backward();
        Assert.Equal(x.Grad!.ToArray(), dxFused, (a, c) => Math.Abs(a - c) <= 1e-4f * (1 + Math.Abs(a)));
        Assert.Equal(w.Grad!.ToArray(), dwFused, (a, c) => Math.Abs(a - c) <= 1e-4f * (1 + Math.Abs(a)));
    }
}
