using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace SerEngine.Backends.Cpu;

// Fast MaxPool2d(ReLU(BatchNorm2d(x))) (Backend.BatchNormReluMaxPool.cs): per channel the batch
// statistics as BatchNorm2dReluForward, then each image's plane is normalised and rectified into a
// plane-sized scratch buffer (in L1) and pooled from there (MaxPoolPlane), so the pre-pool map never
// reaches memory. Backward: the masked gradient (dyPool added at the winner where yPool > 0, as
// MaxPool2dBackward then the rectifier's mask) of one channel's planes is built in a per-thread
// workspace by the batch norm's first pass and read again (from L2) by its second. Same float
// operations in the same order as the separate primitives. 2×2 pools with rows of eight outputs or
// more skip the plane buffer and the scatter (CpuFast.BatchNormReluMaxPool2x2.cs, its 512-bit forward
// in CpuFast.BatchNormReluMaxPool2x2Wide.cs). The backward's first pass prefetches the next image's rows
// (RowPrefetch) and sums two images' rows at once; its second sums dx as it stores it
// (CpuFast.BatchNormRowsWide.cs).
// Legend: x, dx [N, C, H, W]; yPool, dyPool, argmax [N, C, OutH, OutW].
public partial class CpuBackend
{
    /// <summary>Largest plane (H·W) whose scratch buffer goes on the stack.</summary>
    private const int StackPlane = 4096;

    /// <summary>Per-thread workspace of BatchNorm2dReluMaxPoolBackward (CpuScratch).</summary>
    [ThreadStatic] private static float[]? t_maskedPoolGradient;

    /// <inheritdoc/>
    public override unsafe void BatchNorm2dReluMaxPoolForward(Storage x, Storage? weight, Storage? bias, Storage yPool, Storage argmax,
        Storage mean, Storage invStd, Storage? runningMean, Storage? runningVar, in Pool2dGeometry g, float eps, float momentum, bool training)
    {
        if (g.PadH != 0 || g.PadW != 0)
        {
            base.BatchNorm2dReluMaxPoolForward(x, weight, bias, yPool, argmax, mean, invStd, runningMean, runningVar, g, eps, momentum, training);
            return;
        }
        float[] xv = F(x), yv = F(yPool), mv = F(mean), sv = F(invStd);
        int[] av = I(argmax);
        float[]? wv = weight is null ? null : F(weight), bv = bias is null ? null : F(bias);
        float[]? rm = runningMean is null ? null : F(runningMean), rv = runningVar is null ? null : F(runningVar);
        if (!training && (rm is null || rv is null))
            throw new ArgumentException("batchnorm2d_relu_maxpool2d: eval mode needs the running mean and variance");
        var geo = g;
        int n = g.N, c = g.C, hw = g.H * g.W, outHW = g.OutH * g.OutW;
        int pool2x2 = Pool2x2Lanes(g);
        ForChunks(c, 3L * n * c * hw, (c0, c1) =>
        {
            Span<float> plane = hw <= StackPlane ? stackalloc float[hw] : new float[hw]; // [H, W]
            for (int ch = c0; ch < c1; ch++)
            {
                var (mu, istd) = ChannelStatistics(xv, n, c, hw, ch, training, rm, rv, eps, momentum);
                mv[ch] = (float)mu;
                sv[ch] = (float)istd;
                double scale = istd * (wv is null ? 1.0 : wv[ch]), shift = bv is null ? 0.0 : bv[ch];
                if (pool2x2 != 0)
                {
                    fixed (float* xp = xv, yp = yv)
                    fixed (int* ap = av)
                        for (int i = 0; i < n; i++)
                        {
                            int o = (i * c + ch) * outHW;
                            if (pool2x2 == 16)
                                ScaleShiftReluMaxPool2x2Wide(xp + (long)(i * c + ch) * hw, (float)mu, (float)scale, (float)shift, yp + o, ap + o, geo.W, geo.OutH, geo.OutW);
                            else
                                ScaleShiftReluMaxPool2x2(xp + (long)(i * c + ch) * hw, (float)mu, (float)scale, (float)shift, yp + o, ap + o, geo.W, geo.OutH, geo.OutW);
                        }
                    continue;
                }
                for (int i = 0; i < n; i++)
                {
                    ScaleShiftRelu(Row(xv, i, ch, c, hw), (float)mu, (float)scale, (float)shift, plane);
                    int o = (i * c + ch) * outHW;
                    MaxPoolPlane(plane, yv.AsSpan(o, outHW), av.AsSpan(o, outHW), geo);
                }
            }
        });
    }

