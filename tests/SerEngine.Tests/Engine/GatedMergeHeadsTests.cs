using SerEngine.Autograd;
using SerEngine.Backends;
using SerEngine.Backends.Cpu;

namespace SerEngine.Tests.Engine;

/// <summary>
/// Ops.GatedMergeHeads against the graph it replaced in FocusCalibrationAttention (o times the gates broadcast, then
/// the heads merged by a permute): y, dO and dg bit for bit on both CPU backends, the fast one on 1, 2 and 3 threads
/// (rows of T·D of 1, under 32 and over, odd D: every loop's vector steps and tails and each SumTo path the
/// composition took), plus finite-difference gradients and the shape errors. Run with DOTNET_EnableAVX512=0 for the
/// 256-bit forms of the primitives it is compared with.
/// </summary>
public class GatedMergeHeadsTests
{
    public static TheoryData<int, int, int, int> Sizes => new()
    {
        { 32, 4, 15, 64 }, { 2, 3, 1, 1 }, { 2, 2, 3, 5 }, { 1, 3, 4, 8 }, { 3, 2, 5, 7 }, { 2, 3, 1, 33 }, { 1, 5, 9, 13 }, { 4, 1, 2, 40 },
    };

    private static (float[] Y, float[] DO, float[] Dg) Run(Backend be, int n, int h, int t, int d, bool fused)
    {
        var rng = new Generator((ulong)(n * 1000 + h * 100 + t * 10 + d));
        var o = Tensor.RandomNormal(new Shape(n, h, t, d), rng, backend: be);
        var g = Tensor.RandomNormal(new Shape(n, h), rng, backend: be);
        var dy = Tensor.RandomNormal(new Shape(n, t, h * d), rng, backend: be);
        o.RequiresGrad = true;
        g.RequiresGrad = true;
        var y = fused ? Ops.GatedMergeHeads(o, g) : (o * g.Reshape(n, h, 1, 1)).Permute(0, 2, 1, 3).Reshape(n, t, h * d);
        Graph.Backward([y], [dy]);
        return (y.ToArray(), o.Grad!.ToArray(), g.Grad!.ToArray());
    }

    [Theory]
    [MemberData(nameof(Sizes))]
    public void IsTheGraphItReplacesBitForBit(int n, int h, int t, int d)
    {
        foreach (var be in new Backend[] { new CpuReferenceBackend(), new CpuBackend(1), new CpuBackend(2), new CpuBackend(3) })
        {
            var composed = Run(be, n, h, t, d, fused: false);
            var fused = Run(be, n, h, t, d, fused: true);
            string at = $"{be.Name} [{n},{h},{t},{d}]";
            FastAgreement.SameBits(composed.Y, fused.Y, $"{at} y");
            FastAgreement.SameBits(composed.DO, fused.DO, $"{at} dO");
            FastAgreement.SameBits(composed.Dg, fused.Dg, $"{at} dg");
        }
    }

    [Theory]
    [MemberData(nameof(GradCheck.CpuBackends), MemberType = typeof(GradCheck))]
    public void GradientsMatchFiniteDifferences(string backend)
    {
        var be = BackendRegistry.Get(backend);
        foreach (var (n, h, t, d) in new[] { (1, 1, 1, 1), (2, 3, 2, 5), (1, 2, 4, 9) })
        {
            var rng = new Generator(3);
            var o = Tensor.RandomNormal(new Shape(n, h, t, d), rng, backend: be);
            var g = Tensor.RandomNormal(new Shape(n, h), rng, backend: be);
            o.RequiresGrad = true;
            g.RequiresGrad = true;
            GradCheck.Check(v => Ops.GatedMergeHeads(v[0], v[1]), [o, g], eps: 1e-2, rtol: 2e-2);
        }
    }

    [Fact]
    public void ShapeErrorsNameTheOperands()
    {
        var be = BackendRegistry.Get("cpu-reference");
        var e = Assert.Throws<ArgumentException>(() => Ops.GatedMergeHeads(Tensor.Zeros(new Shape(2, 3, 4), be), Tensor.Zeros(new Shape(2, 3), be)));
        Assert.Contains("o must be [N, H, T, D]", e.Message, StringComparison.Ordinal);
        e = Assert.Throws<ArgumentException>(() => Ops.GatedMergeHeads(Tensor.Zeros(new Shape(2, 3, 4, 5), be), Tensor.Zeros(new Shape(3, 2), be)));
        Assert.Contains("g must be [2, 3]", e.Message, StringComparison.Ordinal);
    }
}
