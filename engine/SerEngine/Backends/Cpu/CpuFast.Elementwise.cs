using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace SerEngine.Backends.Cpu;

// Fast elementwise primitives. Binary: the broadcast loop nest is collapsed (StridedLoop) into
// runs along the last merged axis; each run is one vectorised TensorPrimitives call (both operands
// contiguous, or one of them a broadcast scalar), strided runs fall back to a scalar loop; many short
// runs go through one loop per chunk (CpuFast.BinaryRows.cs). Unary and
// its backward: one vectorised pass (tanh and sigmoid through Exp8, CpuFast.Exp.cs). Large work is
// cut into chunks across threads (ForChunks); small
// tensors run inline, so per-op overhead stays at a few hundred nanoseconds.
// Every result equals the reference's up to the rounding of the vectorised exp/log/tanh/sigmoid.
public partial class CpuBackend
{
    /// <inheritdoc/>
    public override void Fill(Storage y, int n, float value) => F(y).AsSpan(0, n).Fill(value);

    /// <inheritdoc/>
    public override void Binary(BinaryOp op, Storage a, Shape aShape, Storage b, Shape bShape, Storage y, Shape yShape)
    {
        float[] av = F(a), bv = F(b), yv = F(y);
        int size = yShape.Size;
        if (size == 0) return;
        if (aShape.Size == size && bShape.Size == size)
        {
            // both lie as y does (broadcasting to the same size only adds or drops axes of 1)
            ForChunks(size, size, new SameShapeChunks(op, av, bv, yv));
            return;
        }
        // small work (one chunk) of one value per run of y skips the strided loop's objects (a batch-1 inference's gates)
        bool inline = ChunkCount(size, size, ChunksPerThread) == 1;
        if (inline && aShape.Size == size && RowScalars(bShape, yShape) is int rows and > 0)
        {
            // b holds one value per run of y (a per-channel gate or scale): y[r, :] = a[r, :] op b[r]
            for (int r = 0, inner = size / rows; r < rows; r++) BinaryRun(op, av, (long)r * inner, 1, bv, r, 0, yv, (long)r * inner, inner);
            return;
        }
        if (inline && bShape.Size == size && RowScalars(aShape, yShape) is int rowsA and > 0)
        {
            for (int r = 0, inner = size / rowsA; r < rowsA; r++) BinaryRun(op, av, r, 0, bv, (long)r * inner, 1, yv, (long)r * inner, inner);
            return;
        }
        BinaryStrided(op, av, aShape, bv, bShape, yv, yShape, size);
    }

    /// <summary>
    /// The runs of y when <paramref name="s"/> broadcasts to <paramref name="yShape"/> as one value per run (its axes are y's
    /// leading axes, then only 1s, so y [rows, inner] takes s[r] along row r); 0 when it does not.
    /// </summary>
    private static int RowScalars(Shape s, Shape yShape)
    {
        int pad = yShape.Rank - s.Rank, k = s.Rank;
        if (pad < 0) return 0;
        while (k > 0 && s[k - 1] == 1) k--;                 // s's trailing 1s
        for (int i = 0; i < k; i++) if (s[i] != yShape[pad + i]) return 0;
        for (int i = 0; i < pad; i++) if (yShape[i] != 1 && k > 0) return 0; // s's missing leading axes broadcast too
        return s.Size;
    }

    /// <summary>Binary's chunks when a, b and y lie alike: y[s..e) = a[s..e) op b[s..e).</summary>
    private readonly struct SameShapeChunks(BinaryOp op, float[] av, float[] bv, float[] yv) : IChunkBody
    {
        public void Run(int start, int end) => BinaryRun(op, av, start, 1, bv, start, 1, yv, start, end - start);
    }

