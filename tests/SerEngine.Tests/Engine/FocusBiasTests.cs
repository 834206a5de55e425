using SerEngine.Backends;

namespace SerEngine.Tests.Engine;

/// <summary>
/// Ops.FocusBias: the same numbers as the composition it replaced in FocusCalibrationAttention
/// (positions − P, squared, over W², times −2) bit for bit, finite-difference gradients in both
/// inputs on the CPU backends, and its shape errors.
/// </summary>
public class FocusBiasTests
{
    private static (Tensor Centres, Tensor Widths) Inputs(Backend be, int n, int h, int t, bool requiresGrad)
    {
        var rng = new Generator(11);
        var z = Tensor.RandomNormal(new Shape(n, h, t), rng, backend: be).ToArray();
        var u = Tensor.RandomNormal(new Shape(n, h, t), rng, backend: be).ToArray();
        var centres = Tensor.FromArray([.. z.Select(v => t / (1f + MathF.Exp(-v)))], new Shape(n, h, t), be);
        var widths = Tensor.FromArray([.. u.Select(v => 1f + t / (1f + MathF.Exp(-v)))], new Shape(n, h, t), be);
        centres.RequiresGrad = requiresGrad;
        widths.RequiresGrad = requiresGrad;
        return (centres, widths);
    }

    [Theory]
    [MemberData(nameof(GradCheck.CpuBackends), MemberType = typeof(GradCheck))]
    public void ForwardIsTheCompositionItReplacesBitForBit(string backend)
    {
        var be = BackendRegistry.Get(backend);
        const int n = 2, h = 3, t = 15;
        var (centres, widths) = Inputs(be, n, h, t, requiresGrad: false);
        var positions = Tensor.FromArray([.. Enumerable.Range(0, t).Select(j => (float)j)], new Shape(1, 1, 1, t), be);
        var composed = Ops.Square(positions - centres.Reshape(n, h, t, 1)) / Ops.Square(widths.Reshape(n, h, t, 1)) * -2f;
        var fused = Ops.FocusBias(centres, widths);
        Assert.Equal(new Shape(n, h, t, t), fused.Shape);
        Assert.Equal(composed.ToArray(), fused.ToArray());
    }

    [Theory]
    [MemberData(nameof(GradCheck.CpuBackends), MemberType = typeof(GradCheck))]
    public void GradientsMatchFiniteDifferences(string backend)
    {
        var be = BackendRegistry.Get(backend);
        foreach (var (n, h, t) in new[] { (1, 1, 1), (2, 3, 15), (1, 2, 7) })
        {
            var (centres, widths) = Inputs(be, n, h, t, requiresGrad: true);
            GradCheck.Check(x => Ops.FocusBias(x[0], x[1]), [centres, widths], eps: 1e-2, rtol: 2e-2);
        }
    }

    [Fact]
    public void ShapeErrorsNameTheOperands()
    {
        var be = BackendRegistry.Get("cpu-reference");
        var p = Tensor.Zeros(new Shape(2, 3), be);
        var e = Assert.Throws<ArgumentException>(() => Ops.FocusBias(p, Tensor.Ones(new Shape(2, 4), be)));
        Assert.Contains("centres [2, 3] and widths [2, 4] must have one shape", e.Message, StringComparison.Ordinal);
        e = Assert.Throws<ArgumentException>(() => Ops.FocusBias(Tensor.Zeros(new Shape(), be), Tensor.Zeros(new Shape(), be)));
        Assert.Contains("need a query axis", e.Message, StringComparison.Ordinal);
    }
}
