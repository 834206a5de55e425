using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace SerEngine.Backends.Cpu;

// Fast ReLU(BatchNorm2d(x)) into a channel slice of y (Backend.BatchNormRelu.cs): the batch norm's
// passes of CpuFast.BatchNorm2d.cs, with the rectifier applied as each row is stored and the
// rectifier's mask (y > 0) applied to dy as each row is read, so neither the rectified map nor the
// masked gradient is a pass of its own. With a column mask each item's rows are pieces, as in
// CpuFast.BatchNorm2d.cs. Same float operations in the same order as BatchNorm2dForward,
// Unary Relu, UnaryBackward Relu and BatchNorm2dBackward: the results are theirs bit for bit. Unmasked,
// the second statistics pass and the backward's first pass take two images at a time
// (CpuFast.BatchNormRowPairs.cs); the rectified store runs sixteen lanes on AVX-512 (elementwise, same bits).
// Legend: x, dx [N, C, HW]; y, dy [N, CY, HW] with this op's channel ch at CY channel yOffset + ch.
public partial class CpuBackend
{
    /// <inheritdoc/>
    public override void BatchNorm2dReluForward(Storage x, Storage? weight, Storage? bias, Storage y, int yChannels, int yOffset,
        Storage mean, Storage invStd, Storage? runningMean, Storage? runningVar, int n, int c, int hw, float eps, float momentum, bool training,
        int[]? validColumns = null, int width = 0)
    {
        BatchNorm2dMask.Check("batchnorm2d_relu", validColumns, n, hw, width);
        float[] xv = F(x), yv = F(y), mv = F(mean), sv = F(invStd);
        float[]? wv = weight is null ? null : F(weight), bv = bias is null ? null : F(bias);
        float[]? rm = runningMean is null ? null : F(runningMean), rv = runningVar is null ? null : F(runningVar);
        if (!training && (rm is null || rv is null))
            throw new ArgumentException("batchnorm2d_relu: eval mode needs the running mean and variance");
        ForChunks(c, 3L * n * c * hw, (c0, c1) =>
        {
            for (int ch = c0; ch < c1; ch++)
            {
                var (mu, istd) = ChannelStatistics(xv, n, c, hw, ch, training, rm, rv, eps, momentum, validColumns, width);
                mv[ch] = (float)mu;
                sv[ch] = (float)istd;
                double scale = istd * (wv is null ? 1.0 : wv[ch]), shift = bv is null ? 0.0 : bv[ch];
                for (int i = 0; i < n; i++)
                {
                    var (pieces, length, stride) = Pieces(validColumns, i, hw, width);
                    for (int p = 0; p < pieces; p++)
                    {
                        var yp = yv.AsSpan((i * yChannels + yOffset + ch) * hw + p * stride, stride);
                        ScaleShiftRelu(Row(xv, i, ch, c, hw).Slice(p * stride, length), (float)mu, (float)scale, (float)shift, yp);
                        yp[length..].Clear();
                    }
                }
            }
        });
    }

