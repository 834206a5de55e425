using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace SerEngine.Backends.Cpu;

// e^x for eight floats, the Cephes expf scheme: x = n·ln2 + r with n = round(x·log2 e) and |r| ≤ ln2/2
// (ln2 split in two parts so r is exact), e^r by a degree-6 polynomial, then 2^n put into the
// exponent bits. Relative error about 1e-7 (a couple of float ulps) for x in [−87.3, 88.7];
// below −87.3 (and for −∞) the result is exactly 0, above 88.7 it is +∞. NaN gives NaN.
// The softmax rows use it: their exponents are all ≤ 0 after subtracting the row maximum.
// Tanh8 and Sigmoid8 build on it: tanh(x) = sign(x)·(1 − 2/(e^(2|x|) + 1)) for |x| ≥ 0.625 and the
// Cephes odd polynomial x + x³·P(x²) below (no cancellation near 0); sigmoid(x) = 1/(1 + e^(−x)).
public partial class CpuBackend
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector256<float> Exp8(Vector256<float> x)
    {
        var tooSmall = Vector256.LessThan(x, Vector256.Create(-87.33654f));
        var tooLarge = Vector256.GreaterThan(x, Vector256.Create(88.72283f));
        var v = Vector256.Min(Vector256.Max(x, Vector256.Create(-87.33654f)), Vector256.Create(88.72283f));
        var fx = Vector256.Round(v * Vector256.Create(1.44269504088896341f));
        v = v - fx * Vector256.Create(0.693359375f) - fx * Vector256.Create(-2.12194440e-4f);
        var z = v * v;
        var p = Vector256.Create(1.9875691500e-4f);
        p = p * v + Vector256.Create(1.3981999507e-3f);
        p = p * v + Vector256.Create(8.3334519073e-3f);
        p = p * v + Vector256.Create(4.1665795894e-2f);
        p = p * v + Vector256.Create(1.6666665459e-1f);
        p = p * v + Vector256.Create(5.0000001201e-1f);
        p = p * z + v + Vector256<float>.One;
        var pow2n = (Vector256.ConvertToInt32(fx) + Vector256.Create(127)) << 23;
        var r = p * pow2n.AsSingle();
        r = Vector256.ConditionalSelect(tooSmall, Vector256<float>.Zero, r);
        r = Vector256.ConditionalSelect(tooLarge, Vector256.Create(float.PositiveInfinity), r);
        // NaN compares false everywhere, so it passed the clamps as a number: put it back
        return Vector256.ConditionalSelect(Vector256.Equals(x, x), r, x);
    }

    // The softmax rows' exponential, ExpRow8 / ExpRow16: Exp8's clamps, reduction and polynomial, but the
    // reduction in fused multiply-adds and the polynomial by Estrin's scheme, so its dependency chain is
    // about half as long (the out-of-order core then overlaps consecutive vectors). The two widths run
    // the same operations lane by lane: bit-identical results (they differ from Exp8's by an ulp or so).

    /// <summary>e^x for eight floats, the softmax rows' variant (see above); −∞ and below −87.3 give 0, NaN gives NaN.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector256<float> ExpRow8(Vector256<float> x)
    {
        var tooSmall = Vector256.LessThan(x, Vector256.Create(-87.33654f));
        var tooLarge = Vector256.GreaterThan(x, Vector256.Create(88.72283f));
        var v = Vector256.Min(Vector256.Max(x, Vector256.Create(-87.33654f)), Vector256.Create(88.72283f));
        var fx = Vector256.Round(v * Vector256.Create(1.44269504088896341f));
        v = Vector256.FusedMultiplyAdd(fx, Vector256.Create(-0.693359375f), v);
        v = Vector256.FusedMultiplyAdd(fx, Vector256.Create(2.12194440e-4f), v);
        var z = v * v;
        var p01 = Vector256.FusedMultiplyAdd(Vector256.Create(1.6666665459e-1f), v, Vector256.Create(5.0000001201e-1f));
        var p23 = Vector256.FusedMultiplyAdd(Vector256.Create(8.3334519073e-3f), v, Vector256.Create(4.1665795894e-2f));
        var p45 = Vector256.FusedMultiplyAdd(Vector256.Create(1.9875691500e-4f), v, Vector256.Create(1.3981999507e-3f));
        var p = Vector256.FusedMultiplyAdd(Vector256.FusedMultiplyAdd(p45, z, p23), z, p01);
        p = Vector256.FusedMultiplyAdd(p, z, v) + Vector256<float>.One;
        // fx is a whole number in [−126, 128] here: the plain conversion is exact
        var pow2n = (Vector256.ConvertToInt32Native(fx) + Vector256.Create(127)) << 23;
        var r = p * pow2n.AsSingle();
        r = Vector256.ConditionalSelect(tooSmall, Vector256<float>.Zero, r);
        r = Vector256.ConditionalSelect(tooLarge, Vector256.Create(float.PositiveInfinity), r);
        return Vector256.ConditionalSelect(Vector256.Equals(x, x), r, x);
    }

    /// <summary><see cref="ExpRow8"/> on sixteen floats: the same operations lane by lane, bit-identical results.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector512<float> ExpRow16(Vector512<float> x)
    {
        var tooSmall = Vector512.LessThan(x, Vector512.Create(-87.33654f));
        var tooLarge = Vector512.GreaterThan(x, Vector512.Create(88.72283f));
        var v = Vector512.Min(Vector512.Max(x, Vector512.Create(-87.33654f)), Vector512.Create(88.72283f));
        var fx = Vector512.Round(v * Vector512.Create(1.44269504088896341f));
        v = Vector512.FusedMultiplyAdd(fx, Vector512.Create(-0.693359375f), v);
        v = Vector512.FusedMultiplyAdd(fx, Vector512.Create(2.12194440e-4f), v);
        var z = v * v;
        var p01 = Vector512.FusedMultiplyAdd(Vector512.Create(1.6666665459e-1f), v, Vector512.Create(5.0000001201e-1f));
        var p23 = Vector512.FusedMultiplyAdd(Vector512.Create(8.3334519073e-3f), v, Vector512.Create(4.1665795894e-2f));
        var p45 = Vector512.FusedMultiplyAdd(Vector512.Create(1.9875691500e-4f), v, Vector512.Create(1.3981999507e-3f));
        var p = Vector512.FusedMultiplyAdd(Vector512.FusedMultiplyAdd(p45, z, p23), z, p01);
        p = Vector512.FusedMultiplyAdd(p, z, v) + Vector512<float>.One;
        var pow2n = (Vector512.ConvertToInt32Native(fx) + Vector512.Create(127)) << 23;
        var r = p * pow2n.AsSingle();
        r = Vector512.ConditionalSelect(tooSmall, Vector512<float>.Zero, r);
        r = Vector512.ConditionalSelect(tooLarge, Vector512.Create(float.PositiveInfinity), r);
        return Vector512.ConditionalSelect(Vector512.Equals(x, x), r, x);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector256<float> Tanh8(Vector256<float> x)
    {
        var ax = Vector256.Abs(x);
        var e = Exp8(ax + ax);
        var large = Vector256<float>.One - Vector256.Create(2f) / (e + Vector256<float>.One);
        large = Vector256.ConditionalSelect(Vector256.Create(-0f), x, large); // copy the sign of x
        var z = x * x;
        var p = Vector256.Create(-5.70498872745e-3f);
        p = p * z + Vector256.Create(2.06390887954e-2f);
        p = p * z + Vector256.Create(-5.37397155531e-2f);
        p = p * z + Vector256.Create(1.33314422036e-1f);
        p = p * z + Vector256.Create(-3.33332819422e-1f);
        var small = p * z * x + x;
        return Vector256.ConditionalSelect(Vector256.LessThan(ax, Vector256.Create(0.625f)), small, large);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector256<float> Sigmoid8(Vector256<float> x) => Vector256<float>.One / (Vector256<float>.One + Exp8(-x));
}
