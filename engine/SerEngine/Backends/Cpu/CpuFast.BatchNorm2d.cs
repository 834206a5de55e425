using System.Numerics.Tensors;
using System.Runtime.Intrinsics;

namespace SerEngine.Backends.Cpu;

// Fast BatchNorm2d: channels are independent, so threads take whole channels; within a channel each
// of the N rows of HW values is one vectorised pass, and the per-row sums are accumulated in double
// (as the reference does element by element).
// Legend: x, y, dy, dx [N, C, HW]; weight, bias, mean, invStd, running buffers [C]; M = N·HW.
//   forward (training): mean = Σx/M; var = Σ(x − mean)²/M (two passes); running buffers as the
//                       reference; y = (x − mean)·(invStd·weight) + bias
//   backward:           Σdy and Σdy·(x − mean) in one pass; dx = k·(dy − Σdy/M − (x − mean)·invStd²·Σdy(x − mean)/M)
//                       with k = weight·invStd (eval: dx = k·dy)
// With validColumns (HW = H·width) an item whose valid count is below width is H row pieces of
// valid[i] values each (an item with every column valid stays one piece, so a full mask sums exactly
// as no mask); y and dx are 0 past each piece.
public partial class CpuBackend
{
    /// <inheritdoc/>
    public override void BatchNorm2dForward(Storage x, Storage? weight, Storage? bias, Storage y,
        Storage mean, Storage invStd, Storage? runningMean, Storage? runningVar,
        int n, int c, int hw, float eps, float momentum, bool training, int[]? validColumns = null, int width = 0)
    {
        BatchNorm2dMask.Check("batchnorm2d", validColumns, n, hw, width);
        float[] xv = F(x), yv = F(y), mv = F(mean), sv = F(invStd);
        float[]? wv = weight is null ? null : F(weight), bv = bias is null ? null : F(bias);
        float[]? rm = runningMean is null ? null : F(runningMean), rv = runningVar is null ? null : F(runningVar);
        if (!training && (rm is null || rv is null))
            throw new ArgumentException("batchnorm2d: eval mode needs the running mean and variance");
        long count = BatchNorm2dMask.Count(validColumns, n, hw, width);
        ForChunks(c, 3L * n * c * hw, (c0, c1) =>
        {
            for (int ch = c0; ch < c1; ch++)
            {
                double mu, istd;
                if (training)
                {
                    double sum = 0;
                    for (int i = 0; i < n; i++)
                    {
                        var (pieces, length, stride) = Pieces(validColumns, i, hw, width);
                        for (int p = 0; p < pieces; p++) sum += FixedSum.Sum(Row(xv, i, ch, c, hw).Slice(p * stride, length));
                    }
                    mu = sum / count;
                    double sq = 0;
                    for (int i = 0; i < n; i++)
                    {
                        var (pieces, length, stride) = Pieces(validColumns, i, hw, width);
                        for (int p = 0; p < pieces; p++) sq += SumSquaredDeviation(Row(xv, i, ch, c, hw).Slice(p * stride, length), (float)mu);
                    }
                    istd = 1.0 / Math.Sqrt(sq / count + eps);
                    if (rm is not null) rm[ch] = (float)((1 - momentum) * (double)rm[ch] + momentum * mu);
                    if (rv is not null) rv[ch] = (float)((1 - momentum) * (double)rv[ch] + momentum * (sq / (count - 1)));
                }
                else
                {
                    mu = rm![ch];
                    istd = 1.0 / Math.Sqrt(rv![ch] + (double)eps);
                }
                mv[ch] = (float)mu;
                sv[ch] = (float)istd;
                double scale = istd * (wv is null ? 1.0 : wv[ch]), shift = bv is null ? 0.0 : bv[ch];
                for (int i = 0; i < n; i++)
                {
                    var (pieces, length, stride) = Pieces(validColumns, i, hw, width);
                    for (int p = 0; p < pieces; p++)
                    {
                        var yp = yv.AsSpan((i * c + ch) * hw + p * stride, stride);
                        ScaleShift(Row(xv, i, ch, c, hw).Slice(p * stride, length), (float)mu, (float)scale, (float)shift, yp);
                        yp[length..].Clear();
                    }
                }
            }
        });
    }

