using SerEngine.Autograd;

namespace SerEngine;

// Batched matrix product. a [..., M, K] · b [..., K, N] = y [..., M, N]; the batch dims broadcast
// (a 2-D operand is shared by every batch item through a zero batch stride).
// Backward: da = dy · bᵀ, db = aᵀ · dy, each summed over the batch dims it was broadcast along.
public static partial class Ops
{
    /// <summary>Matrix product with batch broadcasting; both operands need rank ≥ 2.</summary>
    public static Tensor MatMul(Tensor a, Tensor b)
    {
        var backend = SameBackend("matmul", a, b);
        RequireFloat("matmul", a, "a");
        RequireFloat("matmul", b, "b");
        if (a.Rank < 2 || b.Rank < 2) throw new ArgumentException($"matmul: operands need rank >= 2, got {a.Shape} and {b.Shape}");
        int m = a.Shape[-2], k = a.Shape[-1], n = b.Shape[-1];
        if (b.Shape[-2] != k) throw new ArgumentException($"matmul: inner dimensions differ: {a.Shape} · {b.Shape} ({k} vs {b.Shape[-2]})");
        var aBatch = new Shape(a.Shape.ToArray()[..^2]);
        var bBatch = new Shape(b.Shape.ToArray()[..^2]);
        var batch = Shape.Broadcast(aBatch, bBatch);
        var aFull = ExpandBatch(a, batch, aBatch, m, k, out int strideA);
        var bFull = ExpandBatch(b, batch, bBatch, k, n, out int strideB);
        var y = NewLike(backend, new Shape([.. batch, m, n]));
        backend.Gemm(false, false, batch.Size, m, n, k, 1f, aFull.Storage, strideA, bFull.Storage, strideB, 0f, y.Storage, m * n);
        return Graph.Record("matmul", y, [a, b], dy =>
        {
            Tensor? da = null, db = null;
            if (a.RequiresGrad)
            {
                var full = NewLike(dy.Backend, new Shape([.. batch, m, k])); // dy [B, M, N] · bᵀ [B, N, K]
                dy.Backend.Gemm(false, true, batch.Size, m, k, n, 1f, dy.Storage, m * n, bFull.Storage, strideB, 0f, full.Storage, m * k);
                da = ReduceTo(full, a.Shape);
            }
            if (b.RequiresGrad)
            {
                var full = NewLike(dy.Backend, new Shape([.. batch, k, n])); // aᵀ [B, K, M] · dy [B, M, N]
                dy.Backend.Gemm(true, false, batch.Size, k, n, m, 1f, aFull.Storage, strideA, dy.Storage, m * n, 0f, full.Storage, k * n);
                db = ReduceTo(full, b.Shape);
            }
            return [da, db];
        });
    }

    /// <summary>
    /// The operand's data laid out for <paramref name="batch"/> items: itself with stride rows·cols
    /// when its batch dims already match, itself with stride 0 when it has none, else a broadcast copy.
    /// </summary>
    private static Tensor ExpandBatch(Tensor t, Shape batch, Shape own, int rows, int cols, out int stride)
    {
        if (own == batch) { stride = rows * cols; return t; }
        if (own.Size == 1) { stride = 0; return t; }
        stride = rows * cols;
        var padded = new int[batch.Rank + 2];
        for (int i = 0; i < batch.Rank; i++) padded[i] = i < batch.Rank - own.Rank ? 1 : own[i - (batch.Rank - own.Rank)];
        padded[^2] = rows;
        padded[^1] = cols;
        var full = NewLike(t.Backend, new Shape([.. batch, rows, cols]));
        t.Backend.BroadcastTo(t.Storage, new Shape(padded), full.Storage, full.Shape);
        return full;
    }
}