    /// <inheritdoc/>
    public override void BatchNorm2dReluBackward(Storage dy, Storage y, int yChannels, int yOffset, Storage x, Storage? weight,
        Storage mean, Storage invStd, Storage dx, Storage? dWeight, Storage? dBias, int n, int c, int hw, bool training, Storage? dxChannelSum = null,
        int[]? validColumns = null, int width = 0)
    {
        BatchNorm2dMask.Check("batchnorm2d_relu backward", validColumns, n, hw, width);
        float[] dyv = F(dy), yv = F(y), xv = F(x), mv = F(mean), sv = F(invStd), dxv = F(dx);
        float[]? wv = weight is null ? null : F(weight);
        float[]? dwv = dWeight is null ? null : F(dWeight), dbv = dBias is null ? null : F(dBias), dsv = dxChannelSum is null ? null : F(dxChannelSum);
        long count = BatchNorm2dMask.Count(validColumns, n, hw, width);
        ForChunks(c, 5L * n * c * hw, (c0, c1) =>
        {
            for (int ch = c0; ch < c1; ch++)
            {
                float mu = mv[ch];
                double istd = sv[ch], w = wv is null ? 1.0 : wv[ch];
                int yc = yOffset + ch;
                double sumDy = 0, sumDyXc = 0; // Σg, Σg·(x − mean) with g = dy where y > 0
                for (int i = 0; i < n; i++)
                {
                    if (validColumns is null && i + 1 < n)
                    {
                        // two images at once, each row its own sums, added in image order
                        var (a0, b0, a1, b1) = SumAndCenteredDotRelu2(Row(dyv, i, yc, yChannels, hw), Row(yv, i, yc, yChannels, hw), Row(xv, i, ch, c, hw),
                            Row(dyv, i + 1, yc, yChannels, hw), Row(yv, i + 1, yc, yChannels, hw), Row(xv, i + 1, ch, c, hw), mu);
                        sumDy += a0;
                        sumDyXc += b0;
                        sumDy += a1;
                        sumDyXc += b1;
                        i++;
                        continue;
                    }
                    var (pieces, length, stride) = Pieces(validColumns, i, hw, width);
                    for (int p = 0; p < pieces; p++)
                    {
                        var (a, b) = SumAndCenteredDotRelu(Row(dyv, i, yc, yChannels, hw).Slice(p * stride, length),
                            Row(yv, i, yc, yChannels, hw).Slice(p * stride, length), Row(xv, i, ch, c, hw).Slice(p * stride, length), mu);
                        sumDy += a;
                        sumDyXc += b;
                    }
                }
                double sumDyXhat = sumDyXc * istd;
                if (dbv is not null) dbv[ch] = (float)sumDy;
                if (dwv is not null) dwv[ch] = (float)sumDyXhat;
                double k = w * istd, dxSum = 0;
                for (int i = 0; i < n; i++)
                {
                    var (pieces, length, stride) = Pieces(validColumns, i, hw, width);
                    if (training && dsv is not null && pieces == 1 && length == hw)
                    {
                        dxSum += BatchNormReluRowBackwardSum(Row(dyv, i, yc, yChannels, hw), Row(yv, i, yc, yChannels, hw), Row(xv, i, ch, c, hw), mu,
                            (float)k, (float)(sumDy / count), (float)(istd * sumDyXhat / count), dxv.AsSpan((i * c + ch) * hw, hw));
                        continue;
                    }
                    for (int p = 0; p < pieces; p++)
                    {
                        var d = dxv.AsSpan((i * c + ch) * hw + p * stride, stride);
                        var g = Row(dyv, i, yc, yChannels, hw).Slice(p * stride, length);
                        var yr = Row(yv, i, yc, yChannels, hw).Slice(p * stride, length);
                        if (training)
                            BatchNormReluRowBackward(g, yr, Row(xv, i, ch, c, hw).Slice(p * stride, length), mu,
                                (float)k, (float)(sumDy / count), (float)(istd * sumDyXhat / count), d);
                        else
                            ScaleRelu(g, yr, (float)k, d);
                        d[length..].Clear();
                    }
                    if (dsv is not null) dxSum += FixedSum.Sum(dxv.AsSpan((i * c + ch) * hw, hw)); // SumTo's order: a row's vector sum, rows added in double
                }
                if (dsv is not null) dsv[ch] = (float)dxSum;
            }
        });
    }

    /// <summary>
    /// Channel ch's mean and 1/σ over x [N, C, HW] (its valid columns only when masked, as BatchNorm2dForward): in training the batch statistics (double sums, the order of
    /// BatchNorm2dForward's) with the running buffers moved by momentum; in eval the running ones.
    /// </summary>
    private static (double Mean, double InvStd) ChannelStatistics(float[] xv, int n, int c, int hw, int ch, bool training,
        float[]? rm, float[]? rv, float eps, float momentum, int[]? validColumns = null, int width = 0)
    {
        if (!training) return (rm![ch], 1.0 / Math.Sqrt(rv![ch] + (double)eps));
        long count = BatchNorm2dMask.Count(validColumns, n, hw, width);
        double sum = 0;
        for (int i = 0; i < n; i++)
        {
            var (pieces, length, stride) = Pieces(validColumns, i, hw, width);
            for (int p = 0; p < pieces; p++) sum += FixedSum.Sum(Row(xv, i, ch, c, hw).Slice(p * stride, length));
        }
        double mu = sum / count;
        double sq = 0;
        for (int i = 0; i < n; i++)
        {
            if (validColumns is null && i + 1 < n)
            {
                // two images at once, each row its own sum, added in image order
                var (s0, s1) = SumSquaredDeviation2(Row(xv, i, ch, c, hw), Row(xv, i + 1, ch, c, hw), (float)mu);
                sq += s0;
                sq += s1;
                i++;
                continue;
            }
            var (pieces, length, stride) = Pieces(validColumns, i, hw, width);
            for (int p = 0; p < pieces; p++) sq += SumSquaredDeviation(Row(xv, i, ch, c, hw).Slice(p * stride, length), (float)mu);
        }
        if (rm is not null) rm[ch] = (float)((1 - momentum) * (double)rm[ch] + momentum * mu);
        if (rv is not null) rv[ch] = (float)((1 - momentum) * (double)rv[ch] + momentum * (sq / (count - 1)));
        return (mu, 1.0 / Math.Sqrt(sq / count + eps));
    }

