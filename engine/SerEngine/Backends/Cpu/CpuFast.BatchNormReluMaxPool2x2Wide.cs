using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace SerEngine.Backends.Cpu;

// The forward 2×2 register kernel of CpuFast.BatchNormReluMaxPool2x2.cs at 512 bits: sixteen outputs a
// group (FocusCalibrationNet's conv2 map, 31 outputs a row, takes two groups instead of four). The
// even/odd columns are split with one two-source permute each (vpermt2ps), which leaves them in order,
// so no lane fix-up. Same values, compares and window order as the 256-bit kernel, so the same bits.
// The backward stays at 256 bits (a 512-bit masked gradient measured no faster: memory-bound).
// Legend: x [H, W]; y, argmax [OutH, OutW] (one image's channel plane).
public partial class CpuBackend
{
    /// <summary>
    /// Outputs per group of the forward 2×2 register kernel that takes this pool: 16 (AVX-512, rows of at least sixteen
    /// outputs), 8 (AVX2, rows of at least eight), or 0 (the plane path).
    /// </summary>
    private static int Pool2x2Lanes(in Pool2dGeometry g) =>
        !Pool2x2(g) ? 0 : Avx512F.IsSupported && g.OutW >= 16 ? 16 : 8;

    /// <summary>ScaleShiftReluMaxPool2x2 sixteen outputs at a time (the row's last group overlaps the one before).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void ScaleShiftReluMaxPool2x2Wide(float* x, float mu, float scale, float shift, float* y, int* argmax, int w, int outH, int outW)
    {
        var vm = Vector512.Create(mu);
        var vs = Vector512.Create(scale);
        var vb = Vector512.Create(shift);
        var evens = Vector512.Create(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
        var odds = evens + Vector512<int>.One;
        var right = Vector512<int>.One;
        var down = Vector512.Create(w);
        var downRight = Vector512.Create(w + 1);
        for (int oh = 0; oh < outH; oh++)
        {
            float* r0 = x + 2 * oh * w, r1 = r0 + w;
            for (int ow = 0; ow < outW; ow += 16)
            {
                int o = Math.Min(ow, outW - 16);
                var a0 = ScaleShiftRelu16(Avx512F.LoadVector512(r0 + 2 * o), vm, vs, vb);
                var b0 = ScaleShiftRelu16(Avx512F.LoadVector512(r0 + 2 * o + 16), vm, vs, vb);
                var a1 = ScaleShiftRelu16(Avx512F.LoadVector512(r1 + 2 * o), vm, vs, vb);
                var b1 = ScaleShiftRelu16(Avx512F.LoadVector512(r1 + 2 * o + 16), vm, vs, vb);
                // window order: (0, 0), (0, 1), (1, 0), (1, 1); a later element wins only if greater
                var best = Avx512F.PermuteVar16x32x2(a0, evens, b0);
                var at0 = evens + Vector512.Create(2 * oh * w + 2 * o);
                var at = at0;
                var v = Avx512F.PermuteVar16x32x2(a0, odds, b0);
                var take = Vector512.GreaterThan(v, best);
                best = Vector512.ConditionalSelect(take, v, best);
                at = Vector512.ConditionalSelect(take.AsInt32(), at0 + right, at);
                v = Avx512F.PermuteVar16x32x2(a1, evens, b1);
                take = Vector512.GreaterThan(v, best);
                best = Vector512.ConditionalSelect(take, v, best);
                at = Vector512.ConditionalSelect(take.AsInt32(), at0 + down, at);
                v = Avx512F.PermuteVar16x32x2(a1, odds, b1);
                take = Vector512.GreaterThan(v, best);
                best = Vector512.ConditionalSelect(take, v, best);
                at = Vector512.ConditionalSelect(take.AsInt32(), at0 + downRight, at);
                Avx512F.Store(y + oh * outW + o, best);
                Avx512F.Store(argmax + oh * outW + o, at);
            }
        }
    }

    /// <summary>ReLU((x − mu)·scale + shift) of sixteen values, as ScaleShiftRelu's.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> ScaleShiftRelu16(Vector512<float> x, Vector512<float> mu, Vector512<float> scale, Vector512<float> shift)
    {
        var v = (x - mu) * scale + shift;
        return Vector512.ConditionalSelect(Vector512.GreaterThan(v, Vector512<float>.Zero), v, Vector512<float>.Zero);
    }
}