    private void BinaryStrided(BinaryOp op, float[] av, Shape aShape, float[] bv, Shape bShape, float[] yv, Shape yShape, int size)
    {
        var dims = yShape.ToArray();
        var loop = StridedLoop.Collapse(dims, StridedLoop.Contiguous(dims), BroadcastStrides(aShape, yShape), BroadcastStrides(bShape, yShape));
        if (loop.Rows > 1 && loop.Inner <= BinaryShortRow)
        {
            BinaryShortRows(op, loop, av, bv, yv, size);
            return;
        }
        RunRows(loop, size, (l, inner0, count) => BinaryRun(op,
            av, l.Offset(1) + (long)inner0 * l.InnerStride(1), l.InnerStride(1),
            bv, l.Offset(2) + (long)inner0 * l.InnerStride(2), l.InnerStride(2),
            yv, l.Offset(0) + inner0, count));
    }

    /// <summary>
    /// Walks every run of <paramref name="loop"/>, calling body(loop at the run, first inner index,
    /// count): rows are shared among threads when there are several, else the single run is cut.
    /// </summary>
    internal void RunRows(StridedLoop loop, long work, Action<StridedLoop, int, int> body)
    {
        long rows = loop.Rows;
        int inner = loop.Inner;
        if (rows == 1)
        {
            ForChunks(inner, work, (s, e) =>
            {
                var l = loop.Clone();
                l.Seek(0);
                body(l, s, e - s);
            });
            return;
        }
        ForChunks((int)rows, work, (s, e) =>
        {
            var l = loop.Clone();
            l.Seek(s);
            for (int r = s; r < e; r++)
            {
                body(l, 0, inner);
                if (r + 1 < e) l.Next();
            }
        });
    }

    /// <summary>y[yo + i] = a[ao + i·sa] op b[bo + i·sb] for i &lt; n.</summary>
    private static void BinaryRun(BinaryOp op, float[] a, long ao, int sa, float[] b, long bo, int sb, float[] y, long yo, int n)
    {
        var ys = y.AsSpan((int)yo, n);
        if (sa == 1 && sb == 1)
        {
            ReadOnlySpan<float> x1 = a.AsSpan((int)ao, n), x2 = b.AsSpan((int)bo, n);
            switch (op)
            {
                case BinaryOp.Add: TensorPrimitives.Add(x1, x2, ys); break;
                case BinaryOp.Sub: TensorPrimitives.Subtract(x1, x2, ys); break;
                case BinaryOp.Mul: TensorPrimitives.Multiply(x1, x2, ys); break;
                case BinaryOp.Div: TensorPrimitives.Divide(x1, x2, ys); break;
                default: throw new ArgumentOutOfRangeException(nameof(op));
            }
        }
        else if (sa == 1 && sb == 0)
        {
            ReadOnlySpan<float> x1 = a.AsSpan((int)ao, n);
            float s = b[bo];
            switch (op)
            {
                case BinaryOp.Add: TensorPrimitives.Add(x1, s, ys); break;
                case BinaryOp.Sub: TensorPrimitives.Subtract(x1, s, ys); break;
                case BinaryOp.Mul: TensorPrimitives.Multiply(x1, s, ys); break;
                case BinaryOp.Div: TensorPrimitives.Divide(x1, s, ys); break;
                default: throw new ArgumentOutOfRangeException(nameof(op));
            }
        }
        else if (sa == 0 && sb == 1)
        {
            ReadOnlySpan<float> x2 = b.AsSpan((int)bo, n);
            float s = a[ao];
            switch (op)
            {
                case BinaryOp.Add: TensorPrimitives.Add(x2, s, ys); break;
                case BinaryOp.Sub: TensorPrimitives.Subtract(s, x2, ys); break;
                case BinaryOp.Mul: TensorPrimitives.Multiply(x2, s, ys); break;
                case BinaryOp.Div: TensorPrimitives.Divide(s, x2, ys); break;
                default: throw new ArgumentOutOfRangeException(nameof(op));
            }
        }
        else
        {
            for (int i = 0; i < n; i++)
            {
                float x1 = a[ao + (long)i * sa], x2 = b[bo + (long)i * sb];
                ys[i] = op switch
                {
                    BinaryOp.Add => x1 + x2,
                    BinaryOp.Sub => x1 - x2,
                    BinaryOp.Mul => x1 * x2,
                    BinaryOp.Div => x1 / x2,
                    _ => throw new ArgumentOutOfRangeException(nameof(op)),
                };
            }
        }
    }

