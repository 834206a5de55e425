using System.Buffers;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace SerEngine.Backends.Cpu;

// Fast softmax family: one row at a time, the row kept in L1 between its few vectorised passes,
// rows shared among threads. The exponentials are ExpRow8 / ExpRow16 (CpuFast.Exp.cs).
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
                    float shift = max + MathF.Log(FixedSum.Sum(t));
                    TensorPrimitives.Subtract(xr, shift, yr);
                }
                else
                {
                    xr.CopyTo(yr);
                    ExpNormalizeRow(yr, max);
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
                    float sum = FixedSum.Sum(g);
                    TensorPrimitives.Exp(yr, t);
                    TensorPrimitives.MultiplyAdd(t, -sum, g, d); // dy − e^y·Σdy
                }
                else
                {
                    SoftmaxRowBackward(yr, g, FixedSum.Dot(g, yr), d);
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
        // memory-bound rows: while the host slows one worker the other takes more chunks
        ForChunks(rows, 4L * rows * cols, new BiasedSoftmaxRows(xv, bv, mv, yv, cols, rowsPerMask, scale), chunksPerThread: 16);
    }

    /// <summary>BiasedSoftmax's rows [s, e).</summary>
    private readonly struct BiasedSoftmaxRows(float[] xv, float[]? bv, int[]? mv, float[] yv, int cols, int rowsPerMask, float scale) : IChunkBody
    {
        public void Run(int s, int e)
        {
            // the row is built in scratch (kept in L1), so y is written once, in the last pass
            float[] scratch = ArrayPool<float>.Shared.Rent(cols);
            var t = scratch.AsSpan(0, cols);
            for (int r = s; r < e; r++)
            {
                var yr = yv.AsSpan(r * cols, cols);
                float max = BiasedRow(xv.AsSpan(r * cols, cols), bv is null ? default : bv.AsSpan(r * cols, cols),
                    mv is null ? default : mv.AsSpan(r / rowsPerMask * cols, cols), scale, t);
                if (float.IsNegativeInfinity(max))
                {
                    yr.Clear(); // every key masked: all zeros, never NaN
                    continue;
                }
                ScaleRow(t, 1f / ExpSumRow(t, max), yr);
            }
            ArrayPool<float>.Shared.Return(scratch);
        }
    }

    /// <summary>With t = y·(dy − dot): dx = scale·t and dBias = t (either may be empty), in one pass.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void BiasedRowBackward(ReadOnlySpan<float> y, ReadOnlySpan<float> dy, float dot, float scale, Span<float> dx, Span<float> dBias)
    {
        int n = y.Length, j = 0;
        bool wantDx = !dx.IsEmpty, wantDb = !dBias.IsEmpty;
        var vd = Vector256.Create(dot);
        var vs = Vector256.Create(scale);
        fixed (float* py = y, pg = dy, px = dx, pb = dBias)
        {
            if (Vector256.IsHardwareAccelerated)
                for (; j + 8 <= n; j += 8)
                {
                    var t = Vector256.Load(py + j) * (Vector256.Load(pg + j) - vd);
                    if (wantDb) t.Store(pb + j);
                    if (wantDx) (vs * t).Store(px + j);
                }
            for (; j < n; j++)
            {
                float t = py[j] * (pg[j] - dot);
                if (wantDb) pb[j] = t;
                if (wantDx) px[j] = scale * t;
            }
        }
    }

    /// <summary>
    /// y = scale·x + bias (bias empty: none), −∞ where the mask (empty: none) is 0, in one pass;
    /// returns the row maximum (−∞ when every key is masked). <paramref name="wide"/> false keeps
    /// to 256-bit vectors (the tests' twin of the 512-bit path: every element is computed alike).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static unsafe float BiasedRow(ReadOnlySpan<float> x, ReadOnlySpan<float> bias, ReadOnlySpan<int> mask, float scale, Span<float> y, bool wide = true)
    {
        int n = x.Length, j = 0;
        bool hasBias = !bias.IsEmpty, hasMask = !mask.IsEmpty;
        var vmax = Vector256.Create(float.NegativeInfinity);
        var vs = Vector256.Create(scale);
        var ninf = Vector256.Create(float.NegativeInfinity);
        fixed (float* px = x, pb = bias, py = y)
        fixed (int* pm = mask)
        {
            if (wide && Vector512.IsHardwareAccelerated && n >= 16)
            {
                // the maximum is exact, so it does not depend on how the lanes are grouped
                var vmax16 = Vector512.Create(float.NegativeInfinity);
                var vs16 = Vector512.Create(scale);
                var ninf16 = Vector512.Create(float.NegativeInfinity);
                for (; j + 16 <= n; j += 16)
                {
                    var z = Vector512.Load(px + j) * vs16;
                    if (hasBias) z += Vector512.Load(pb + j);
                    if (hasMask) z = Vector512.ConditionalSelect(Vector512.Equals(Vector512.Load(pm + j), Vector512<int>.Zero).AsSingle(), ninf16, z);
                    z.Store(py + j);
                    vmax16 = Vector512.Max(vmax16, z);
                }
                vmax = Vector256.Max(vmax16.GetLower(), vmax16.GetUpper());
            }
            for (; j + 8 <= n; j += 8)
            {
                var z = Vector256.Load(px + j) * vs;
                if (hasBias) z += Vector256.Load(pb + j);
                if (hasMask) z = Vector256.ConditionalSelect(Vector256.Equals(Vector256.Load(pm + j), Vector256<int>.Zero).AsSingle(), ninf, z);
                z.Store(py + j);
                vmax = Vector256.Max(vmax, z);
            }
            float max = Vector256.IsHardwareAccelerated ? HorizontalMax(vmax) : float.NegativeInfinity;
            for (; j < n; j++)
            {
                float z = scale * px[j] + (hasBias ? pb[j] : 0f);
                if (hasMask && pm[j] == 0) z = float.NegativeInfinity;
                py[j] = z;
                max = MathF.Max(max, z);
            }
            return max;
        }
    }

    private static float HorizontalMax(Vector256<float> v)
    {
        float m = v[0];
        for (int i = 1; i < 8; i++) m = MathF.Max(m, v[i]);
        return m;
    }

    /// <summary>
    /// y = e^(y − max) / Σ e^(y − max) in two passes over the row (−∞ entries become exactly 0):
    /// <see cref="ExpSumRow"/>, then <see cref="ScaleRow"/> by 1 / sum.
    /// </summary>
    internal static void ExpNormalizeRow(Span<float> y, float max, bool wide = true) =>
        ScaleRow(y, 1f / ExpSumRow(y, max, wide), y, wide);

    /// <summary>
    /// y = e^(y − max) in place; returns Σ y. The exponential is <see cref="ExpRow8"/> / <see cref="ExpRow16"/>.
    /// With 512-bit vectors (unless <paramref name="wide"/> is false) each 16-float step adds its two halves to
    /// the 8-lane sum one after the other: the 256-bit path's values and order, so both give bit-identical rows.
    /// A step whose inputs are all −∞ (masked keys) stores zeros and adds nothing: the exponential's
    /// values (unless max is NaN), and adding +0 to a sum of non-negative terms leaves it unchanged.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static unsafe float ExpSumRow(Span<float> y, float max, bool wide = true)
    {
        int n = y.Length, j = 0;
        var vm = Vector256.Create(max);
        var vsum = Vector256<float>.Zero;
        var ninf = Vector256.Create(float.NegativeInfinity);
        bool skipMasked = !float.IsNaN(max);
        fixed (float* py = y)
        {
            if (wide && Vector512.IsHardwareAccelerated)
            {
                var vm16 = Vector512.Create(max);
                var ninf16 = Vector512.Create(float.NegativeInfinity);
                for (; j + 16 <= n; j += 16)
                {
                    var v = Vector512.Load(py + j);
                    if (skipMasked && Vector512.EqualsAll(v, ninf16))
                    {
                        Vector512<float>.Zero.Store(py + j);
                        continue;
                    }
                    var e = ExpRow16(v - vm16);
                    e.Store(py + j);
                    vsum += e.GetLower();
                    vsum += e.GetUpper();
                }
            }
            if (Vector256.IsHardwareAccelerated)
                for (; j + 8 <= n; j += 8)
                {
                    var v = Vector256.Load(py + j);
                    if (skipMasked && Vector256.EqualsAll(v, ninf))
                    {
                        Vector256<float>.Zero.Store(py + j);
                        continue;
                    }
                    var e = ExpRow8(v - vm);
                    e.Store(py + j);
                    vsum += e;
                }
            float sum = Vector256.Sum(vsum);
            for (; j < n; j++)
            {
                float e = MathF.Exp(py[j] - max);
                py[j] = e;
                sum += e;
            }
            return sum;
        }
    }

    /// <summary>dst = src · <paramref name="factor"/> (src and dst may be the same row).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static unsafe void ScaleRow(ReadOnlySpan<float> src, float factor, Span<float> dst, bool wide = true)
    {
        int n = src.Length, j = 0;
        fixed (float* ps = src, pd = dst)
        {
            if (wide && Vector512.IsHardwareAccelerated)
            {
                var f16 = Vector512.Create(factor);
                for (; j + 16 <= n; j += 16) (Vector512.Load(ps + j) * f16).Store(pd + j);
            }
            var f8 = Vector256.Create(factor);
            if (Vector256.IsHardwareAccelerated)
                for (; j + 8 <= n; j += 8) (Vector256.Load(ps + j) * f8).Store(pd + j);
            for (; j < n; j++) pd[j] = ps[j] * factor;
        }
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
                BiasedRowBackward(yr, g, FixedSum.Dot(g, yr), scale,
                    dxv is null ? default : dxv.AsSpan(r * cols, cols), dbv is null ? default : dbv.AsSpan(r * cols, cols));
            }
        }, chunksPerThread: 16); // memory-bound rows: while the host slows one worker the other takes more chunks
    }
}
