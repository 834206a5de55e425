using ILGPU;
using static SerEngine.Ilgpu.Kernels.Conv2dKernels;

namespace SerEngine.Ilgpu.Kernels;

/// <summary>
/// The implicit_gemm variant of conv2d (see <see cref="Conv2dKernels"/>): fwd_implicit_gemm,
/// bwd_input_implicit_gemm and bwd_weight_implicit_gemm, line for line the kernels of
/// kernels/conv2d.cl. Grid: x over column tiles (TSN), y over row tiles (TSM), z over split-K chunks
/// (backward-weight); group 16×8. Shared slabs As [TSK, TSM] and Bs [TSK, TSN]; each thread keeps a
/// WPTM×WPTN block of C in a local array.
/// </summary>
internal static class Conv2dImplicitGemmKernels
{
    /// <summary>acc[wm·WPTN + wn] += Σ_q As[q, ly + wm·RTSM] · Bs[q, lx + wn·RTSN] over one staged slab pair.</summary>
    private static void Accumulate(ArrayView<float> As, ArrayView<float> Bs, ArrayView<float> acc, ArrayView<float> ar, ArrayView<float> br, int lx, int ly)
    {
        for (int q = 0; q < TSK; q++)
        {
            for (int wm = 0; wm < WPTM; wm++) ar[wm] = As[q * TSM + ly + wm * RTSM];
            for (int wn = 0; wn < WPTN; wn++) br[wn] = Bs[q * TSN + lx + wn * RTSN];
            for (int wm = 0; wm < WPTM; wm++)
                for (int wn = 0; wn < WPTN; wn++) acc[wm * WPTN + wn] += ar[wm] * br[wn];
        }
    }

    /// <summary>Rows k &lt; K, columns (n, oh, ow) &lt; N·P, reduction (c, r, s) &lt; C·R·S.</summary>
    public static void Forward(ArrayView<float> x, ArrayView<float> wt, ArrayView<float> bias, int hasBias, ArrayView<float> y, ConvGeometry g)
    {
        var As = SharedMemory.Allocate<float>(TSK * TSM); // w slab [(c,r,s)][k]
        var Bs = SharedMemory.Allocate<float>(TSK * TSN); // patch slab [(c,r,s)][(n,oh,ow)]
        var acc = LocalMemory.Allocate<float>(WPTM * WPTN);
        var ar = LocalMemory.Allocate<float>(WPTM);
        var br = LocalMemory.Allocate<float>(WPTN);
        int lx = Group.IdxX, ly = Group.IdxY, tid = ly * RTSN + lx;
        int i0 = Grid.IdxY * TSM, j0 = Grid.IdxX * TSN;
        int p0 = g.OH * g.OW, rs0 = g.R * g.S, crs0 = g.C * rs0, np = g.N * p0;

        // The column this thread stages into Bs is the same in every slab: decode it once.
        int jj = tid % TSN, j = j0 + jj;
        int n = j < np ? j / p0 : 0, p = j - n * p0, oh = p / g.OW, ow = p - oh * g.OW;
        int h0 = oh * g.StrideH - g.PadTop, w0 = ow * g.StrideW - g.PadLeft;
        int xn = n * g.C * g.H * g.W;

        for (int e = 0; e < WPTM * WPTN; e++) acc[e] = 0f;
        for (int q0 = 0; q0 < crs0; q0 += TSK)
        {
            for (int e = tid; e < TSM * TSK; e += NT)
            {
                int qq = e % TSK, i = i0 + e / TSK, q = q0 + qq;
                As[qq * TSM + e / TSK] = i < g.K && q < crs0 ? wt[i * crs0 + q] : 0f;
            }
            for (int qq = tid / TSN; qq < TSK; qq += NT / TSN)
            {
                int q = q0 + qq;
                float v = 0f;
                if (j < np && q < crs0)
                {
                    int c = q / rs0, rs = q - c * rs0, r = rs / g.S, s = rs - r * g.S;
                    int h = h0 + r * g.DilH, w = w0 + s * g.DilW;
                    if (h >= 0 && h < g.H && w >= 0 && w < g.W) v = x[xn + (c * g.H + h) * g.W + w];
                }
                Bs[qq * TSN + jj] = v;
            }
            Group.Barrier();
            Accumulate(As, Bs, acc, ar, br, lx, ly);
            Group.Barrier();
        }

        for (int wn = 0; wn < WPTN; wn++)
        {
            int jo = j0 + lx + wn * RTSN;
            if (jo >= np) break;
            int no = jo / p0, po = jo - no * p0;
            for (int wm = 0; wm < WPTM; wm++)
            {
                int k = i0 + ly + wm * RTSM;
                if (k < g.K) y[(no * g.K + k) * p0 + po] = acc[wm * WPTN + wn] + (hasBias != 0 ? bias[k] : 0f);
            }
        }
    }

