using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace SerEngine.Backends.Cpu;

// Sums and dot products whose order of additions does not depend on the machine's vector width:
// always four 256-bit accumulators over 32-float steps, then one over 8-float steps, the lanes added in
// a fixed order, then the scalar tail. TensorPrimitives.Sum/Dot use 512-bit vectors where the CPU has
// them, so an AVX-512 machine and an AVX2 one summed the same row differently and a training run's
// result depended on the machine (README's main command: UA 0.844 against 0.815). On AVX-512 the
// 256-bit instructions run as fast for these memory-bound loops; without AVX2 the Vector256 type is
// emulated lane by lane, slower but with the same result.
internal static class FixedSum
{
    /// <summary>Σ x[i], in the fixed order above.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float Sum(ReadOnlySpan<float> x)
    {
        ref float p = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(x);
        int n = x.Length, i = 0;
        Vector256<float> a0 = Vector256<float>.Zero, a1 = a0, a2 = a0, a3 = a0;
        for (; i <= n - 32; i += 32)
        {
            a0 += Vector256.LoadUnsafe(ref p, (nuint)i);
            a1 += Vector256.LoadUnsafe(ref p, (nuint)(i + 8));
            a2 += Vector256.LoadUnsafe(ref p, (nuint)(i + 16));
            a3 += Vector256.LoadUnsafe(ref p, (nuint)(i + 24));
        }
        for (; i <= n - 8; i += 8) a0 += Vector256.LoadUnsafe(ref p, (nuint)i);
        float s = Lanes((a0 + a1) + (a2 + a3));
        for (; i < n; i++) s += Unsafe.Add(ref p, i);
        return s;
    }

    /// <summary>Σ x[i]·y[i], in the fixed order above (a multiply, then an add: no fused multiply-add, whose rounding differs).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float Dot(ReadOnlySpan<float> x, ReadOnlySpan<float> y)
    {
        if (x.Length != y.Length) throw new ArgumentException($"dot of {x.Length} and {y.Length} values");
        ref float p = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(x);
        ref float q = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(y);
        int n = x.Length, i = 0;
        Vector256<float> a0 = Vector256<float>.Zero, a1 = a0, a2 = a0, a3 = a0;
        for (; i <= n - 32; i += 32)
        {
            a0 += Vector256.LoadUnsafe(ref p, (nuint)i) * Vector256.LoadUnsafe(ref q, (nuint)i);
            a1 += Vector256.LoadUnsafe(ref p, (nuint)(i + 8)) * Vector256.LoadUnsafe(ref q, (nuint)(i + 8));
            a2 += Vector256.LoadUnsafe(ref p, (nuint)(i + 16)) * Vector256.LoadUnsafe(ref q, (nuint)(i + 16));
            a3 += Vector256.LoadUnsafe(ref p, (nuint)(i + 24)) * Vector256.LoadUnsafe(ref q, (nuint)(i + 24));
        }
        for (; i <= n - 8; i += 8) a0 += Vector256.LoadUnsafe(ref p, (nuint)i) * Vector256.LoadUnsafe(ref q, (nuint)i);
        float s = Lanes((a0 + a1) + (a2 + a3));
        for (; i < n; i++) s += Unsafe.Add(ref p, i) * Unsafe.Add(ref q, i);
        return s;
    }

    /// <summary>The 8 lanes added pairwise: ((l0 + l4) + (l2 + l6)) + ((l1 + l5) + (l3 + l7)).</summary>
    internal static float Lanes(Vector256<float> v)
    {
        var h = v.GetLower() + v.GetUpper();            // l0+l4, l1+l5, l2+l6, l3+l7
        float a = h.GetElement(0) + h.GetElement(2), b = h.GetElement(1) + h.GetElement(3);
        return a + b;
    }
}
