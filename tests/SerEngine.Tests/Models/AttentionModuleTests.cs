using SerEngine.Backends;
using SerEngine.Models.Attention;

namespace SerEngine.Tests.Models;

public class AttentionModuleTests
{
    public static TheoryData<string> Backends => GradCheck.CpuBackends;

    [Theory]
    [MemberData(nameof(Backends))]
    public void AttentionPoolGradientsWithAMask(string backendName)
    {
        var be = BackendRegistry.Get(backendName);
        var rng = new Generator(21);
        var pool = new AttentionPool(5, 0.3f, rng, be);
        var a = GradCheck.Param(be, rng, 2, 4, 5);
        var mask = Tensor.FromArray([1, 1, 1, 1, 1, 1, 0, 0], new Shape(2, 4), be);
        Tensor[] all = [a, .. pool.Parameters()];
        GradCheck.Check(_ => pool.Forward(a, mask).Context, all);
        GradCheck.Check(_ => pool.Forward(a, mask).Alpha, all);

        var alpha = pool.Forward(a, mask).Alpha.ToArray();
        Assert.Equal(0f, alpha[6]);
        Assert.Equal(0f, alpha[7]);
        Assert.Equal(1.0, alpha[4] + alpha[5], 5);
    }

    [Theory]
    [InlineData("cpu-reference", true, true)]
    [InlineData("cpu-reference", false, false)]
    [InlineData("cpu", true, false)]
    [InlineData("cpu", false, true)]
    public void FocusCalibrationAttentionGradients(string backendName, bool focus, bool calibration)
    {
        var be = BackendRegistry.Get(backendName);
        var rng = new Generator(22);
        var attn = new FocusCalibrationAttention(6, 2, 3, focus, calibration, dropout: 0f, rng, be);
        var x = GradCheck.Param(be, rng, 2, 5, 6);
        Tensor[] all = [x, .. attn.Parameters()];
        GradCheck.Check(_ => attn.Forward(x).Y, all, eps: 5e-3);
        var (_, internals) = attn.Forward(x);
        Assert.Equal(new Shape(2, 2, 5, 5), internals.Attention.Shape);
        Assert.Equal(focus, internals.Centres is not null);
        Assert.Equal(calibration, internals.HeadWeights is not null);
        if (focus)
            Assert.All(internals.Centres!.ToArray(), p => Assert.InRange(p, 0f, 5f));
    }
}
