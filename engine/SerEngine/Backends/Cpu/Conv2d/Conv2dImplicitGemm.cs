using System.Numerics.Tensors;
using static SerEngine.Backends.Cpu.CpuBackend;

namespace SerEngine.Backends.Cpu;

// Conv2d on the GEMM driver of CpuFast.Gemm.cs, as implicit GEMMs: the im2col matrix
// col [C·R·S, OutH·OutW] of an image (col[(c, r, s), (oh, ow)] = x[c, oh·sh − pt + r·dh, ow·sw − pl + s·dw],
// zero outside the image) is never formed; the packing routines of Conv2dGemmOperands.cs read x through it.
// Legend: x [N, C, H, W], w [K, C, R, S] = [K, CRS], y and dy [N, K, OutH, OutW] = [N, K, OHW].
//   forward          y[n]  [K, OHW]   = w [K, CRS] · col(x[n]) [CRS, OHW]        (+ bias; items = images)
//   backward-weight  dw    [K, CRS]   = Σ_n dy[n] [K, OHW] · col(x[n])ᵀ [OHW, CRS] (one GEMM, k = N·OHW)
//   backward-input   dcol  [CRS, OHW] = wᵀ [CRS, K] · dy[n] [K, OHW], then col2im: dx[n] = Σ dcol
//                    scattered back to the input pixels (a few images at a time, col2im per channel).
//                    The routing gives it the strided backward-inputs (and those with padding beyond
//                    the kernel's extent), which have no stride-1 adjoint for the other paths.
// It runs every geometry: the routing's fallback (Conv2dRouting.cs).
internal static class Conv2dImplicitGemm
{
    /// <summary>y = conv(x, w) + bias (ReLU, when asked, is the caller's: the backend's Unary after this).</summary>
    public static unsafe void Forward(CpuBackend cpu, float[] x, float[] w, float[]? bias, float[] y, in Conv2dGeometry g)
    {
        int ohw = g.OutH * g.OutW, crs = g.C * g.R * g.S;
        if (bias is not null)
            for (int n = 0; n < g.N; n++)
                for (int k = 0; k < g.K; k++) y.AsSpan((n * g.K + k) * ohw, ohw).Fill(bias[k]);
        fixed (float* px = x, pw = w, py = y)
        {
            var a = new PlainA(pw, 0, false, g.K, crs);
            var b = new Conv2dColumns(px, g);
            cpu.GemmRun(a, b, g.N, g.K, ohw, crs, 1f, bias is null ? 0f : 1f, py, (long)g.K * ohw, cpu.Threads, aShared: true);
        }
    }

    /// <summary>dw = Σ_n dy[n] · col(x[n])ᵀ as one GEMM.</summary>
    public static unsafe void BackwardWeight(CpuBackend cpu, float[] x, float[] dy, float[] dw, in Conv2dGeometry g)
    {
        int ohw = g.OutH * g.OutW, crs = g.C * g.R * g.S;
        fixed (float* px = x, pdy = dy, pdw = dw)
        {
            var a = new Conv2dOutputRows(pdy, g.K, ohw);
            var b = new Conv2dColumnsTransposed(px, g);
            cpu.GemmRun(a, b, 1, g.K, crs, g.N * ohw, 1f, 0f, pdw, 0, cpu.Threads);
        }
    }

    /// <summary>dx: dcol = wᵀ · dy[n] for a group of images, then col2im per (image, channel).</summary>
    public static unsafe void BackwardInput(CpuBackend cpu, float[] dy, float[] w, float[] dx, in Conv2dGeometry g)
    {
        int ohw = g.OutH * g.OutW, crs = g.C * g.R * g.S, threads = cpu.Threads;
        // images per group: enough to share among the threads, with dcol capped at ~16 M floats
        long perImage = (long)crs * ohw;
        int group = (int)Math.Clamp((1L << 24) / Math.Max(perImage, 1), 1, Math.Max(1, Math.Min(g.N, 2 * threads)));
        var dcol = GC.AllocateUninitializedArray<float>((int)(group * perImage)); // [group, CRS, OHW]
        var geo = g;
        fixed (float* pdy = dy, pw = w, pcol = dcol)
        {
            var a = new PlainA(pw, 0, true, crs, g.K);
            for (int n0 = 0; n0 < g.N; n0 += group)
            {
                int count = Math.Min(group, g.N - n0);
                var b = new PlainB(pdy + (long)n0 * g.K * ohw, (long)g.K * ohw, false, g.K, ohw);
                cpu.GemmRun(a, b, count, crs, ohw, g.K, 1f, 0f, pcol, perImage, threads, aShared: true);
                int first = n0;
                ParallelFor(count * g.C, count * perImage >= 1 << 16 ? threads : 1,
                    plane => Col2Im(dcol, (plane / geo.C) * perImage, dx, first + plane / geo.C, plane % geo.C, geo));
            }
        }
    }

    /// <summary>dx[n, c] = the dcol rows (c, r, s) of one image added back onto the pixels they were read from.</summary>
    private static void Col2Im(float[] dcol, long colOffset, float[] dx, int n, int c, in Conv2dGeometry g)
    {
        int outH = g.OutH, outW = g.OutW, hw = g.H * g.W;
        var plane = dx.AsSpan((n * g.C + c) * hw, hw); // [H, W]
        plane.Clear();
        for (int r = 0; r < g.R; r++)
            for (int s = 0; s < g.S; s++)
            {
                long row = colOffset + ((long)(c * g.R + r) * g.S + s) * outH * outW; // dcol[(c, r, s), :]
                int shift = s * g.DilationW - g.PadLeft;
                // output columns whose input column iw = ow·sw + shift lies inside 0..W−1
                int owStart = shift >= 0 ? 0 : (-shift + g.StrideW - 1) / g.StrideW;
                int owEnd = Math.Min(outW, g.W - 1 - shift < 0 ? 0 : (g.W - 1 - shift) / g.StrideW + 1);
                if (owStart >= owEnd) continue;
                for (int oh = 0; oh < outH; oh++)
                {
                    int ih = oh * g.StrideH - g.PadTop + r * g.DilationH;
                    if ((uint)ih >= (uint)g.H) continue;
                    var src = dcol.AsSpan((int)(row + oh * outW + owStart), owEnd - owStart);
                    int iw0 = owStart * g.StrideW + shift;
                    if (g.StrideW == 1)
                    {
                        var dst = plane.Slice(ih * g.W + iw0, src.Length);
                        TensorPrimitives.Add(dst, src, dst);
                    }
                    else
                    {
                        for (int i = 0; i < src.Length; i++) plane[ih * g.W + iw0 + i * g.StrideW] += src[i];
                    }
                }
            }
    }
}
