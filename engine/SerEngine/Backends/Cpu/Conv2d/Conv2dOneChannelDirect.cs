using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using static SerEngine.Backends.Cpu.Conv2dEpilogue;
using static SerEngine.Backends.Cpu.CpuBackend;

namespace SerEngine.Backends.Cpu;

// Direct conv2d for one input channel with stride 1 along W (FocusCalibrationNet's conv1a 10×2 and
// conv1b 2×8 on a [N, 1, 26, 63] MFCC map). With C·R·S of 16–20 a GEMM would be too shallow
// (its packing and tile stores would cost more than the multiply-adds), so these run as register-
// blocked loops over a zero-padded copy of the image:
//   P [Hp, Wp] = x[n, 0] with padTop/padLeft zeros before and padBottom/padRight (+ 8 slack) after,
//   so the window of output (oh, ow) starts at P[oh·sh, ow] and no load needs a bounds check.
// Legend: taps t = (r, s) with offset off[t] = r·dh·Wp + s·dw into P; y, dy [N, K, OutH, OutW].
//   forward          y[n, k, oh, ow..ow+8] = bias[k] + Σ_t w[k, t] · P[oh·sh + ..., ow + ...] (4 channels at once)
//   backward-weight  dw[k, t] = Σ_{n, oh, ow} dy[n, k, oh, ow] · P_n[oh·sh·Wp + ow + off[t]] (8 taps at once)
// Backward-input has no direct loops (a first layer's input rarely needs a gradient).
internal static class Conv2dOneChannelDirect
{
    /// <summary>Forward and backward-weight of one input channel with stride 1 along W, on 256-bit vectors.</summary>
    public static bool Supports(Conv2dPass pass, in Conv2dGeometry g, in Conv2dIsa isa) =>
        pass != Conv2dPass.BackwardInput && g.C == 1 && g.StrideW == 1 && isa.Simd256;

    /// <summary>P [Hp, Wp] of image plane x[n, 0]: Wp = W + padLeft + padRight + 8 (a vector of slack for the last outputs of a row).</summary>
    private static PaddedImage Padded(in Conv2dGeometry g)
    {
        int wp = g.W + g.PadLeft + g.PadRight + 8, length = (g.H + g.PadTop + g.PadBottom) * wp;
        return new(1, g.H, g.W, g.PadTop, g.PadLeft, wp, length, length);
    }

    /// <summary>y = conv(x, w) + bias (then ReLU when <paramref name="relu"/>), four output channels per register block.</summary>
    public static void Forward(float[] x, float[] w, float[]? bias, float[] y, Conv2dGeometry g, bool relu, int threads)
    {
        int taps = g.R * g.S, kBlocks = CeilDiv(g.K, 4);
        // weights by 4-channel block and tap: wt[(kb·taps + t)·4 + i] = w[4·kb + i, t] (0 past K); wt and off are rented (a
        // batch-1 inference calls this on every forward, and new arrays there are garbage on fresh pages)
        var wt = ArrayPool<float>.Shared.Rent(kBlocks * taps * 4);
        var off = ArrayPool<int>.Shared.Rent(taps);
        try
        {
            wt.AsSpan(0, kBlocks * taps * 4).Clear();
            for (int k = 0; k < g.K; k++)
                for (int t = 0; t < taps; t++) wt[((k / 4) * taps + t) * 4 + k % 4] = w[k * taps + t];
            var image = Padded(g);
            image.TapOffsets(g.R, g.S, g.DilationH, g.DilationW, off.AsSpan(0, taps));
            long work = (long)g.N * g.K * g.OutH * g.OutW * taps;
            ForwardTasks(x, wt, off, bias, y, g, relu, image, work >= 1 << 16 ? threads : 1);
        }
        finally
        {
            ArrayPool<float>.Shared.Return(wt);
            ArrayPool<int>.Shared.Return(off);
        }
    }

    /// <summary>Forward's tasks (image, block of 4 channels) with the reordered weights <paramref name="wt"/> and tap offsets <paramref name="off"/>.</summary>
    private static void ForwardTasks(float[] x, float[] wt, int[] off, float[]? bias, float[] y, Conv2dGeometry g, bool relu, PaddedImage image, int threads) =>
        // tasks: (image, block of 4 channels), so that one image still uses every thread; each task
        // pads its own copy of the image (a few thousand floats)
        ParallelFor(g.N * CeilDiv(g.K, 4), threads, new ForwardTask(x, wt, off, bias, y, g, relu, image));

