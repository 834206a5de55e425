using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace SerEngine.Backends.Cpu;

// Fast MaxPool2d: planes (n, c) are independent and shared among threads. Without padding every
// window lies inside the image (floor mode), so the window loop needs no clamping; with padding the
// reference's clamped loop runs per plane. The winner rule is the reference's exactly: row-major
// window order, first maximum wins ties, a NaN wins (`v > best || isnan(v)`). Unpadded pools take
// eight outputs of a row at once: each window element is gathered for the eight and the winner
// kept with vector compares and selects (a data-dependent branch per element would mispredict
// about half the time on real activations). With stride 2 along W the window elements are loaded
// as vectors and split into even and odd columns instead of gathered. The last outputs of a row
// go as one more group of eight that overlaps the one before.
// Backward: each plane of dx is cleared, then every dy is added at its argmax.
public partial class CpuBackend
{
    /// <inheritdoc/>
    public override void MaxPool2dForward(Storage x, Storage y, Storage argmax, in Pool2dGeometry g)
    {
        float[] xv = F(x), yv = F(y); // [N, C, H, W], [N, C, OutH, OutW]
        int[] av = I(argmax);         // [N, C, OutH, OutW]
        int planes = g.N * g.C;
        ForChunks(planes, (long)planes * g.OutH * g.OutW * g.KernelH * g.KernelW, new MaxPoolPlanes(xv, yv, av, g));
    }

    /// <summary>MaxPool2dForward's planes [p0, p1).</summary>
    private readonly struct MaxPoolPlanes(float[] xv, float[] yv, int[] av, Pool2dGeometry g) : IChunkBody
    {
        public void Run(int p0, int p1)
        {
            for (int plane = p0; plane < p1; plane++)
                MaxPoolPlane(xv, yv, av, plane, g);
        }
    }

    private static void MaxPoolPlane(float[] xv, float[] yv, int[] av, int plane, in Pool2dGeometry g)
    {
        int outHW = g.OutH * g.OutW;
        MaxPoolPlane(xv.AsSpan(plane * g.H * g.W, g.H * g.W), yv.AsSpan(plane * outHW, outHW), av.AsSpan(plane * outHW, outHW), g);
    }

