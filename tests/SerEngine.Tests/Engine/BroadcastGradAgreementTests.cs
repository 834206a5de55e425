using SerEngine.Backends;
using SerEngine.Nn;

namespace SerEngine.Tests.Engine;

/// <summary>
/// The ops a per-channel statistic is built from (a sum over batch and space kept as [1, C, 1, 1],
/// then broadcast back against [N, C, H, W]) and the masked batch norm made of them: the fast
/// backend's values and gradients agree with the reference at a real layer's size.
/// </summary>
public class BroadcastGradAgreementTests
{
    private static readonly Shape Channel = new(1, 96, 1, 1);

    public static TheoryData<string, int> Cases
    {
        get
        {
            var data = new TheoryData<string, int>();
            foreach (var op in new[] { "sum", "sub", "mul", "div", "add", "mask", "relu", "maskedbn", "bnchain" })
                foreach (int w in new[] { 15, 16, 33 }) data.Add(op, w);
            return data;
        }
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void FastAgreesWithReference(string op, int width)
    {
        var expected = Run(op, width, FastAgreement.Ref);
        var actual = Run(op, width, BackendRegistry.Get("cpu"));
        for (int i = 0; i < expected.Length; i++) FastAgreement.Agree(expected[i], actual[i], $"{op} output/gradient {i}");
    }

    /// <summary>The output, then the gradient of every input, of Σ(op(...) · R) for a fixed random R.</summary>
    private static float[][] Run(string op, int width, Backend be)
    {
        var rng = new Generator(11);
        var x = Tensor.RandomNormal(new Shape(16, 96, 11, width), rng, backend: be);
        var c = Tensor.RandomNormal(Channel, rng, mean: 2f, backend: be);
        x.RequiresGrad = c.RequiresGrad = true;
        int[] valid = [.. new[] { 15, 9, 12, 15, 4, 7, 15, 15, 10, 11, 3, 15, 14, 8, 6, 13 }.Select(v => v * width / 15)];
        var bn = (BatchNorm2d)new BatchNorm2d(96, backend: be).Train();
        var y = op switch
        {
            "sum" => Ops.Sum(x, [0, 2, 3], keepDim: true),
            "sub" => Ops.Sub(x, c),
            "mul" => Ops.Mul(x, c),
            "div" => Ops.Div(x, c),
            "add" => Ops.Add(x, c),
            "mask" => Ops.Mul(x, Masks.Columns(valid, width, be)),
            "relu" => Ops.Relu(Ops.Mul(x, Masks.Columns(valid, width, be))),
            "bnchain" => Ops.Relu(Ops.Mul(bn.Forward(Ops.Mul(x, Masks.Columns(valid, width, be)), valid), Masks.Columns(valid, width, be))),
            _ => bn.Forward(Ops.Mul(x, Masks.Columns(valid, width, be)), valid),
        };
        var r = Tensor.RandomNormal(y.Shape, new Generator(5), backend: be);
        Ops.Sum(Ops.Mul(y, r)).Backward();
        var outputs = new List<float[]> { y.ToArray(), x.Grad!.ToArray() };
        if (c.Grad is { } gc) outputs.Add(gc.ToArray());
        if (op is "maskedbn" or "bnchain") outputs.AddRange([bn.Weight.Grad!.ToArray(), bn.Bias.Grad!.ToArray()]);
        return [.. outputs];
    }
}