    /// <summary>One forward task: image n = task / kBlocks, output channels 4·(task % kBlocks) on.</summary>
    private readonly struct ForwardTask(float[] x, float[] wt, int[] off, float[]? bias, float[] y, Conv2dGeometry g, bool relu, PaddedImage image) : IPoolBody
    {
        public unsafe void Run(int task)
        {
            int taps = g.R * g.S, kBlocks = CeilDiv(g.K, 4), outH = g.OutH, outW = g.OutW, owr = RoundUp(outW, 8);
            int wp = image.Pitch, padded = image.Length;
            int n = task / kBlocks, kb = task % kBlocks;
            var buffer = ArrayPool<float>.Shared.Rent(padded + 4 * owr);
            fixed (float* px = x, pw = wt, py = y, pb = buffer)
            fixed (int* poff = off)
            {
                float* rows = pb + padded; // [4, OWr]: one output row of each channel of the block
                image.Write(px + (long)n * g.H * g.W, pb);
                int kCount = Math.Min(4, g.K - 4 * kb);
                for (int oh = 0; oh < outH; oh++)
                {
                    DirectRows4(pb + (long)oh * g.StrideH * wp, pw + kb * taps * 4, poff, taps, owr, rows);
                    for (int i = 0; i < kCount; i++)
                    {
                        int k = 4 * kb + i;
                        float b = bias is null ? 0f : bias[k];
                        float* dst = py + (((long)n * g.K + k) * outH + oh) * outW, src = rows + i * owr;
                        var bv = Vector256.Create(b);
                        int j = 0;
                        for (; j + 8 <= outW; j += 8) BiasRelu(Vector256.Load(src + j), bv, relu).Store(dst + j);
                        for (; j < outW; j++) dst[j] = BiasRelu(src[j], b, relu);
                    }
                }
            }
            ArrayPool<float>.Shared.Return(buffer);
        }
    }

    /// <summary>
    /// One output row of four channels: rows[i, ow] = Σ_t wb[t·4 + i] · row[ow + off[t]] for ow &lt; owr
    /// (a multiple of 8), 16 outputs at a time (8 accumulators), then 8. No calls inside, so the
    /// accumulators stay in registers.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void DirectRows4(float* row, float* wb, int* off, int taps, int owr, float* rows)
    {
        int ow = 0;
        for (; ow + 16 <= owr; ow += 16)
        {
            // two vectors of outputs per tap: each weight broadcast feeds two multiply-adds
            Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default;
            Vector256<float> b0 = default, b1 = default, b2 = default, b3 = default;
            float* at = row + ow;
            float* wk = wb;
            for (int t = 0; t < taps; t++, wk += 4)
            {
                var v = Vector256.Load(at + off[t]);
                var u = Vector256.Load(at + off[t] + 8);
                var w0 = Vector256.Create(wk[0]);
                a0 = Fmadd(w0, v, a0);
                b0 = Fmadd(w0, u, b0);
                var w1 = Vector256.Create(wk[1]);
                a1 = Fmadd(w1, v, a1);
                b1 = Fmadd(w1, u, b1);
                var w2 = Vector256.Create(wk[2]);
                a2 = Fmadd(w2, v, a2);
                b2 = Fmadd(w2, u, b2);
                var w3 = Vector256.Create(wk[3]);
                a3 = Fmadd(w3, v, a3);
                b3 = Fmadd(w3, u, b3);
            }
            a0.Store(rows + ow);
            b0.Store(rows + ow + 8);
            a1.Store(rows + owr + ow);
            b1.Store(rows + owr + ow + 8);
            a2.Store(rows + 2 * owr + ow);
            b2.Store(rows + 2 * owr + ow + 8);
            a3.Store(rows + 3 * owr + ow);
            b3.Store(rows + 3 * owr + ow + 8);
        }
        for (; ow < owr; ow += 8)
        {
            Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default;
            float* at = row + ow;
            float* wk = wb;
            for (int t = 0; t < taps; t++, wk += 4)
            {
                var v = Vector256.Load(at + off[t]);
                a0 = Fmadd(Vector256.Create(wk[0]), v, a0);
                a1 = Fmadd(Vector256.Create(wk[1]), v, a1);
                a2 = Fmadd(Vector256.Create(wk[2]), v, a2);
                a3 = Fmadd(Vector256.Create(wk[3]), v, a3);
            }
            a0.Store(rows + ow);
            a1.Store(rows + owr + ow);
            a2.Store(rows + 2 * owr + ow);
            a3.Store(rows + 3 * owr + ow);
        }
    }

