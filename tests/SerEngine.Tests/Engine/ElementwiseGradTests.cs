using SerEngine.Backends;

namespace SerEngine.Tests.Engine;

public class ElementwiseGradTests
{
    public static TheoryData<string> Backends => GradCheck.CpuBackends;

    [Theory]
    [MemberData(nameof(Backends))]
    public void BinaryOpsWithBroadcasting(string backendName)
    {
        var be = BackendRegistry.Get(backendName);
        var rng = new Generator(1);
        int[][][] shapes =
        [
            [[3, 4], [3, 4]],
            [[2, 3, 5], [5]],
            [[2, 1, 5], [1, 4, 1]],
            [[1], [3, 1, 2]],
            [[7, 1], [1]],
        ];
        foreach (var pair in shapes)
        {
            var a = GradCheck.Param(be, rng, pair[0]);
            var b = GradCheck.Param(be, rng, pair[1]);
            // keep b away from zero for the division
            var bPos = Tensor.FromArray(b.ToArray().Select(v => Math.Sign(v) * (0.5f + Math.Abs(v))).ToArray(), b.Shape, be);
            bPos.RequiresGrad = true;
            GradCheck.Check(x => x[0] + x[1], [a, b]);
            GradCheck.Check(x => x[0] - x[1], [a, b]);
            GradCheck.Check(x => x[0] * x[1], [a, b]);
            GradCheck.Check(x => x[0] / x[1], [a, bPos], eps: 1e-3);
        }
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public void UnaryOps(string backendName)
    {
        var be = BackendRegistry.Get(backendName);
        var rng = new Generator(2);
        foreach (var dims in new[] { new[] { 1 }, new[] { 3, 5 }, new[] { 2, 1, 7 } })
        {
            var x = GradCheck.Param(be, rng, dims);
            // values away from relu's kink at 0
            var away = Tensor.FromArray(x.ToArray().Select(v => v + 0.2f * Math.Sign(v)).ToArray(), x.Shape, be);
            away.RequiresGrad = true;
            var pos = Tensor.FromArray(x.ToArray().Select(v => 0.5f + Math.Abs(v)).ToArray(), x.Shape, be);
            pos.RequiresGrad = true;
            GradCheck.Check(t => t[0].Relu(), [away]);
            GradCheck.Check(t => t[0].Tanh(), [x]);
            GradCheck.Check(t => t[0].Sigmoid(), [x]);
            GradCheck.Check(t => t[0].Exp(), [x], eps: 1e-3);
            GradCheck.Check(t => t[0].Log(), [pos], eps: 1e-3);
            GradCheck.Check(t => -t[0], [x]);
            GradCheck.Check(t => Ops.Square(t[0]), [x]);
            GradCheck.Check(t => Ops.Sqrt(t[0]), [pos], eps: 1e-3);
            GradCheck.Check(t => t[0] * 2.5f + 1f, [x]);
        }
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public void ShapeOpsAndReductions(string backendName)
    {
        var be = BackendRegistry.Get(backendName);
        var rng = new Generator(3);
        var x = GradCheck.Param(be, rng, 2, 3, 4);
        GradCheck.Check(t => t[0].Sum(), [x]);
        GradCheck.Check(t => t[0].Mean([1]), [x]);
        GradCheck.Check(t => t[0].Sum([0, 2], keepDim: true), [x]);
        GradCheck.Check(t => t[0].Mean([-1], keepDim: false), [x]);
        GradCheck.Check(t => t[0].Reshape(4, -1), [x]);
        GradCheck.Check(t => Ops.Flatten(t[0], 1), [x]);
        GradCheck.Check(t => t[0].Permute(2, 0, 1), [x]);
        GradCheck.Check(t => t[0].Transpose(0, 2), [x]);
        GradCheck.Check(t => Ops.Narrow(t[0], 2, 1, 2), [x]);
        var y = GradCheck.Param(be, rng, 2, 1, 4);
        GradCheck.Check(t => Ops.Concat([t[0], t[1], t[0]], 1), [x, y]);
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public void MatMulAndLinear(string backendName)
    {
        var be = BackendRegistry.Get(backendName);
        var rng = new Generator(4);
        GradCheck.Check(t => t[0].MatMul(t[1]), [GradCheck.Param(be, rng, 3, 5), GradCheck.Param(be, rng, 5, 2)]);
        GradCheck.Check(t => t[0].MatMul(t[1]), [GradCheck.Param(be, rng, 2, 3, 4, 5), GradCheck.Param(be, rng, 2, 3, 5, 1)]);
        GradCheck.Check(t => t[0].MatMul(t[1]), [GradCheck.Param(be, rng, 2, 1, 1, 3), GradCheck.Param(be, rng, 3, 2)]);
        GradCheck.Check(t => t[0].MatMul(t[1]), [GradCheck.Param(be, rng, 2, 1, 4, 3), GradCheck.Param(be, rng, 1, 3, 3, 2)]);
        GradCheck.Check(t => Ops.Linear(t[0], t[1], t[2]), [GradCheck.Param(be, rng, 2, 5, 7), GradCheck.Param(be, rng, 4, 7), GradCheck.Param(be, rng, 4)]);
        GradCheck.Check(t => Ops.Linear(t[0], t[1]), [GradCheck.Param(be, rng, 1, 1), GradCheck.Param(be, rng, 3, 1)]);
    }

    [Fact]
    public void TensorUsedTwiceGetsBothContributions()
    {
        var x = Tensor.FromArray([1f, 2f, 3f], new Shape(3));
        x.RequiresGrad = true;
        var y = (x * x + x).Sum(); // dy/dx = 2x + 1
        y.Backward();
        Assert.Equal([3f, 5f, 7f], x.Grad!.ToArray());
        // a second backward accumulates into the same gradient
        (x * 2f).Sum().Backward();
        Assert.Equal([5f, 7f, 9f], x.Grad!.ToArray());
    }

    [Fact]
    public void LeafGradientsTakenWithoutACopyStayTheirOwn()
    {
        // one gradient handed to two leaves (the sum's backward), a seed reaching a leaf directly, a
        // view of a gradient: each leaf's Grad must be its own buffer, so that accumulating into one
        // changes nothing else; and it must outlive the step's scope
        var a = Tensor.FromArray([1f, 2f, 3f], new Shape(3));
        var b = Tensor.FromArray([4f, 5f, 6f], new Shape(3));
        var c = Tensor.FromArray([1f, 1f, 1f, 1f], new Shape(2, 2));
        a.RequiresGrad = b.RequiresGrad = c.RequiresGrad = true;
        var seed = Tensor.FromArray([10f, 20f, 30f], new Shape(3));
        using (TensorScope.Begin())
        {
            (a + b).Backward(seed);
            a.Backward(seed);
            (c.Reshape(4) * 3f).Sum().Backward();
        }
        Assert.Equal([20f, 40f, 60f], a.Grad!.ToArray());
        Assert.Equal([10f, 20f, 30f], b.Grad!.ToArray());
        Assert.Equal([10f, 20f, 30f], seed.ToArray());
        Assert.Equal([3f, 3f, 3f, 3f], c.Grad!.ToArray());
        using (TensorScope.Begin()) (a * 1f + b * 2f).Sum().Backward();
        Assert.Equal([21f, 41f, 61f], a.Grad!.ToArray());
        Assert.Equal([12f, 22f, 32f], b.Grad!.ToArray());
        Assert.Equal([10f, 20f, 30f], seed.ToArray());

        var d = Tensor.FromArray([1f, 2f], new Shape(2));
        var e = Tensor.FromArray([3f, 4f], new Shape(2));
        d.RequiresGrad = e.RequiresGrad = true;
        using (TensorScope.Begin()) (d + e).Sum().Backward();
        using (TensorScope.Begin()) (d * 2f).Sum().Backward();
        Assert.Equal([3f, 3f], d.Grad!.ToArray());
        Assert.Equal([1f, 1f], e.Grad!.ToArray());
    }

    [Fact]
    public void DetachAndNoGradStopGradients()
    {
        var x = Tensor.FromArray([1f, -2f], new Shape(2));
        x.RequiresGrad = true;
        var y = (x * x.Detach()).Sum();
        y.Backward();
        Assert.Equal([1f, -2f], x.Grad!.ToArray()); // only one factor is tracked
        using (Autograd.Graph.NoGrad())
        {
            Assert.False((x * x).RequiresGrad);
        }
    }

    [Fact]
    public void ShapeErrorsNameBothShapes()
    {
        var a = Tensor.Zeros(new Shape(2, 3));
        var b = Tensor.Zeros(new Shape(4, 3));
        var e = Assert.Throws<ArgumentException>(() => a + b);
        Assert.Contains("[2, 3]", e.Message);
        Assert.Contains("[4, 3]", e.Message);
        var m = Assert.Throws<ArgumentException>(() => a.MatMul(b));
        Assert.Contains("[4, 3]", m.Message);
    }
}
