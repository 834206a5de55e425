namespace SerEngine.Backends.Cpu;

// MaxPool2d as plain loops, PyTorch's rule: the window of output (oh, ow) starts at
// (oh·strideH − padH, ow·strideW − padW); padded positions count as −∞ and never win; the first
// maximum in row-major window order wins ties, and a NaN wins over any number (as its kernel:
// `v > best || isnan(v)`).
// Legend: x [N, C, H, W], y and argmax [N, C, OutH, OutW]; argmax = ih·W + iw within its plane.
public partial class CpuReferenceBackend
{
    /// <inheritdoc/>
    public override void MaxPool2dForward(Storage x, Storage y, Storage argmax, in Pool2dGeometry g)
    {
        float[] xv = F(x), yv = F(y); // [N, C, H, W], [N, C, OutH, OutW]
        int[] av = I(argmax);         // [N, C, OutH, OutW]
        int outH = g.OutH, outW = g.OutW;
        for (int plane = 0; plane < g.N * g.C; plane++)
        {
            int xo = plane * g.H * g.W, yo = plane * outH * outW;
            for (int oh = 0; oh < outH; oh++)
                for (int ow = 0; ow < outW; ow++)
                {
                    int h0 = oh * g.StrideH - g.PadH, w0 = ow * g.StrideW - g.PadW;
                    int hs = Math.Max(h0, 0), ws = Math.Max(w0, 0);
                    int he = Math.Min(h0 + g.KernelH, g.H), we = Math.Min(w0 + g.KernelW, g.W);
                    float best = float.NegativeInfinity;
                    int bestAt = hs * g.W + ws;
                    for (int ih = hs; ih < he; ih++)
                        for (int iw = ws; iw < we; iw++)
                        {
                            float v = xv[xo + ih * g.W + iw];
                            if (v > best || float.IsNaN(v))
                            {
                                best = v;
                                bestAt = ih * g.W + iw;
                            }
                        }
                    yv[yo + oh * outW + ow] = best;
                    av[yo + oh * outW + ow] = bestAt;
                }
        }
    }

    /// <inheritdoc/>
    public override void MaxPool2dBackward(Storage dy, Storage argmax, Storage dx, in Pool2dGeometry g)
    {
        float[] dyv = F(dy), dxv = F(dx); // [N, C, OutH, OutW], [N, C, H, W]
        int[] av = I(argmax);             // [N, C, OutH, OutW]
        int outHW = g.OutH * g.OutW, hw = g.H * g.W;
        Array.Clear(dxv, 0, g.N * g.C * hw);
        for (int plane = 0; plane < g.N * g.C; plane++)
            for (int o = 0; o < outHW; o++)
                dxv[plane * hw + av[plane * outHW + o]] += dyv[plane * outHW + o];
    }
}