    /// <summary>dw = Σ over images and output pixels of dy · the input patch, eight taps per register block.</summary>
    /// <remarks>
    /// With 512-bit vectors (<paramref name="wide"/> pins them on or off) two output channels share a register: lanes
    /// 0–7 hold channel k's eight column sums, lanes 8–15 channel k + 1's, each with the 256-bit loop's operands and
    /// order, so the bits are the same; the image vector is loaded once for both.
    /// </remarks>
    public static unsafe void BackwardWeight(float[] x, float[] dy, float[] dw, Conv2dGeometry g, int threads, bool? wide = null)
    {
        bool pairs = (wide ?? Vector512.IsHardwareAccelerated) && g.K >= 2;
        int taps = g.R * g.S, groups = CeilDiv(taps, 8), outH = g.OutH, outW = g.OutW, owr = RoundUp(outW, 8);
        var image = Padded(g);
        var off = image.TapOffsets(g.R, g.S, g.DilationH, g.DilationW, groups * 8);
        int wp = image.Pitch, padded = image.Length;
        long work = (long)g.N * g.K * outH * outW * taps;
        int chunks = work >= 1 << 16 ? Math.Min(g.N, threads) : 1;
        var partial = new float[chunks * g.K * groups * 8]; // [chunk, K, taps rounded up to 8]
        ParallelFor(chunks, chunks, chunk =>
        {
            int dyPadded = g.K * outH * owr;
            var buffer = ArrayPool<float>.Shared.Rent(padded + dyPadded);
            fixed (float* px = x, pdy = dy, pp = partial, pb = buffer)
            fixed (int* poff = off)
            {
                float* dyPad = pb + padded; // [K, OutH, OWr]: dy[n] with each row zero-padded to a multiple of 8
                new Span<float>(dyPad, dyPadded).Clear();
                for (int n = chunk; n < g.N; n += chunks)
                {
                    image.Write(px + (long)n * g.H * g.W, pb);
                    int k = 0;
                    if (pairs)
                    {
                        // channel pairs interleaved by 8 columns: dyPad[k / 2, oh, ow / 8, k % 2, ow % 8]
                        for (; k + 2 <= g.K; k += 2)
                        {
                            float* pair = dyPad + (long)k * outH * owr;
                            for (int oh = 0; oh < outH; oh++)
                                for (int i = 0; i < 2; i++)
                                {
                                    float* src = pdy + (((long)n * g.K + k + i) * outH + oh) * outW, dst = pair + (long)oh * 2 * owr + i * 8;
                                    int ow = 0;
                                    for (; ow + 8 <= outW; ow += 8) Vector256.Load(src + ow).Store(dst + 2 * ow);
                                    for (; ow < outW; ow++) dst[ow / 8 * 16 + ow % 8] = src[ow];
                                }
                            for (int q = 0; q < groups; q++)
                                DirectTaps8x2(pair, pb, poff + q * 8, outH, owr, g.StrideH * wp,
                                    pp + ((long)chunk * g.K + k) * groups * 8 + q * 8, groups * 8);
                        }
                    }
                    for (int row = k * outH; row < g.K * outH; row++)
                        CopyFloats(dyPad + (long)row * owr, pdy + ((long)n * g.K * outH + row) * outW, outW);
                    for (; k < g.K; k++)
                        for (int q = 0; q < groups; q++)
                            DirectTaps8(dyPad + (long)k * outH * owr, pb, poff + q * 8, outH, owr, g.StrideH * wp,
                                pp + ((long)chunk * g.K + k) * groups * 8 + q * 8);
                }
            }
            ArrayPool<float>.Shared.Return(buffer);
        });
        for (int k = 0; k < g.K; k++)
            for (int t = 0; t < taps; t++)
            {
                float s = 0f;
                for (int chunk = 0; chunk < chunks; chunk++) s += partial[((long)chunk * g.K + k) * groups * 8 + t];
                dw[k * taps + t] = s;
            }
    }

