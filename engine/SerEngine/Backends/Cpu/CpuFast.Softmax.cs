using System.Buffers;
using System.Numerics.Tensors;

namespace SerEngine.Backends.Cpu;

// Fast softmax family: one row at a time, the row kept in L1 between its few vectorised passes,
// rows shared among threads.
//   softmax:       y = x − max; y = e^y; y /= Σ y          (reads x once, writes y once)
//   log-softmax:   y = x − max − ln Σ e^(x − max)         (the exponentials go to a row of scratch)
//   biased:        y = scale·x + bias, masked keys −∞; then as softmax (e^−∞ = 0 exactly); a row
//                  with every key masked is all zeros
//   backward:      dx = y·(dy − Σ dy·y);  log: dx = dy − e^y·Σ dy;  biased: g as softmax, dx = scale·g, dBias = g
// Sums run in float with vector partial sums (the reference sums in double; both are far inside
// the tests' tolerance for rows of any practical length).
public partial class CpuBackend
{
    /// <inheritdoc/>
    public override void Softmax(Storage x, Storage y, int rows, int cols, bool log)
    {
        float[] xv = F(x), yv = F(y); // [rows, cols]
        if (cols == 0) return;
        ForChunks(rows, 4L * rows * cols, (s, e) =>
        {
            float[]? scratch = log ? ArrayPool<float>.Shared.Rent(cols) : null;
            for (int r = s; r < e; r++)
            {
                ReadOnlySpan<float> xr = xv.AsSpan(r * cols, cols);
                var yr = yv.AsSpan(r * cols, cols);
                float max = TensorPrimitives.Max(xr);
                if (log)
                {
                    var t = scratch.AsSpan(0, cols);
                    TensorPrimitives.Subtract(xr, max, t);
                    TensorPrimitives.Exp(t, t);
                    float shift = max + MathF.Log(TensorPrimitives.Sum(t));
                    TensorPrimitives.Subtract(xr, shift, yr);
                }
                else
                {
                    TensorPrimitives.Subtract(xr, max, yr);
                    TensorPrimitives.Exp(yr, yr);
                    TensorPrimitives.Divide(yr, TensorPrimitives.Sum(yr), yr);
                }
            }
            if (scratch is not null) ArrayPool<float>.Shared.Return(scratch);
        });
    }

    /// <inheritdoc/>
    public override void SoftmaxBackward(Storage y, Storage dy, Storage dx, int rows, int cols, bool log)
    {
        float[] yv = F(y), gv = F(dy), dv = F(dx); // [rows, cols]
        if (cols == 0) return;
        ForChunks(rows, 3L * rows * cols, (s, e) =>
        {
            float[]? scratch = log ? ArrayPool<float>.Shared.Rent(cols) : null;
            for (int r = s; r < e; r++)
            {
                ReadOnlySpan<float> yr = yv.AsSpan(r * cols, cols), g = gv.AsSpan(r * cols, cols);
                var d = dv.AsSpan(r * cols, cols);
                if (log)
                {
                    var t = scratch.AsSpan(0, cols);
                    float sum = TensorPrimitives.Sum(g);
                    TensorPrimitives.Exp(yr, t);
                    TensorPrimitives.MultiplyAdd(t, -sum, g, d); // dy − e^y·Σdy
                }
                else
                {
                    SoftmaxRowBackward(yr, g, TensorPrimitives.Dot(g, yr), d);
                }
            }
            if (scratch is not null) ArrayPool<float>.Shared.Return(scratch);
        });
    }

    /// <summary>d = y·(g − dot).</summary>
    private static void SoftmaxRowBackward(ReadOnlySpan<float> y, ReadOnlySpan<float> g, float dot, Span<float> d)
    {
        TensorPrimitives.Subtract(g, dot, d);
        TensorPrimitives.Multiply(d, y, d);
    }

    /// <inheritdoc/>
    public override void BiasedSoftmax(Storage x, Storage? bias, Storage? keyMask, Storage y, int rows, int cols, int rowsPerMask, float scale)
    {
        float[] xv = F(x), yv = F(y);                   // [rows, cols]
        float[]? bv = bias is null ? null : F(bias);    // [rows, cols]
        int[]? mv = keyMask is null ? null : I(keyMask); // [rows / rowsPerMask, cols]
        if (cols == 0) return;
        ForChunks(rows, 4L * rows * cols, (s, e) =>
        {
            for (int r = s; r < e; r++)
            {
                ReadOnlySpan<float> xr = xv.AsSpan(r * cols, cols);
                var yr = yv.AsSpan(r * cols, cols);
                if (bv is null) TensorPrimitives.Multiply(xr, scale, yr);
                else TensorPrimitives.MultiplyAdd(xr, scale, bv.AsSpan(r * cols, cols), yr);
                if (mv is not null)
                {
                    var m = mv.AsSpan(r / rowsPerMask * cols, cols);
                    for (int j = 0; j < cols; j++)
                        if (m[j] == 0) yr[j] = float.NegativeInfinity;
                }
                float max = TensorPrimitives.Max(yr);
                if (float.IsNegativeInfinity(max))
                {
                    yr.Clear(); // every key masked: all zeros, never NaN
                    continue;
                }
                TensorPrimitives.Subtract(yr, max, yr);
                TensorPrimitives.Exp(yr, yr);
                TensorPrimitives.Divide(yr, TensorPrimitives.Sum(yr), yr);
            }
        });
    }

    /// <inheritdoc/>
    public override void BiasedSoftmaxBackward(Storage y, Storage dy, Storage? dx, Storage? dBias, int rows, int cols, float scale)
    {
        float[] yv = F(y), gv = F(dy);                  // [rows, cols]
        float[]? dxv = dx is null ? null : F(dx);       // [rows, cols]
        float[]? dbv = dBias is null ? null : F(dBias); // [rows, cols]
        if (cols == 0 || (dxv is null && dbv is null)) return;
        ForChunks(rows, 3L * rows * cols, (s, e) =>
        {
            for (int r = s; r < e; r++)
            {
                ReadOnlySpan<float> yr = yv.AsSpan(r * cols, cols), g = gv.AsSpan(r * cols, cols);
                float dot = TensorPrimitives.Dot(g, yr);
                if (dbv is not null)
                {
                    var db = dbv.AsSpan(r * cols, cols);
                    SoftmaxRowBackward(yr, g, dot, db);
                    if (dxv is not null) TensorPrimitives.Multiply(db, scale, dxv.AsSpan(r * cols, cols));
                }
                else
                {
                    var d = dxv.AsSpan(r * cols, cols);
                    SoftmaxRowBackward(yr, g, dot, d);
                    TensorPrimitives.Multiply(d, scale, d);
                }
            }
        });
    }
}
