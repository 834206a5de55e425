namespace SerEngine.Backends.Cpu;

// Fast MaxPool2d: planes (n, c) are independent and shared among threads. Without padding every
// window lies inside the image (floor mode), so the window loop needs no clamping; with padding the
// reference's clamped loop runs per plane. The winner rule is the reference's exactly: row-major
// window order, first maximum wins ties, a NaN wins (`v > best || isnan(v)`).
// Backward: each plane of dx is cleared, then every dy is added at its argmax.
public partial class CpuBackend
{
    /// <inheritdoc/>
    public override void MaxPool2dForward(Storage x, Storage y, Storage argmax, in Pool2dGeometry g)
    {
        float[] xv = F(x), yv = F(y); // [N, C, H, W], [N, C, OutH, OutW]
        int[] av = I(argmax);         // [N, C, OutH, OutW]
        var geo = g;
        int planes = g.N * g.C;
        ForChunks(planes, (long)planes * g.OutH * g.OutW * g.KernelH * g.KernelW, (p0, p1) =>
        {
            for (int plane = p0; plane < p1; plane++)
                MaxPoolPlane(xv, yv, av, plane, geo);
        });
    }

    private static void MaxPoolPlane(float[] xv, float[] yv, int[] av, int plane, in Pool2dGeometry g)
    {
        int outH = g.OutH, outW = g.OutW, w = g.W;
        int xo = plane * g.H * g.W, yo = plane * outH * outW;
        var xp = xv.AsSpan(xo, g.H * g.W);
        var yp = yv.AsSpan(yo, outH * outW);
        var ap = av.AsSpan(yo, outH * outW);
        bool inside = g.PadH == 0 && g.PadW == 0;
        for (int oh = 0; oh < outH; oh++)
        {
            int h0 = oh * g.StrideH - g.PadH;
            int hs = Math.Max(h0, 0), he = Math.Min(h0 + g.KernelH, g.H);
            for (int ow = 0; ow < outW; ow++)
            {
                int w0 = ow * g.StrideW - g.PadW;
                int ws = inside ? w0 : Math.Max(w0, 0), we = inside ? w0 + g.KernelW : Math.Min(w0 + g.KernelW, w);
                float best = float.NegativeInfinity;
                int bestAt = hs * w + ws;
                for (int ih = hs; ih < he; ih++)
                {
                    int rowAt = ih * w;
                    for (int iw = ws; iw < we; iw++)
                    {
                        float v = xp[rowAt + iw];
                        if (v > best || float.IsNaN(v))
                        {
                            best = v;
                            bestAt = rowAt + iw;
                        }
                    }
                }
                yp[oh * outW + ow] = best;
                ap[oh * outW + ow] = bestAt;
            }
        }
    }

    /// <inheritdoc/>
    public override void MaxPool2dBackward(Storage dy, Storage argmax, Storage dx, in Pool2dGeometry g)
    {
        float[] dyv = F(dy), dxv = F(dx); // [N, C, OutH, OutW], [N, C, H, W]
        int[] av = I(argmax);             // [N, C, OutH, OutW]
        int outHW = g.OutH * g.OutW, hw = g.H * g.W, planes = g.N * g.C;
        ForChunks(planes, (long)planes * (hw + outHW), (p0, p1) =>
        {
            for (int plane = p0; plane < p1; plane++)
            {
                var d = dxv.AsSpan(plane * hw, hw);
                d.Clear();
                var g1 = dyv.AsSpan(plane * outHW, outHW);
                var a = av.AsSpan(plane * outHW, outHW);
                for (int o = 0; o < outHW; o++) d[a[o]] += g1[o];
            }
        });
    }
}