    /// <summary>
    /// sums[j] += Σ_{oh, ow} dyPad[oh, ow] · image[oh·rowStep + ow + off[j]] for eight taps j (dyPad rows
    /// are owr wide, zero past OutW). No calls inside, so the eight accumulators stay in registers.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void DirectTaps8(float* dyPad, float* image, int* off, int outH, int owr, int rowStep, float* sums)
    {
        Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default;
        Vector256<float> a4 = default, a5 = default, a6 = default, a7 = default;
        int o0 = off[0], o1 = off[1], o2 = off[2], o3 = off[3], o4 = off[4], o5 = off[5], o6 = off[6], o7 = off[7];
        for (int oh = 0; oh < outH; oh++)
        {
            float* d = dyPad + (long)oh * owr;
            float* row = image + (long)oh * rowStep;
            for (int ow = 0; ow < owr; ow += 8)
            {
                var v = Vector256.Load(d + ow);
                float* at = row + ow;
                a0 = Fmadd(v, Vector256.Load(at + o0), a0);
                a1 = Fmadd(v, Vector256.Load(at + o1), a1);
                a2 = Fmadd(v, Vector256.Load(at + o2), a2);
                a3 = Fmadd(v, Vector256.Load(at + o3), a3);
                a4 = Fmadd(v, Vector256.Load(at + o4), a4);
                a5 = Fmadd(v, Vector256.Load(at + o5), a5);
                a6 = Fmadd(v, Vector256.Load(at + o6), a6);
                a7 = Fmadd(v, Vector256.Load(at + o7), a7);
            }
        }
        sums[0] += Vector256.Sum(a0); sums[1] += Vector256.Sum(a1); sums[2] += Vector256.Sum(a2); sums[3] += Vector256.Sum(a3);
        sums[4] += Vector256.Sum(a4); sums[5] += Vector256.Sum(a5); sums[6] += Vector256.Sum(a6); sums[7] += Vector256.Sum(a7);
    }

    /// <summary>
    /// <see cref="DirectTaps8"/> for channels k and k + 1 at once: <paramref name="dyPair"/> [OutH, OWr / 8, 2, 8] interleaves
    /// their rows by 8 columns, the image vector is broadcast to both halves, and k + 1's sums lie <paramref name="next"/> floats on.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void DirectTaps8x2(float* dyPair, float* image, int* off, int outH, int owr, int rowStep, float* sums, int next)
    {
        Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default;
        Vector512<float> a4 = default, a5 = default, a6 = default, a7 = default;
        int o0 = off[0], o1 = off[1], o2 = off[2], o3 = off[3], o4 = off[4], o5 = off[5], o6 = off[6], o7 = off[7];
        float* d = dyPair;
        for (int oh = 0; oh < outH; oh++)
        {
            float* row = image + (long)oh * rowStep;
            for (int ow = 0; ow < owr; ow += 8, d += 16)
            {
                var v = Vector512.Load(d);
                float* at = row + ow;
                a0 = Fmadd(v, Both(at + o0), a0);
                a1 = Fmadd(v, Both(at + o1), a1);
                a2 = Fmadd(v, Both(at + o2), a2);
                a3 = Fmadd(v, Both(at + o3), a3);
                a4 = Fmadd(v, Both(at + o4), a4);
                a5 = Fmadd(v, Both(at + o5), a5);
                a6 = Fmadd(v, Both(at + o6), a6);
                a7 = Fmadd(v, Both(at + o7), a7);
            }
        }
        sums[0] += Vector256.Sum(a0.GetLower()); sums[1] += Vector256.Sum(a1.GetLower()); sums[2] += Vector256.Sum(a2.GetLower()); sums[3] += Vector256.Sum(a3.GetLower());
        sums[4] += Vector256.Sum(a4.GetLower()); sums[5] += Vector256.Sum(a5.GetLower()); sums[6] += Vector256.Sum(a6.GetLower()); sums[7] += Vector256.Sum(a7.GetLower());
        sums += next;
        sums[0] += Vector256.Sum(a0.GetUpper()); sums[1] += Vector256.Sum(a1.GetUpper()); sums[2] += Vector256.Sum(a2.GetUpper()); sums[3] += Vector256.Sum(a3.GetUpper());
        sums[4] += Vector256.Sum(a4.GetUpper()); sums[5] += Vector256.Sum(a5.GetUpper()); sums[6] += Vector256.Sum(a6.GetUpper()); sums[7] += Vector256.Sum(a7.GetUpper());
    }

    /// <summary>Eight floats at <paramref name="p"/> in both halves of a Vector512 (one broadcast load where AVX-512 is there).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe Vector512<float> Both(float* p) =>
        Avx512F.IsSupported ? Avx512F.BroadcastVector256ToVector512((double*)p).AsSingle() : Vector512.Create(Vector256.Load(p), Vector256.Load(p));
}