    /// <inheritdoc/>
    public override void Unary(UnaryOp op, Storage x, Storage y, int n, float alpha)
    {
        float[] xv = F(x), yv = F(y);
        long work = op is UnaryOp.Tanh or UnaryOp.Sigmoid or UnaryOp.Exp or UnaryOp.Log ? 8L * n : n;
        if (n <= 0) return;
        ForChunks(n, work, new UnaryChunks(op, xv, yv, alpha)); // the cut decides Sigmoid8's vector/tail split: keep it
    }

    /// <summary>Unary's chunks: y[s..e) = op(x[s..e)).</summary>
    private readonly struct UnaryChunks(UnaryOp op, float[] xv, float[] yv, float alpha) : IChunkBody
    {
        public void Run(int start, int end) => UnaryRun(op, xv.AsSpan(start, end - start), yv.AsSpan(start, end - start), alpha);
    }

    /// <summary>ys = op(xs) for one chunk.</summary>
    private static void UnaryRun(UnaryOp op, ReadOnlySpan<float> xs, Span<float> ys, float alpha)
    {
        switch (op)
        {
            case UnaryOp.Neg: TensorPrimitives.Negate(xs, ys); break;
            case UnaryOp.Relu: Relu(xs, ys); break;
            case UnaryOp.Tanh: TanhRow(xs, ys); break;
            case UnaryOp.Sigmoid: SigmoidRow(xs, ys); break;
            case UnaryOp.Exp: TensorPrimitives.Exp(xs, ys); break;
            case UnaryOp.Log: TensorPrimitives.Log(xs, ys); break;
            case UnaryOp.Scale: TensorPrimitives.Multiply(xs, alpha, ys); break;
            case UnaryOp.AddScalar: TensorPrimitives.Add(xs, alpha, ys); break;
            case UnaryOp.Square: TensorPrimitives.Multiply(xs, xs, ys); break;
            case UnaryOp.Sqrt: TensorPrimitives.Sqrt(xs, ys); break;
            default: throw new ArgumentOutOfRangeException(nameof(op));
        }
    }

    /// <summary>y = tanh(x), eight at a time (Tanh8), the tail with MathF.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void TanhRow(ReadOnlySpan<float> x, Span<float> y)
    {
        int n = x.Length, i = 0;
        fixed (float* px = x, py = y)
        {
            if (Vector256.IsHardwareAccelerated)
                for (; i + 8 <= n; i += 8) Tanh8(Vector256.Load(px + i)).Store(py + i);
            for (; i < n; i++) py[i] = MathF.Tanh(px[i]);
        }
    }

    /// <summary>y = 1/(1 + e^−x), eight at a time (Sigmoid8), the tail with MathF.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void SigmoidRow(ReadOnlySpan<float> x, Span<float> y)
    {
        int n = x.Length, i = 0;
        fixed (float* px = x, py = y)
        {
            if (Vector256.IsHardwareAccelerated)
                for (; i + 8 <= n; i += 8) Sigmoid8(Vector256.Load(px + i)).Store(py + i);
            for (; i < n; i++) py[i] = 1f / (1f + MathF.Exp(-px[i]));
        }
    }

    /// <summary>y = x &gt; 0 ? x : 0 (NaN and −0 give +0, as the reference).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void Relu(ReadOnlySpan<float> x, Span<float> y)
    {
        int n = x.Length, i = 0;
        fixed (float* px = x, py = y)
        {
            if (Vector256.IsHardwareAccelerated)
                for (; i + 8 <= n; i += 8)
                {
                    var v = Vector256.Load(px + i);
                    Vector256.ConditionalSelect(Vector256.GreaterThan(v, Vector256<float>.Zero), v, Vector256<float>.Zero).Store(py + i);
                }
            for (; i < n; i++) py[i] = px[i] > 0 ? px[i] : 0f;
        }
    }