    /// <inheritdoc/>
    public override unsafe void BatchNorm2dReluMaxPoolBackward(Storage dyPool, Storage yPool, Storage argmax, Storage x, Storage? weight,
        Storage mean, Storage invStd, Storage dx, Storage? dWeight, Storage? dBias, in Pool2dGeometry g, bool training, Storage? dxChannelSum = null)
    {
        float[] gv = F(dyPool), ypv = F(yPool), xv = F(x), mv = F(mean), sv = F(invStd), dxv = F(dx);
        int[] av = I(argmax);
        float[]? wv = weight is null ? null : F(weight);
        float[]? dwv = dWeight is null ? null : F(dWeight), dbv = dBias is null ? null : F(dBias), dsv = dxChannelSum is null ? null : F(dxChannelSum);
        int n = g.N, c = g.C, hw = g.H * g.W, outHW = g.OutH * g.OutW;
        long count = (long)n * hw;
        var geo = g;
        int pool2x2 = Pool2x2Lanes(g);
        ForChunks(c, 3L * n * c * hw, (c0, c1) =>
        {
            // [N, H, W]: one channel's masked gradient, built in the first pass and read again (from L2) in the second
            float* planes = CpuScratch.Floats(ref t_maskedPoolGradient, (long)n * hw);
            for (int ch = c0; ch < c1; ch++)
            {
                float mu = mv[ch];
                double istd = sv[ch], w = wv is null ? 1.0 : wv[ch];
                double sumDy = 0, sumDyXc = 0; // Σg, Σg·(x − mean)
                for (int i = 0; i < n; i++)
                {
                    var plane = new Span<float>(planes + (long)i * hw, hw);
                    int o = (i * c + ch) * outHW;
                    RowPrefetch.Row(xv, i + 1, n, ch, c, hw);
                    RowPrefetch.Row(gv, i + 1, n, ch, c, outHW);
                    RowPrefetch.Row(ypv, i + 1, n, ch, c, outHW);
                    RowPrefetch.Row(av, i + 1, n, ch, c, outHW);
                    if (pool2x2 != 0)
                        fixed (float* gp = gv, yp = ypv)
                        fixed (int* ap = av)
                            MaskedPoolGradient2x2(gp + o, yp + o, ap + o, planes + (long)i * hw, geo.H, geo.W, geo.OutH, geo.OutW);
                    else
                        MaskedPoolGradient(gv, ypv, av, o, outHW, plane);
                    // two images' sums at once: two independent accumulator chains, each row's own order, added in image order
                    if ((i & 1) == 1)
                    {
                        var (a0, b0, a1, b1) = SumAndCenteredDot2(new Span<float>(planes + (long)(i - 1) * hw, hw), Row(xv, i - 1, ch, c, hw), plane, Row(xv, i, ch, c, hw), mu);
                        sumDy += a0;
                        sumDyXc += b0;
                        sumDy += a1;
                        sumDyXc += b1;
                        continue;
                    }
                    if (i + 1 < n) continue;
                    var (a, b) = SumAndCenteredDot(plane, Row(xv, i, ch, c, hw), mu);
                    sumDy += a;
                    sumDyXc += b;
                }
                double sumDyXhat = sumDyXc * istd;
                if (dbv is not null) dbv[ch] = (float)sumDy;
                if (dwv is not null) dwv[ch] = (float)sumDyXhat;
                double k = w * istd, dxSum = 0;
                for (int i = 0; i < n; i++)
                {
                    var plane = new ReadOnlySpan<float>(planes + (long)i * hw, hw);
                    var d = dxv.AsSpan((i * c + ch) * hw, hw);
                    if (training && dsv is not null)
                    {
                        dxSum += BatchNormRowBackwardSum(plane, Row(xv, i, ch, c, hw), mu, (float)k, (float)(sumDy / count), (float)(istd * sumDyXhat / count), d);
                        continue;
                    }
                    if (training)
                        BatchNormRowBackward(plane, Row(xv, i, ch, c, hw), mu, (float)k, (float)(sumDy / count), (float)(istd * sumDyXhat / count), d);
                    else
                        for (int j = 0; j < hw; j++) d[j] = plane[j] * (float)k;
                    if (dsv is not null) dxSum += FixedSum.Sum(d); // SumTo's order: a row's vector sum, rows added in double
                }
                if (dsv is not null) dsv[ch] = (float)dxSum;
            }
        });
    }

    /// <summary>One plane of the pool's input gradient with the rectifier's mask: 0, plus dyPool at each winner whose pooled value is &gt; 0.</summary>
    /// Branch-free (masked-out winners add +0, as the mask after the sum would leave): whether a pooled value is &gt; 0 is unpredictable.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void MaskedPoolGradient(float[] dyPool, float[] yPool, int[] argmax, int offset, int outHW, Span<float> plane)
    {
        plane.Clear();
        var g = dyPool.AsSpan(offset, outHW);
        var y = yPool.AsSpan(offset, outHW);
        var a = argmax.AsSpan(offset, outHW);
        Span<float> v = stackalloc float[8];
        int o = 0;
        for (; o + 8 <= outHW; o += 8)
        {
            Vector256.ConditionalSelect(Vector256.GreaterThan(Vector256.Create(y.Slice(o, 8)), Vector256<float>.Zero),
                Vector256.Create(g.Slice(o, 8)), Vector256<float>.Zero).CopyTo(v);
            for (int j = 0; j < 8; j++) plane[a[o + j]] += v[j];
        }
        for (; o < outHW; o++) plane[a[o]] += y[o] > 0 ? g[o] : 0f;
    }
}
