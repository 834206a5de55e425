using ILGPU;

namespace SerEngine.Ilgpu.Kernels;

/// <summary>Pooling geometry (kernels/maxpool2d.cl's POOL_GEOMETRY): planes = N·C planes of H×W, output OH×OW.</summary>
internal readonly record struct PoolGeometry(int Planes, int H, int W, int OH, int OW, int KH, int KW, int StrideH, int StrideW, int PadH, int PadW);

/// <summary>
/// 2-D max pooling, the twin of kernels/maxpool2d.cl (maxpool2d_fwd, maxpool2d_bwd). argmax holds the
/// winner's flat index h·W + w within its plane; padded positions never win; ties keep the first in
/// row-major window order; a NaN wins (as in PyTorch). The backward pass is a gather (no atomics).
/// One thread per output (forward) or input (backward) element, grid-stride.
/// </summary>
internal static class MaxPool2dKernels
{
    /// <summary>maxpool2d_fwd: y, argmax [planes, OH, OW] from x [planes, H, W].</summary>
    public static void Forward(ArrayView<float> x, ArrayView<float> y, ArrayView<int> argmax, PoolGeometry g)
    {
        int p0 = g.OH * g.OW, total = g.Planes * p0;
        for (int idx = Grid.GlobalIndex.X; idx < total; idx += Grid.DimX * Group.DimX)
        {
            int plane = idx / p0, p = idx - plane * p0, oh = p / g.OW, ow = p - oh * g.OW;
            int h0 = oh * g.StrideH - g.PadH, w0 = ow * g.StrideW - g.PadW;
            int hs = Math.Max(h0, 0), ws = Math.Max(w0, 0), he = Math.Min(h0 + g.KH, g.H), we = Math.Min(w0 + g.KW, g.W);
            int xp = plane * g.H * g.W, best = hs * g.W + ws;
            float bestValue = float.NegativeInfinity;
            for (int h = hs; h < he; h++)
            {
                for (int w = ws; w < we; w++)
                {
                    float v = x[xp + h * g.W + w];
                    if (v > bestValue || float.IsNaN(v))
                    {
                        bestValue = v;
                        best = h * g.W + w;
                    }
                }
            }
            y[idx] = bestValue;
            argmax[idx] = best;
        }
    }

    /// <summary>maxpool2d_bwd: dx [planes, H, W] sums dy over the windows whose argmax points at it, in (oh, ow) order.</summary>
    public static void Backward(ArrayView<float> dy, ArrayView<int> argmax, ArrayView<float> dx, PoolGeometry g)
    {
        int hw0 = g.H * g.W, total = g.Planes * hw0, p0 = g.OH * g.OW;
        for (int idx = Grid.GlobalIndex.X; idx < total; idx += Grid.DimX * Group.DimX)
        {
            int plane = idx / hw0, i = idx - plane * hw0, h = i / g.W, w = i - h * g.W;
            // outputs whose window covers row h: oh·strideH − padH ≤ h ≤ oh·strideH − padH + kH − 1
            int ohs = h + g.PadH < g.KH ? 0 : (h + g.PadH - g.KH) / g.StrideH + 1;
            int ohe = Math.Min((h + g.PadH) / g.StrideH + 1, g.OH);
            int ows = w + g.PadW < g.KW ? 0 : (w + g.PadW - g.KW) / g.StrideW + 1;
            int owe = Math.Min((w + g.PadW) / g.StrideW + 1, g.OW);
            int o = plane * p0;
            float acc = 0f;
            for (int oh = ohs; oh < ohe; oh++)
                for (int ow = ows; ow < owe; ow++)
                    if (argmax[o + oh * g.OW + ow] == i) acc += dy[o + oh * g.OW + ow];
            dx[idx] = acc;
        }
    }
}