    /// <inheritdoc/>
    public override void BatchNorm2dBackward(Storage dy, Storage x, Storage? weight, Storage mean, Storage invStd,
        Storage dx, Storage? dWeight, Storage? dBias, int n, int c, int hw, bool training, int[]? validColumns = null, int width = 0)
    {
        BatchNorm2dMask.Check("batchnorm2d backward", validColumns, n, hw, width);
        float[] dyv = F(dy), xv = F(x), mv = F(mean), sv = F(invStd), dxv = F(dx);
        float[]? wv = weight is null ? null : F(weight);
        float[]? dwv = dWeight is null ? null : F(dWeight), dbv = dBias is null ? null : F(dBias);
        long count = BatchNorm2dMask.Count(validColumns, n, hw, width);
        ForChunks(c, 4L * n * c * hw, (c0, c1) =>
        {
            for (int ch = c0; ch < c1; ch++)
            {
                float mu = mv[ch];
                double istd = sv[ch], w = wv is null ? 1.0 : wv[ch];
                double sumDy = 0, sumDyXc = 0; // Σdy, Σdy·(x − mean)
                for (int i = 0; i < n; i++)
                {
                    var (pieces, length, stride) = Pieces(validColumns, i, hw, width);
                    for (int p = 0; p < pieces; p++)
                    {
                        var (a, b) = SumAndCenteredDot(Row(dyv, i, ch, c, hw).Slice(p * stride, length), Row(xv, i, ch, c, hw).Slice(p * stride, length), mu);
                        sumDy += a;
                        sumDyXc += b;
                    }
                }
                double sumDyXhat = sumDyXc * istd;
                if (dbv is not null) dbv[ch] = (float)sumDy;
                if (dwv is not null) dwv[ch] = (float)sumDyXhat;
                double k = w * istd;
                for (int i = 0; i < n; i++)
                {
                    var (pieces, length, stride) = Pieces(validColumns, i, hw, width);
                    for (int p = 0; p < pieces; p++)
                    {
                        var d = dxv.AsSpan((i * c + ch) * hw + p * stride, stride);
                        var g = Row(dyv, i, ch, c, hw).Slice(p * stride, length);
                        if (training)
                            BatchNormRowBackward(g, Row(xv, i, ch, c, hw).Slice(p * stride, length), mu,
                                (float)k, (float)(sumDy / count), (float)(istd * sumDyXhat / count), d);
                        else
                            TensorPrimitives.Multiply(g, (float)k, d[..length]);
                        d[length..].Clear();
                    }
                }
            }
        });
    }

    private static ReadOnlySpan<float> Row(float[] a, int i, int ch, int c, int hw) => a.AsSpan((i * c + ch) * hw, hw);

    /// <summary>Item i's valid values in one plane of HW: <c>pieces</c> runs of <c>length</c>, <c>stride</c> apart (one run of HW when all are valid).</summary>
    private static (int Pieces, int Length, int Stride) Pieces(int[]? validColumns, int i, int hw, int width)
    {
        int v = BatchNorm2dMask.Columns(validColumns, i, width);
        return validColumns is null || v >= width ? (1, hw, hw) : (hw / width, v, width);
    }

    /// <summary>y = (x − mu)·scale + shift.</summary>
    private static void ScaleShift(ReadOnlySpan<float> x, float mu, float scale, float shift, Span<float> y)
    {
        var vm = Vector256.Create(mu);
        var vs = Vector256.Create(scale);
        var vb = Vector256.Create(shift);
        int i = 0;
        for (; i + 8 <= x.Length; i += 8) ((Vector256.Create(x.Slice(i, 8)) - vm) * vs + vb).CopyTo(y.Slice(i, 8));
        for (; i < x.Length; i++) y[i] = (x[i] - mu) * scale + shift;
    }

    /// <summary>Σ (x − mu)² with float vector partial sums.</summary>
    private static double SumSquaredDeviation(ReadOnlySpan<float> x, float mu)
    {
        var acc = Vector256<float>.Zero;
        int i = 0;
        var m = Vector256.Create(mu);
        for (; i + 8 <= x.Length; i += 8)
        {
            var d = Vector256.Create(x.Slice(i, 8)) - m;
            acc += d * d;
        }
        double s = Vector256.Sum(acc);
        for (; i < x.Length; i++) s += (double)(x[i] - mu) * (x[i] - mu);
        return s;
    }

    /// <summary>(Σ dy, Σ dy·(x − mu)) with float vector partial sums.</summary>
    private static (double SumDy, double SumDyXc) SumAndCenteredDot(ReadOnlySpan<float> dy, ReadOnlySpan<float> x, float mu)
    {
        var a = Vector256<float>.Zero;
        var b = Vector256<float>.Zero;
        var m = Vector256.Create(mu);
        int i = 0;
        for (; i + 8 <= dy.Length; i += 8)
        {
            var g = Vector256.Create(dy.Slice(i, 8));
            a += g;
            b += g * (Vector256.Create(x.Slice(i, 8)) - m);
        }
        double sa = Vector256.Sum(a), sb = Vector256.Sum(b);
        for (; i < dy.Length; i++)
        {
            sa += dy[i];
            sb += (double)dy[i] * (x[i] - mu);
        }
        return (sa, sb);
    }

    /// <summary>d = k·(dy − meanDy − (x − mu)·q).</summary>
    private static void BatchNormRowBackward(ReadOnlySpan<float> dy, ReadOnlySpan<float> x, float mu, float k, float meanDy, float q, Span<float> d)
    {
        var vk = Vector256.Create(k);
        var vm = Vector256.Create(meanDy);
        var vq = Vector256.Create(q);
        var vmu = Vector256.Create(mu);
        int i = 0;
        for (; i + 8 <= dy.Length; i += 8)
        {
            var g = Vector256.Create(dy.Slice(i, 8));
            var xc = Vector256.Create(x.Slice(i, 8)) - vmu;
            (vk * (g - vm - xc * vq)).CopyTo(d.Slice(i, 8));
        }
        for (; i < dy.Length; i++) d[i] = k * (dy[i] - meanDy - (x[i] - mu) * q);
    }
}
