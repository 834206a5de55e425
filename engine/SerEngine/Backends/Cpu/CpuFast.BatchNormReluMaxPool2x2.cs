using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace SerEngine.Backends.Cpu;

// The 2×2 pools of BatchNorm2dReluMaxPool (FocusCalibrationNet's conv2 and conv3 maps) without the
// plane buffer: forward, eight outputs are normalised, rectified and pooled from four vector loads of
// x (two rows, sixteen columns each) in registers; backward, the masked pool gradient of one output
// row pair is built as two stored rows of sixteen, so no clearing pass and no scalar scatter. The
// values are those of ScaleShiftRelu + MaxPoolPlane and of MaskedPoolGradient bit for bit: a
// rectified value is never NaN and ≥ +0, so the first window element always wins over −∞ and the
// pool's NaN test never fires; a stored masked gradient is +0 + g (a −0 gradient stores +0).
// Legend: x, plane [H, W]; y, argmax, dyPool, yPool [OutH, OutW] (one image's channel plane).
public partial class CpuBackend
{
    /// <summary>Whether the 2×2 register kernels take this pool: stride 2, no padding, AVX2, rows of at least eight outputs.</summary>
    private static bool Pool2x2(in Pool2dGeometry g) =>
        Avx2.IsSupported && g.KernelH == 2 && g.KernelW == 2 && g.StrideH == 2 && g.StrideW == 2
        && g.PadH == 0 && g.PadW == 0 && g.OutW >= 8;

    /// <summary>
    /// y, argmax = MaxPool2×2(ReLU((x − mu)·scale + shift)) of one plane, eight outputs at a time (the row's
    /// last eight overlap the group before, writing its outputs again with the same values).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void ScaleShiftReluMaxPool2x2(float* x, float mu, float scale, float shift, float* y, int* argmax, int w, int outH, int outW)
    {
        var vm = Vector256.Create(mu);
        var vs = Vector256.Create(scale);
        var vb = Vector256.Create(shift);
        // the even/odd shuffles leave lanes in the order 0 1 4 5 2 3 6 7; pooling is lane-wise, so only the results are put back in order
        var lanes = Vector256.Create(0, 2, 8, 10, 4, 6, 12, 14);
        var right = Vector256.Create(1);
        var down = Vector256.Create(w);
        var downRight = Vector256.Create(w + 1);
        for (int oh = 0; oh < outH; oh++)
        {
            float* r0 = x + 2 * oh * w, r1 = r0 + w;
            for (int ow = 0; ow < outW; ow += 8)
            {
                int o = Math.Min(ow, outW - 8);
                var a0 = ScaleShiftRelu8(Avx.LoadVector256(r0 + 2 * o), vm, vs, vb);
                var b0 = ScaleShiftRelu8(Avx.LoadVector256(r0 + 2 * o + 8), vm, vs, vb);
                var a1 = ScaleShiftRelu8(Avx.LoadVector256(r1 + 2 * o), vm, vs, vb);
                var b1 = ScaleShiftRelu8(Avx.LoadVector256(r1 + 2 * o + 8), vm, vs, vb);
                // window order: (0, 0), (0, 1), (1, 0), (1, 1); a later element wins only if greater
                var best = Avx.Shuffle(a0, b0, 0x88);
                var at = lanes + Vector256.Create(2 * oh * w + 2 * o);
                var at0 = at;
                var v = Avx.Shuffle(a0, b0, 0xDD);
                var take = Vector256.GreaterThan(v, best);
                best = Vector256.ConditionalSelect(take, v, best);
                at = Vector256.ConditionalSelect(take.AsInt32(), at0 + right, at);
                v = Avx.Shuffle(a1, b1, 0x88);
                take = Vector256.GreaterThan(v, best);
                best = Vector256.ConditionalSelect(take, v, best);
                at = Vector256.ConditionalSelect(take.AsInt32(), at0 + down, at);
                v = Avx.Shuffle(a1, b1, 0xDD);
                take = Vector256.GreaterThan(v, best);
                best = Vector256.ConditionalSelect(take, v, best);
                at = Vector256.ConditionalSelect(take.AsInt32(), at0 + downRight, at);
                Avx.Store(y + oh * outW + o, Avx2.Permute4x64(best.AsDouble(), 0xD8).AsSingle());
                Avx.Store(argmax + oh * outW + o, Avx2.Permute4x64(at.AsDouble(), 0xD8).AsInt32());
            }
        }
    }