    /// <summary>Rows c &lt; C, columns (n, h, w) &lt; N·H·W, reduction (k, r, s) &lt; K·R·S; dy entries no output maps to count as 0.</summary>
    public static void BackwardInput(ArrayView<float> dy, ArrayView<float> wt, ArrayView<float> dx, ConvGeometry g)
    {
        var As = SharedMemory.Allocate<float>(TSK * TSM); // w slab [(k,r,s)][c]
        var Bs = SharedMemory.Allocate<float>(TSK * TSN); // dy slab [(k,r,s)][(n,h,w)]
        var acc = LocalMemory.Allocate<float>(WPTM * WPTN);
        var ar = LocalMemory.Allocate<float>(WPTM);
        var br = LocalMemory.Allocate<float>(WPTN);
        int lx = Group.IdxX, ly = Group.IdxY, tid = ly * RTSN + lx;
        int i0 = Grid.IdxY * TSM, j0 = Grid.IdxX * TSN;
        int hw0 = g.H * g.W, rs0 = g.R * g.S, krs0 = g.K * rs0, nhw = g.N * hw0;

        int jj = tid % TSN, j = j0 + jj;
        int n = j < nhw ? j / hw0 : 0, hw = j - n * hw0, h = hw / g.W, w = hw - h * g.W;
        int dyn = n * g.K * g.OH * g.OW;

        for (int e = 0; e < WPTM * WPTN; e++) acc[e] = 0f;
        for (int q0 = 0; q0 < krs0; q0 += TSK)
        {
            for (int e = tid; e < TSM * TSK; e += NT)
            {
                int qq = e % TSK, c = i0 + e / TSK, q = q0 + qq;
                float v = 0f;
                if (c < g.C && q < krs0)
                {
                    int k = q / rs0, rs = q - k * rs0;
                    v = wt[(k * g.C + c) * rs0 + rs];
                }
                As[qq * TSM + e / TSK] = v;
            }
            for (int qq = tid / TSN; qq < TSK; qq += NT / TSN)
            {
                int q = q0 + qq;
                float v = 0f;
                if (j < nhw && q < krs0)
                {
                    int k = q / rs0, rs = q - k * rs0, r = rs / g.S, s = rs - r * g.S;
                    int th = h + g.PadTop - r * g.DilH, tw = w + g.PadLeft - s * g.DilW;
                    if (th >= 0 && tw >= 0 && th % g.StrideH == 0 && tw % g.StrideW == 0)
                    {
                        int oh = th / g.StrideH, ow = tw / g.StrideW;
                        if (oh < g.OH && ow < g.OW) v = dy[dyn + (k * g.OH + oh) * g.OW + ow];
                    }
                }
                Bs[qq * TSN + jj] = v;
            }
            Group.Barrier();
            Accumulate(As, Bs, acc, ar, br, lx, ly);
            Group.Barrier();
        }

        for (int wn = 0; wn < WPTN; wn++)
        {
            int jo = j0 + lx + wn * RTSN;
            if (jo >= nhw) break;
            int no = jo / hw0, hwo = jo - no * hw0;
            for (int wm = 0; wm < WPTM; wm++)
            {
                int c = i0 + ly + wm * RTSM;
                if (c < g.C) dx[(no * g.C + c) * hw0 + hwo] = acc[wm * WPTN + wn];
            }
        }
    }

    /// <summary>
    /// Rows k &lt; K, columns (c, r, s) &lt; C·R·S, reduction (n, oh, ow) &lt; N·P split into chunks of
    /// qChunk: grid z is the chunk, which writes its partial sum to dw + z·K·C·R·S (split-K).
    /// </summary>
    public static void BackwardWeight(ArrayView<float> x, ArrayView<float> dy, ArrayView<float> dw, int qChunk, ConvGeometry g)
    {
        var As = SharedMemory.Allocate<float>(TSK * TSM); // dy slab [(n,oh,ow)][k]
        var Bs = SharedMemory.Allocate<float>(TSK * TSN); // patch slab [(n,oh,ow)][(c,r,s)]
        var acc = LocalMemory.Allocate<float>(WPTM * WPTN);
        var ar = LocalMemory.Allocate<float>(WPTM);
        var br = LocalMemory.Allocate<float>(WPTN);
        int lx = Group.IdxX, ly = Group.IdxY, tid = ly * RTSN + lx;
        int i0 = Grid.IdxY * TSM, j0 = Grid.IdxX * TSN, z = Grid.IdxZ;
        int p0 = g.OH * g.OW, rs0 = g.R * g.S, crs0 = g.C * rs0, np = g.N * p0;

        int jj = tid % TSN, j = j0 + jj;
        int c = j < crs0 ? j / rs0 : 0, rs = j - c * rs0, r = rs / g.S, s = rs - r * g.S;
        int hOff = r * g.DilH - g.PadTop, wOff = s * g.DilW - g.PadLeft;

        int qBegin = z * qChunk, qEnd = Math.Min(qBegin + qChunk, np);
        for (int e = 0; e < WPTM * WPTN; e++) acc[e] = 0f;
        for (int q0 = qBegin; q0 < qEnd; q0 += TSK)
        {
            for (int e = tid; e < TSM * TSK; e += NT)
            {
                int qq = e % TSK, k = i0 + e / TSK, q = q0 + qq;
                float v = 0f;
                if (k < g.K && q < qEnd)
                {
                    int n = q / p0, p = q - n * p0;
                    v = dy[(n * g.K + k) * p0 + p];
                }
                As[qq * TSM + e / TSK] = v;
            }
            for (int qq = tid / TSN; qq < TSK; qq += NT / TSN)
            {
                int q = q0 + qq;
                float v = 0f;
                if (j < crs0 && q < qEnd)
                {
                    int n = q / p0, p = q - n * p0, oh = p / g.OW, ow = p - oh * g.OW;
                    int h = oh * g.StrideH + hOff, w = ow * g.StrideW + wOff;
                    if (h >= 0 && h < g.H && w >= 0 && w < g.W) v = x[((n * g.C + c) * g.H + h) * g.W + w];
                }
                Bs[qq * TSN + jj] = v;
            }
            Group.Barrier();
            Accumulate(As, Bs, acc, ar, br, lx, ly);
            Group.Barrier();
        }

        for (int wm = 0; wm < WPTM; wm++)
        {
            int k = i0 + ly + wm * RTSM;
            if (k >= g.K) break;
            for (int wn = 0; wn < WPTN; wn++)
            {
                int jo = j0 + lx + wn * RTSN;
                if (jo < crs0) dw[(z * g.K + k) * crs0 + jo] = acc[wm * WPTN + wn];
            }
        }
    }
}
