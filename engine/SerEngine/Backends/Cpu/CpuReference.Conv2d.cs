namespace SerEngine.Backends.Cpu;

// Conv2d as plain loops (cross-correlation, as PyTorch), accumulated in double: the oracle.
// Legend: x [N, C, H, W], w [K, C, R, S], y [N, K, OutH, OutW].
// Input row of output row oh and kernel row r: ih = oh·strideH − padTop + r·dilH (likewise iw);
// positions outside 0..H−1 / 0..W−1 are the zero padding.
public partial class CpuReferenceBackend
{
    /// <inheritdoc/>
    public override void Conv2dForward(Storage x, Storage w, Storage? bias, Storage y, in Conv2dGeometry g)
    {
        float[] xv = F(x), wv = F(w), yv = F(y); // [N, C, H, W], [K, C, R, S], [N, K, OutH, OutW]
        float[]? bv = bias is null ? null : F(bias); // [K]
        int outH = g.OutH, outW = g.OutW;
        for (int n = 0; n < g.N; n++)
            for (int k = 0; k < g.K; k++)
                for (int oh = 0; oh < outH; oh++)
                    for (int ow = 0; ow < outW; ow++)
                    {
                        double acc = bv is null ? 0 : bv[k];
                        for (int c = 0; c < g.C; c++)
                            for (int r = 0; r < g.R; r++)
                            {
                                int ih = oh * g.StrideH - g.PadTop + r * g.DilationH;
                                if (ih < 0 || ih >= g.H) continue;
                                for (int s = 0; s < g.S; s++)
                                {
                                    int iw = ow * g.StrideW - g.PadLeft + s * g.DilationW;
                                    if (iw < 0 || iw >= g.W) continue;
                                    acc += (double)xv[((n * g.C + c) * g.H + ih) * g.W + iw] * wv[((k * g.C + c) * g.R + r) * g.S + s];
                                }
                            }
                        yv[((n * g.K + k) * outH + oh) * outW + ow] = (float)acc;
                    }
    }

    /// <inheritdoc/>
    public override void Conv2dBackwardInput(Storage dy, Storage w, Storage dx, in Conv2dGeometry g)
    {
        float[] dyv = F(dy), wv = F(w), dxv = F(dx); // [N, K, OutH, OutW], [K, C, R, S], [N, C, H, W]
        int outH = g.OutH, outW = g.OutW;
        // Gather form: every input pixel sums the outputs whose window covered it, so each dx
        // element is written once (no scatter), which keeps the double accumulation.
        for (int n = 0; n < g.N; n++)
            for (int c = 0; c < g.C; c++)
                for (int ih = 0; ih < g.H; ih++)
                    for (int iw = 0; iw < g.W; iw++)
                    {
                        double acc = 0;
                        for (int r = 0; r < g.R; r++)
                        {
                            int th = ih + g.PadTop - r * g.DilationH; // = oh·strideH
                            if (th < 0 || th % g.StrideH != 0) continue;
                            int oh = th / g.StrideH;
                            if (oh >= outH) continue;
                            for (int s = 0; s < g.S; s++)
                            {
                                int tw = iw + g.PadLeft - s * g.DilationW;
                                if (tw < 0 || tw % g.StrideW != 0) continue;
                                int ow = tw / g.StrideW;
                                if (ow >= outW) continue;
                                for (int k = 0; k < g.K; k++)
                                    acc += (double)dyv[((n * g.K + k) * outH + oh) * outW + ow] * wv[((k * g.C + c) * g.R + r) * g.S + s];
                            }
                        }
                        dxv[((n * g.C + c) * g.H + ih) * g.W + iw] = (float)acc;
                    }
    }

    /// <inheritdoc/>
    public override void Conv2dBackwardWeight(Storage x, Storage dy, Storage dw, in Conv2dGeometry g)
    {
        float[] xv = F(x), dyv = F(dy), dwv = F(dw); // [N, C, H, W], [N, K, OutH, OutW], [K, C, R, S]
        int outH = g.OutH, outW = g.OutW;
        for (int k = 0; k < g.K; k++)
            for (int c = 0; c < g.C; c++)
                for (int r = 0; r < g.R; r++)
                    for (int s = 0; s < g.S; s++)
                    {
                        double acc = 0;
                        for (int n = 0; n < g.N; n++)
                            for (int oh = 0; oh < outH; oh++)
                            {
                                int ih = oh * g.StrideH - g.PadTop + r * g.DilationH;
                                if (ih < 0 || ih >= g.H) continue;
                                for (int ow = 0; ow < outW; ow++)
                                {
                                    int iw = ow * g.StrideW - g.PadLeft + s * g.DilationW;
                                    if (iw < 0 || iw >= g.W) continue;
                                    acc += (double)dyv[((n * g.K + k) * outH + oh) * outW + ow] * xv[((n * g.C + c) * g.H + ih) * g.W + iw];
                                }
                            }
                        dwv[((k * g.C + c) * g.R + r) * g.S + s] = (float)acc;
                    }
    }
}