    /// <summary>ReLU((x − mu)·scale + shift) of eight values, as ScaleShiftRelu's vector loop.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> ScaleShiftRelu8(Vector256<float> x, Vector256<float> mu, Vector256<float> scale, Vector256<float> shift)
    {
        var v = (x - mu) * scale + shift;
        return Vector256.ConditionalSelect(Vector256.GreaterThan(v, Vector256<float>.Zero), v, Vector256<float>.Zero);
    }

    /// <summary>
    /// One plane [H, W] of the 2×2 pool's input gradient with the rectifier's mask, as MaskedPoolGradient: dyPool at
    /// each winner whose pooled value is &gt; 0 (as +0 + dyPool), else +0; rows and the column the pool leaves out are +0.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void MaskedPoolGradient2x2(float* dyPool, float* yPool, int* argmax, float* plane, int h, int w, int outH, int outW)
    {
        var zero = Vector256<float>.Zero;
        var lanes = Vector256.Create(0, 2, 4, 6, 8, 10, 12, 14);
        var right = Vector256.Create(1);
        var down = Vector256.Create(w);
        var downRight = Vector256.Create(w + 1);
        for (int oh = 0; oh < outH; oh++)
        {
            float* p0 = plane + 2 * oh * w, p1 = p0 + w;
            for (int ow = 0; ow < outW; ow += 8)
            {
                int o = Math.Min(ow, outW - 8), k = oh * outW + o;
                var g = Avx.LoadVector256(dyPool + k);
                // +0 + g: a masked-out or −0 gradient stores +0, a NaN stays
                var keep = Vector256.GreaterThan(Avx.LoadVector256(yPool + k), zero) & ~Vector256.Equals(g, zero);
                g = Vector256.ConditionalSelect(keep, g, zero);
                var rel = Avx.LoadVector256(argmax + k) - (lanes + Vector256.Create(2 * oh * w + 2 * o)); // 0, 1, W or W + 1
                StoreInterleaved(p0 + 2 * o, Vector256.ConditionalSelect(Vector256.Equals(rel, Vector256<int>.Zero).AsSingle(), g, zero),
                    Vector256.ConditionalSelect(Vector256.Equals(rel, right).AsSingle(), g, zero));
                StoreInterleaved(p1 + 2 * o, Vector256.ConditionalSelect(Vector256.Equals(rel, down).AsSingle(), g, zero),
                    Vector256.ConditionalSelect(Vector256.Equals(rel, downRight).AsSingle(), g, zero));
            }
            if ((w & 1) != 0) p0[w - 1] = p1[w - 1] = 0f;
        }
        new Span<float>(plane + 2 * outH * w, (h - 2 * outH) * w).Clear();
    }

    /// <summary>p[0..16) = even[0], odd[0], even[1], odd[1], …, even[7], odd[7].</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void StoreInterleaved(float* p, Vector256<float> even, Vector256<float> odd)
    {
        var lo = Avx.UnpackLow(even, odd);  // e0 o0 e1 o1 | e4 o4 e5 o5
        var hi = Avx.UnpackHigh(even, odd); // e2 o2 e3 o3 | e6 o6 e7 o7
        Avx.Store(p, Avx.Permute2x128(lo, hi, 0x20));
        Avx.Store(p + 8, Avx.Permute2x128(lo, hi, 0x31));
    }
}