    /// <inheritdoc/>
    public override void UnaryBackward(UnaryOp op, Storage x, Storage y, Storage dy, Storage dx, int n, float alpha)
    {
        float[] xv = F(x), yv = F(y), gv = F(dy), dv = F(dx);
        ForChunks(n, 2L * n, (s, e) =>
        {
            int len = e - s;
            ReadOnlySpan<float> xs = xv.AsSpan(s, len), ys = yv.AsSpan(s, len), g = gv.AsSpan(s, len);
            var d = dv.AsSpan(s, len);
            switch (op)
            {
                case UnaryOp.Neg: TensorPrimitives.Negate(g, d); break;
                case UnaryOp.Relu: ReluBackward(xs, g, d); break;
                case UnaryOp.Tanh: TanhBackward(ys, g, d); break;
                case UnaryOp.Sigmoid: SigmoidBackward(ys, g, d); break;
                case UnaryOp.Exp: TensorPrimitives.Multiply(g, ys, d); break;
                case UnaryOp.Log: TensorPrimitives.Divide(g, xs, d); break;
                case UnaryOp.Scale: TensorPrimitives.Multiply(g, alpha, d); break;
                case UnaryOp.AddScalar: g.CopyTo(d); break;
                case UnaryOp.Square: for (int i = 0; i < len; i++) d[i] = 2f * xs[i] * g[i]; break;
                case UnaryOp.Sqrt: for (int i = 0; i < len; i++) d[i] = g[i] * 0.5f / ys[i]; break;
                default: throw new ArgumentOutOfRangeException(nameof(op));
            }
        });
    }

    /// <summary>d = x &gt; 0 ? g : 0.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void ReluBackward(ReadOnlySpan<float> x, ReadOnlySpan<float> g, Span<float> d)
    {
        int n = x.Length, i = 0;
        fixed (float* px = x, pg = g, pd = d)
        {
            if (Vector256.IsHardwareAccelerated)
                for (; i + 8 <= n; i += 8)
                    Vector256.ConditionalSelect(Vector256.GreaterThan(Vector256.Load(px + i), Vector256<float>.Zero),
                        Vector256.Load(pg + i), Vector256<float>.Zero).Store(pd + i);
            for (; i < n; i++) pd[i] = px[i] > 0 ? pg[i] : 0f;
        }
    }

    /// <summary>d = g·(1 − y²).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void TanhBackward(ReadOnlySpan<float> y, ReadOnlySpan<float> g, Span<float> d)
    {
        int n = y.Length, i = 0;
        fixed (float* py = y, pg = g, pd = d)
        {
            if (Vector256.IsHardwareAccelerated)
                for (; i + 8 <= n; i += 8)
                {
                    var v = Vector256.Load(py + i);
                    (Vector256.Load(pg + i) * (Vector256<float>.One - v * v)).Store(pd + i);
                }
            for (; i < n; i++) pd[i] = pg[i] * (1f - py[i] * py[i]);
        }
    }

    /// <summary>d = g·y·(1 − y).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void SigmoidBackward(ReadOnlySpan<float> y, ReadOnlySpan<float> g, Span<float> d)
    {
        int n = y.Length, i = 0;
        fixed (float* py = y, pg = g, pd = d)
        {
            if (Vector256.IsHardwareAccelerated)
                for (; i + 8 <= n; i += 8)
                {
                    var v = Vector256.Load(py + i);
                    (Vector256.Load(pg + i) * v * (Vector256<float>.One - v)).Store(pd + i);
                }
            for (; i < n; i++) pd[i] = pg[i] * py[i] * (1f - py[i]);
        }
    }
}