    /// <summary>y = ReLU((x − mu)·scale + shift): ScaleShift, then the rectifier's select.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ScaleShiftRelu(ReadOnlySpan<float> x, float mu, float scale, float shift, Span<float> y)
    {
        int i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            var wm = Vector512.Create(mu);
            var ws = Vector512.Create(scale);
            var wb = Vector512.Create(shift);
            for (; i + 16 <= x.Length; i += 16)
            {
                var v = (Vector512.Create(x.Slice(i, 16)) - wm) * ws + wb;
                Vector512.ConditionalSelect(Vector512.GreaterThan(v, Vector512<float>.Zero), v, Vector512<float>.Zero).CopyTo(y.Slice(i, 16));
            }
        }
        var vm = Vector256.Create(mu);
        var vs = Vector256.Create(scale);
        var vb = Vector256.Create(shift);
        for (; i + 8 <= x.Length; i += 8)
        {
            var v = (Vector256.Create(x.Slice(i, 8)) - vm) * vs + vb;
            Vector256.ConditionalSelect(Vector256.GreaterThan(v, Vector256<float>.Zero), v, Vector256<float>.Zero).CopyTo(y.Slice(i, 8));
        }
        for (; i < x.Length; i++)
        {
            float v = (x[i] - mu) * scale + shift;
            y[i] = Positive(v, v);
        }
    }

    /// <summary>(Σ g, Σ g·(x − mu)) for g = dy where y &gt; 0, as SumAndCenteredDot over the masked dy.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static (double SumDy, double SumDyXc) SumAndCenteredDotRelu(ReadOnlySpan<float> dy, ReadOnlySpan<float> y, ReadOnlySpan<float> x, float mu)
    {
        var a = Vector256<float>.Zero;
        var b = Vector256<float>.Zero;
        var m = Vector256.Create(mu);
        int i = 0;
        for (; i + 8 <= dy.Length; i += 8)
        {
            var g = Vector256.ConditionalSelect(Vector256.GreaterThan(Vector256.Create(y.Slice(i, 8)), Vector256<float>.Zero),
                Vector256.Create(dy.Slice(i, 8)), Vector256<float>.Zero);
            a += g;
            b += g * (Vector256.Create(x.Slice(i, 8)) - m);
        }
        double sa = Vector256.Sum(a), sb = Vector256.Sum(b);
        for (; i < dy.Length; i++)
        {
            float g = Positive(y[i], dy[i]);
            sa += g;
            sb += (double)g * (x[i] - mu);
        }
        return (sa, sb);
    }

    /// <summary>d = k·(g − meanDy − (x − mu)·q) for g = dy where y &gt; 0, as BatchNormRowBackward over the masked dy.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void BatchNormReluRowBackward(ReadOnlySpan<float> dy, ReadOnlySpan<float> y, ReadOnlySpan<float> x, float mu, float k, float meanDy, float q, Span<float> d)
    {
        var vk = Vector256.Create(k);
        var vm = Vector256.Create(meanDy);
        var vq = Vector256.Create(q);
        var vmu = Vector256.Create(mu);
        int i = 0;
        for (; i + 8 <= dy.Length; i += 8)
        {
            var g = Vector256.ConditionalSelect(Vector256.GreaterThan(Vector256.Create(y.Slice(i, 8)), Vector256<float>.Zero),
                Vector256.Create(dy.Slice(i, 8)), Vector256<float>.Zero);
            var xc = Vector256.Create(x.Slice(i, 8)) - vmu;
            (vk * (g - vm - xc * vq)).CopyTo(d.Slice(i, 8));
        }
        for (; i < dy.Length; i++)
        {
            float g = Positive(y[i], dy[i]);
            d[i] = k * (g - meanDy - (x[i] - mu) * q);
        }
    }

    /// <summary>d = g·k for g = dy where y &gt; 0 (eval mode's backward).</summary>
    private static void ScaleRelu(ReadOnlySpan<float> dy, ReadOnlySpan<float> y, float k, Span<float> d)
    {
        for (int i = 0; i < dy.Length; i++) d[i] = Positive(y[i], dy[i]) * k;
    }

    /// <summary>v where y &gt; 0, else +0 (the rectifier's select), without a branch: masked rows leave short tails whose sign is unpredictable.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Positive(float y, float v) => BitConverter.Int32BitsToSingle(BitConverter.SingleToInt32Bits(v) & -(y > 0 ? 1 : 0));
}
