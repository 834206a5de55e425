using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace SerEngine.Backends.Cpu;

// Row kernels of the batch-norm backwards that also sum what they store: d = k·(g − meanDy − (x − mu)·q)
// (g = dy, or dy where y > 0) written and summed in FixedSum.Sum's order in the same pass, so the
// input-bias gradient (Σ dx) no longer reads each dx row again. On AVX-512 the elementwise work runs
// sixteen lanes at a time: a 512-bit accumulator over 16 values is FixedSum's pair of 256-bit ones
// (a0 | a1) added lane by lane, so the sum is the same float for float at either width.
// Legend: dy, y, x, d: one row of HW values.
public partial class CpuBackend
{
    /// <summary>d = k·(dy − meanDy − (x − mu)·q) as BatchNormRowBackward; returns FixedSum.Sum(d).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static float BatchNormRowBackwardSum(ReadOnlySpan<float> dy, ReadOnlySpan<float> x, float mu, float k, float meanDy, float q, Span<float> d) =>
        RowBackwardSum(dy, dy, x, mu, k, meanDy, q, d, relu: false);

    /// <summary>d = k·(g − meanDy − (x − mu)·q) for g = dy where y &gt; 0, as BatchNormReluRowBackward; returns FixedSum.Sum(d).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static float BatchNormReluRowBackwardSum(ReadOnlySpan<float> dy, ReadOnlySpan<float> y, ReadOnlySpan<float> x, float mu, float k, float meanDy, float q, Span<float> d) =>
        RowBackwardSum(dy, y, x, mu, k, meanDy, q, d, relu: true);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float RowBackwardSum(ReadOnlySpan<float> dy, ReadOnlySpan<float> y, ReadOnlySpan<float> x, float mu, float k, float meanDy, float q, Span<float> d, bool relu)
    {
        int n = dy.Length, i = 0;
        if (y.Length != n || x.Length != n || d.Length < n) throw new ArgumentException("row lengths differ");
        ref float pg = ref MemoryMarshal.GetReference(dy), py = ref MemoryMarshal.GetReference(y);
        ref float px = ref MemoryMarshal.GetReference(x), pd = ref MemoryMarshal.GetReference(d);
        Vector256<float> a0 = Vector256<float>.Zero, a1 = a0, a2 = a0, a3 = a0;
        if (Vector512.IsHardwareAccelerated)
        {
            var k16 = Vector512.Create(k);
            var m16 = Vector512.Create(meanDy);
            var q16 = Vector512.Create(q);
            var mu16 = Vector512.Create(mu);
            Vector512<float> a01 = Vector512<float>.Zero, a23 = a01;
            for (; i <= n - 32; i += 32)
            {
                var d0 = Row16(ref pg, ref py, ref px, i, mu16, k16, m16, q16, relu);
                var d1 = Row16(ref pg, ref py, ref px, i + 16, mu16, k16, m16, q16, relu);
                d0.StoreUnsafe(ref pd, (nuint)i);
                d1.StoreUnsafe(ref pd, (nuint)(i + 16));
                a01 += d0;
                a23 += d1;
            }
            (a0, a1, a2, a3) = (a01.GetLower(), a01.GetUpper(), a23.GetLower(), a23.GetUpper());
        }
        var k8 = Vector256.Create(k);
        var m8 = Vector256.Create(meanDy);
        var q8 = Vector256.Create(q);
        var mu8 = Vector256.Create(mu);
        for (; i <= n - 32; i += 32)
        {
            var d0 = Row8(ref pg, ref py, ref px, i, mu8, k8, m8, q8, relu);
            var d1 = Row8(ref pg, ref py, ref px, i + 8, mu8, k8, m8, q8, relu);
            var d2 = Row8(ref pg, ref py, ref px, i + 16, mu8, k8, m8, q8, relu);
            var d3 = Row8(ref pg, ref py, ref px, i + 24, mu8, k8, m8, q8, relu);
            d0.StoreUnsafe(ref pd, (nuint)i);
            d1.StoreUnsafe(ref pd, (nuint)(i + 8));
            d2.StoreUnsafe(ref pd, (nuint)(i + 16));
            d3.StoreUnsafe(ref pd, (nuint)(i + 24));
            a0 += d0;
            a1 += d1;
            a2 += d2;
            a3 += d3;
        }
        for (; i <= n - 8; i += 8)
        {
            var d0 = Row8(ref pg, ref py, ref px, i, mu8, k8, m8, q8, relu);
            d0.StoreUnsafe(ref pd, (nuint)i);
            a0 += d0;
        }
        float s = FixedSum.Lanes((a0 + a1) + (a2 + a3));
        for (; i < n; i++)
        {
            float g = relu ? Positive(y[i], dy[i]) : dy[i];
            d[i] = k * (g - meanDy - (x[i] - mu) * q);
            s += d[i];
        }
        return s;
    }

    /// <summary>Sixteen values of the row backward (the masked dy when <paramref name="relu"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Row16(ref float dy, ref float y, ref float x, int i, Vector512<float> mu, Vector512<float> k,
        Vector512<float> meanDy, Vector512<float> q, bool relu)
    {
        var g = Vector512.LoadUnsafe(ref dy, (nuint)i);
        if (relu) g = Vector512.ConditionalSelect(Vector512.GreaterThan(Vector512.LoadUnsafe(ref y, (nuint)i), Vector512<float>.Zero), g, Vector512<float>.Zero);
        var xc = Vector512.LoadUnsafe(ref x, (nuint)i) - mu;
        return k * (g - meanDy - xc * q);
    }

    /// <summary>Eight values of the row backward, as BatchNormRowBackward's and BatchNormReluRowBackward's vector loops.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Row8(ref float dy, ref float y, ref float x, int i, Vector256<float> mu, Vector256<float> k,
        Vector256<float> meanDy, Vector256<float> q, bool relu)
    {
        var g = Vector256.LoadUnsafe(ref dy, (nuint)i);
        if (relu) g = Vector256.ConditionalSelect(Vector256.GreaterThan(Vector256.LoadUnsafe(ref y, (nuint)i), Vector256<float>.Zero), g, Vector256<float>.Zero);
        var xc = Vector256.LoadUnsafe(ref x, (nuint)i) - mu;
        return k * (g - meanDy - xc * q);
    }
}