    /// <summary>One plane: xp [H, W] pooled into yp [OutH, OutW] with the winners' indices h·W + w in ap.</summary>
    internal static void MaxPoolPlane(ReadOnlySpan<float> xp, Span<float> yp, Span<int> ap, in Pool2dGeometry g)
    {
        int outH = g.OutH, outW = g.OutW, w = g.W;
        bool inside = g.PadH == 0 && g.PadW == 0;
        for (int oh = 0; oh < outH; oh++)
        {
            int h0 = oh * g.StrideH - g.PadH;
            int hs = Math.Max(h0, 0), he = Math.Min(h0 + g.KernelH, g.H);
            int ow = 0;
            // the last (outW mod 8) outputs of a row: one more group of eight ending at the row's end,
            // overlapping the previous group (its outputs are written again with the same values)
            // stride 2 along W: vector loads split into even and odd columns, as long as the last
            // load of the row's last group stays inside the plane
            if (inside && Avx2.IsSupported && g.StrideW == 2 && outW >= 8
                && (he - 1) * w + 2 * (outW - 8) + 2 * ((g.KernelW - 1) / 2) + 15 < xp.Length)
                for (; ow < outW; ow += 8)
                {
                    int o = Math.Min(ow, outW - 8);
                    MaxPool8Stride2(xp, hs * w + 2 * o, w, he - hs, g.KernelW, yp.Slice(oh * outW + o, 8), ap.Slice(oh * outW + o, 8));
                }
            if (inside && Vector256.IsHardwareAccelerated && outW >= 8)
                for (; ow < outW; ow += 8)
                {
                    int o = Math.Min(ow, outW - 8);
                    MaxPool8(xp, hs, he, o * g.StrideW, g.StrideW, g.KernelW, w, yp.Slice(oh * outW + o, 8), ap.Slice(oh * outW + o, 8));
                }
            for (; ow < outW; ow++)
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
                        // branch-free (selects, not jumps): on real data the winner is unpredictable
                        float v = xp[rowAt + iw];
                        bool take = v > best | float.IsNaN(v);
                        best = take ? v : best;
                        bestAt = take ? rowAt + iw : bestAt;
                    }
                }
                yp[oh * outW + ow] = best;
                ap[oh * outW + ow] = bestAt;
            }
        }
    }

    /// <summary>
    /// Eight outputs of one row: windows start at columns w0 + i·sw (i &lt; 8) and span rows [hs, he)
    /// and kw columns, all inside the plane (row width w).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void MaxPool8(ReadOnlySpan<float> xp, int hs, int he, int w0, int sw, int kw, int w, Span<float> y, Span<int> at)
    {
        var lanes = Vector256.Create(0, 1, 2, 3, 4, 5, 6, 7) * sw;
        var best = Vector256.Create(float.NegativeInfinity);
        var bestAt = Vector256.Create(hs * w + w0) + lanes;
        for (int ih = hs; ih < he; ih++)
            for (int c = 0; c < kw; c++)
            {
                int a = ih * w + w0 + c;
                var v = Vector256.Create(xp[a], xp[a + sw], xp[a + 2 * sw], xp[a + 3 * sw],
                    xp[a + 4 * sw], xp[a + 5 * sw], xp[a + 6 * sw], xp[a + 7 * sw]);
                var take = Vector256.GreaterThan(v, best) | ~Vector256.Equals(v, v);
                best = Vector256.ConditionalSelect(take, v, best);
                bestAt = Vector256.ConditionalSelect(take.AsInt32(), Vector256.Create(a) + lanes, bestAt);
            }
        best.CopyTo(y);
        bestAt.CopyTo(at);
    }

    /// <summary>
    /// <see cref="MaxPool8"/> for stride 2 along W (AttentionFcn's 3 × 3 and FocusCalibrationNet's
    /// 2 × 2 pools): window column c of eight outputs is the even (c even) or odd (c odd) half of the
    /// 16 floats from column 2·⌊c/2⌋ on, split by one shuffle and one permute, instead of eight scalar
    /// gathers. <paramref name="at"/> is the first window's top-left index; rows are <paramref name="w"/> apart.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void MaxPool8Stride2(ReadOnlySpan<float> xp, int at, int w, int kh, int kw, Span<float> y, Span<int> index)
    {
        _ = xp[at + (kh - 1) * w + 2 * ((kw - 1) / 2) + 15]; // the last element loaded: one bounds check for all loads
        ref float x0 = ref Unsafe.Add(ref MemoryMarshal.GetReference(xp), at);
        var lanes = Vector256.Create(0, 2, 4, 6, 8, 10, 12, 14) + Vector256.Create(at);
        var best = Vector256.Create(float.NegativeInfinity);
        var bestAt = lanes;
        // row-major window order; a later element wins only if greater or NaN
        for (int r = 0; r < kh; r++)
            for (int c = 0; c < kw; c++)
            {
                ref float pair = ref Unsafe.Add(ref x0, r * w + (c & ~1));
                Vector256<float> lo = Vector256.LoadUnsafe(ref pair), hi = Vector256.LoadUnsafe(ref pair, 8);
                var mixed = (c & 1) == 0 ? Avx.Shuffle(lo, hi, 0x88) : Avx.Shuffle(lo, hi, 0xDD);
                var v = Avx2.Permute4x64(mixed.AsDouble(), 0xD8).AsSingle();
                var take = Vector256.GreaterThan(v, best) | ~Vector256.Equals(v, v);
                best = Vector256.ConditionalSelect(take, v, best);
                bestAt = Vector256.ConditionalSelect(take.AsInt32(), lanes + Vector256.Create(r * w + c), bestAt);
            }
        best.CopyTo(y);
        bestAt.CopyTo(index);
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
