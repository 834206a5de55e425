using SerEngine.Autograd;
using SerEngine.Backends;

namespace SerEngine.Tests.Engine;

/// <summary>
/// The <c>into</c> overloads of Ops (Linear, Add, Mul, Sigmoid): the bits of the allocating op written into the given
/// tensor, on both CPU backends; a destination of the wrong shape, dtype or backend is refused with the op's name, and so
/// is a write that would drop a gradient (tracking on, an input requiring one).
/// </summary>
public class OpsIntoTests
{
    [Theory]
    [InlineData("cpu")]
    [InlineData("cpu-reference")]
    public void EachWritesTheBitsOfItsAllocatingOp(string backendName)
    {
        var be = BackendRegistry.Get(backendName);
        var rng = new Generator(7);
        using var scope = TensorScope.Begin();
        using var _ = Graph.NoGrad();
        Tensor x = Tensor.RandomNormal(new Shape(3, 37), rng, backend: be), w = Tensor.RandomNormal(new Shape(5, 37), rng, backend: be);
        Tensor b = Tensor.RandomNormal(new Shape(5), rng, backend: be), o = Tensor.RandomNormal(new Shape(3, 5, 4, 7), rng, backend: be);
        Tensor g = Tensor.RandomNormal(new Shape(3, 5, 1, 1), rng, backend: be);
        var y = Ops.Linear(x, w, b, into: Tensor.Empty(new Shape(3, 5), backend: be));
        Assert.Equal(Ops.Linear(x, w, b).ToArray(), y.ToArray());
        Assert.Equal(Ops.Sigmoid(y).ToArray(), Ops.Sigmoid(y, into: Tensor.Empty(new Shape(3, 5), backend: be)).ToArray());
        Assert.Equal(Ops.Add(y, b).ToArray(), Ops.Add(y, b, into: Tensor.Empty(new Shape(3, 5), backend: be)).ToArray());
        Assert.Equal(Ops.Mul(o, g).ToArray(), Ops.Mul(o, g, into: Tensor.Empty(new Shape(3, 5, 4, 7), backend: be)).ToArray());
        Assert.Equal(Ops.Mul(g, o).ToArray(), Ops.Mul(g, o, into: Tensor.Empty(new Shape(3, 5, 4, 7), backend: be)).ToArray());
        var inPlace = o.Clone();
        Assert.Same(inPlace, Ops.Mul(inPlace, g, into: inPlace)); // into may be an operand of an elementwise op
        Assert.Equal(Ops.Mul(o, g).ToArray(), inPlace.ToArray());
    }

    [Fact]
    public void AWrongDestinationIsRefused()
    {
        var be = BackendRegistry.Get("cpu");
        var rng = new Generator(9);
        using var scope = TensorScope.Begin();
        using var _ = Graph.NoGrad();
        Tensor x = Tensor.RandomNormal(new Shape(2, 8), rng, backend: be), w = Tensor.RandomNormal(new Shape(3, 8), rng, backend: be);
        Tensor o = Tensor.RandomNormal(new Shape(2, 3), rng, backend: be);
        Assert.Contains("linear", Assert.Throws<ArgumentException>(() => Ops.Linear(x, w, null, into: Tensor.Empty(new Shape(2, 4), backend: be))).Message);
        Assert.Contains("linear", Assert.Throws<ArgumentException>(() => Ops.Linear(x, Tensor.RandomNormal(new Shape(8, 8), rng, backend: be), null, into: x)).Message);
        Assert.Throws<ArgumentException>(() => Ops.Mul(o, o, into: Tensor.Empty(new Shape(3, 2), backend: be)));
        Assert.Throws<ArgumentException>(() => Ops.Mul(o, Tensor.RandomNormal(new Shape(2, 1), rng, backend: be), into: Tensor.Empty(new Shape(1, 3), backend: be)));
        Assert.Throws<ArgumentException>(() => Ops.Add(o, o, into: Tensor.Empty(new Shape(2, 3), DType.Int32, be)));
        Assert.Throws<ArgumentException>(() => Ops.Add(o, o, into: Tensor.Empty(new Shape(2, 3), backend: BackendRegistry.Get("cpu-reference"))));
        Assert.Throws<ArgumentException>(() => Ops.Sigmoid(o, into: Tensor.Empty(new Shape(3, 2), backend: be)));
    }

    [Fact]
    public void AWriteThatWouldDropAGradientIsRefused()
    {
        var be = BackendRegistry.Get("cpu");
        using var scope = TensorScope.Begin();
        var p = Tensor.RandomNormal(new Shape(2, 3), new Generator(11), backend: be);
        p.RequiresGrad = true;
        var dst = Tensor.Empty(new Shape(2, 3), backend: be);
        Assert.Throws<InvalidOperationException>(() => Ops.Mul(p, p, into: dst));
        Assert.Throws<InvalidOperationException>(() => Ops.Sigmoid(p, into: dst));
        using (Graph.NoGrad()) Ops.Mul(p, p, into: dst); // without tracking it is an ordinary write
    }
}
