using SerEngine.Autograd;
using SerEngine.Backends;
using SerEngine.Backends.Cpu;

namespace SerEngine.Tests.Engine;

/// <summary>
/// Ops.HeadDot against the graph it replaced in FocusCalibrationAttention (split the heads with a permute, multiply
/// by u broadcast, sum the last axis): y, dx and du bit for bit on both CPU backends, the fast one on 1, 2 and 3
/// threads (D of 1, under 8, under 32, 64 and odd sizes: every loop's vector steps and tails, and each SumTo path
/// the composition took), plus finite-difference gradients and the shape errors. Run with DOTNET_EnableAVX512=0
/// for the 256-bit forms of the primitives it is compared with.
/// </summary>
public class HeadDotTests
{
    public static TheoryData<int, int, int, int> Sizes => new()
    {
        { 32, 15, 4, 64 }, { 2, 3, 2, 1 }, { 1, 5, 3, 7 }, { 3, 4, 2, 9 }, { 2, 7, 3, 31 }, { 2, 5, 3, 32 }, { 1, 9, 2, 45 }, { 4, 1, 5, 40 },
    };

    private static (Tensor X, Tensor U, Tensor Dy) Inputs(Backend be, int n, int t, int h, int d)
    {
        var rng = new Generator((ulong)(n * 1000 + t * 100 + h * 10 + d));
        var x = Tensor.RandomNormal(new Shape(n, t, h, d), rng, backend: be);
        var u = Tensor.RandomNormal(new Shape(h, d), rng, backend: be);
        var dy = Tensor.RandomNormal(new Shape(n, h, t), rng, backend: be);
        x.RequiresGrad = true;
        u.RequiresGrad = true;
        return (x, u, dy);
    }

    private static (float[] Y, float[] Dx, float[] Du) Run(Backend be, int n, int t, int h, int d, bool fused)
    {
        var (x, u, dy) = Inputs(be, n, t, h, d);
        // used twice, as the model does (its centres and widths): the two gradients of x are added by the graph
        var y = fused ? Ops.HeadDot(x, u) : (x.Permute(0, 2, 1, 3) * u.Reshape(1, h, 1, d)).Sum([3]);
        var y2 = fused ? Ops.HeadDot(x, u) : (x.Permute(0, 2, 1, 3) * u.Reshape(1, h, 1, d)).Sum([3]);
        Graph.Backward([y, y2], [dy, dy * 0.5f]);
        return (y.ToArray(), x.Grad!.ToArray(), u.Grad!.ToArray());
    }

    [Theory]
    [MemberData(nameof(Sizes))]
    public void IsTheGraphItReplacesBitForBit(int n, int t, int h, int d)
    {
        foreach (var be in new Backend[] { new CpuReferenceBackend(), new CpuBackend(1), new CpuBackend(2), new CpuBackend(3) })
        {
            var composed = Run(be, n, t, h, d, fused: false);
            var fused = Run(be, n, t, h, d, fused: true);
            string at = $"{be.Name} [{n},{t},{h},{d}]";
            FastAgreement.SameBits(composed.Y, fused.Y, $"{at} y");
            FastAgreement.SameBits(composed.Dx, fused.Dx, $"{at} dx");
            FastAgreement.SameBits(composed.Du, fused.Du, $"{at} du");
        }
    }

    [Theory]
    [MemberData(nameof(GradCheck.CpuBackends), MemberType = typeof(GradCheck))]
    public void GradientsMatchFiniteDifferences(string backend)
    {
        var be = BackendRegistry.Get(backend);
        foreach (var (n, t, h, d) in new[] { (1, 1, 1, 1), (2, 3, 2, 5), (1, 4, 3, 33) })
        {
            var (x, u, _) = Inputs(be, n, t, h, d);
            GradCheck.Check(v => Ops.HeadDot(v[0], v[1]), [x, u], eps: 1e-2, rtol: 2e-2);
        }
    }

    [Fact]
    public void ShapeErrorsNameTheOperands()
    {
        var be = BackendRegistry.Get("cpu-reference");
        var e = Assert.Throws<ArgumentException>(() => Ops.HeadDot(Tensor.Zeros(new Shape(2, 3, 4), be), Tensor.Zeros(new Shape(3, 4), be)));
        Assert.Contains("x must be [N, T, H, D]", e.Message, StringComparison.Ordinal);
        e = Assert.Throws<ArgumentException>(() => Ops.HeadDot(Tensor.Zeros(new Shape(2, 3, 4, 5), be), Tensor.Zeros(new Shape(4, 6), be)));
        Assert.Contains("u must be [4, 5]", e.Message, StringComparison.Ordinal);
    }
}
