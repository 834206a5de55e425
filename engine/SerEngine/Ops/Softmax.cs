using SerEngine.Autograd;

namespace SerEngine;

// Softmax and log-softmax along any axis. Legend: x viewed as [Outer, L, Inner] around the axis
// (L = the axis' length, Inner = the product of the dims after it).
// The backend primitive works on rows of the last axis, so when Inner > 1 the axis is moved last
// ([Outer, L, Inner] → [Outer, Inner, L]), the rows are processed, and the result moved back.
// Backward (from y): softmax dx = y·(dy − Σ dy·y); log-softmax dx = dy − e^y·Σ dy — same permutes.
public static partial class Ops
{
    /// <summary>Softmax along <paramref name="axis"/> (negative axes count from the end).</summary>
    public static Tensor Softmax(Tensor x, int axis = -1) => SoftmaxCore("softmax", x, axis, log: false);

    /// <summary>Log-softmax along <paramref name="axis"/> (negative axes count from the end).</summary>
    public static Tensor LogSoftmax(Tensor x, int axis = -1) => SoftmaxCore("log_softmax", x, axis, log: true);

    private static Tensor SoftmaxCore(string name, Tensor x, int axis, bool log)
    {
        RequireFloat(name, x, "x");
        if (x.Rank == 0) throw new ArgumentException($"{name}: needs at least one axis, got a scalar {x.Shape}");
        int a = x.Shape.NormalizeAxis(axis);
        int outer = x.Shape.Product(0, a), len = x.Shape[a], inner = x.Shape.Product(a + 1, x.Rank);
        int rows = outer * inner;
        var be = x.Backend;
        var y = NewLike(be, x.Shape);
        if (inner == 1)
        {
            // the axis is already the innermost one in memory: rows of [Outer, L]
            be.Softmax(x.Storage, y.Storage, rows, len, log);
            return Graph.Record(name, y, [x], dy =>
            {
                var dx = NewLike(dy.Backend, x.Shape);
                dy.Backend.SoftmaxBackward(y.Storage, dy.Storage, dx.Storage, rows, len, log);
                return [dx];
            });
        }

        var split = new Shape(outer, len, inner);   // x's layout
        var moved = new Shape(outer, inner, len);   // the axis last
        int[] toLast = [0, 2, 1];                   // also its own inverse
        var xLast = NewLike(be, moved);             // [Outer, Inner, L]
        var yLast = NewLike(be, moved);             // [Outer, Inner, L]
        be.Permute(x.Storage, split, toLast, xLast.Storage);
        be.Softmax(xLast.Storage, yLast.Storage, rows, len, log);
        be.Permute(yLast.Storage, moved, toLast, y.Storage);
        xLast.Dispose();
        var result = Graph.Record(name, y, [x], dy =>
        {
            var b = dy.Backend;
            var dyLast = NewLike(b, moved);         // [Outer, Inner, L]
            var dxLast = NewLike(b, moved);         // [Outer, Inner, L]
            b.Permute(dy.Storage, split, toLast, dyLast.Storage);
            b.SoftmaxBackward(yLast.Storage, dyLast.Storage, dxLast.Storage, rows, len, log);
            var dx = NewLike(b, x.Shape);           // [Outer, L, Inner]
            b.Permute(dxLast.Storage, moved, toLast, dx.Storage);
            dyLast.Dispose();
            dxLast.Dispose();
            return [dx];
        });
        if (result.Node is null) yLast.Dispose(); // not recorded: nobody needs the permuted y
        return result;
    }
}
