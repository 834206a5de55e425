using SerEngine.Backends;

namespace SerEngine;

/// <summary>
/// The differentiable operations, one file each under <c>engine/SerEngine/Ops/</c>: each file holds
/// the forward pass, then its backward rule, calling the backend's primitives. Tensor methods and
/// operators (<c>a + b</c>, <c>x.Relu()</c>) forward here.
/// </summary>
public static partial class Ops
{
    /// <summary>Throws unless every tensor lives on the same backend as the first.</summary>
    internal static Backend SameBackend(string op, params Tensor[] tensors)
    {
        var b = tensors[0].Backend;
        foreach (var t in tensors)
            if (!ReferenceEquals(t.Backend, b))
                throw new ArgumentException($"{op}: tensors are on different backends ({b.Name} and {t.Backend.Name}); move them with To()");
        return b;
    }

    /// <summary>Throws unless the tensor is Float32.</summary>
    internal static void RequireFloat(string op, Tensor t, string what)
    {
        if (t.DType != DType.Float32) throw new ArgumentException($"{op}: {what} must be Float32, got {t.DType} {t.Shape}");
    }

    /// <summary>
    /// Checks a caller-given destination (the <c>into</c> overloads): Float32, on <paramref name="backend"/>, and outside the
    /// autograd graph, since a write into an existing tensor records no node (so no input may need a gradient while tracking is on).
    /// </summary>
    internal static void RequireInto(string op, Backend backend, Tensor into, Tensor a, Tensor? b = null, Tensor? c = null)
    {
        if (into.DType != DType.Float32) throw new ArgumentException($"{op}: into must be Float32, got {into.DType} {into.Shape}");
        if (!ReferenceEquals(into.Backend, backend))
            throw new ArgumentException($"{op}: into is on backend {into.Backend.Name}, the inputs on {backend.Name}; move it with To()");
        if (Autograd.Graph.IsGradEnabled && (a.RequiresGrad || b?.RequiresGrad == true || c?.RequiresGrad == true))
            throw new InvalidOperationException($"{op}: writing into a given tensor records no gradient; call it under Graph.NoGrad() or on tensors that need none");
    }

    /// <summary>A new Float32 tensor of <paramref name="shape"/> on <paramref name="backend"/>.</summary>
    internal static Tensor NewLike(Backend backend, Shape shape) => Tensor.Empty(shape, DType.Float32, backend);

    /// <summary>
    /// Sums a gradient of a broadcast result back down to <paramref name="target"/> (the adjoint of
    /// broadcasting). Returns <paramref name="g"/> itself when the shapes already agree.
    /// </summary>
    internal static Tensor ReduceTo(Tensor g, Shape target)
    {
        if (g.Shape == target) return g;
        var padded = new int[g.Rank];
        for (int i = 0; i < g.Rank; i++) padded[i] = i < g.Rank - target.Rank ? 1 : target[i - (g.Rank - target.Rank)];
        var y = NewLike(g.Backend, target);
        g.Backend.SumTo(g.Storage, g.Shape, y.Storage, new Shape(padded));
        return y;
    }
}
