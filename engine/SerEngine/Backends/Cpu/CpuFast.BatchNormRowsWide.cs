using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace SerEngine.Backends.Cpu;

// Row kernels of the batch-norm backwards that also sum what they store: d = k·(g − meanDy − (x − mu)·q)
// (g = dy, or dy where y > 0) written and summed in FixedSum.Sum's order in the same pass, so the
// input-bias gradient (Σ dx) no longer reads each dx row again. On AVX-512 the elementwise work runs
// sixteen lanes at a time: a 512-bit accumulator over 16 values is FixedSum's pair of 256-bit ones
// (a0 | a1) added lane by lane, so the sum is the same float for float at either width.
// Also the first pass's two-row sum of BatchNorm2dReluMaxPoolBackward (SumAndCenteredDot2).
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

    /// <summary>
    /// SumAndCenteredDot of two rows at once, each with its own accumulators in its own order (the same sums): one row's
    /// pair of add chains waits on the adder's latency, two rows' keep it busy.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static (double, double, double, double) SumAndCenteredDot2(ReadOnlySpan<float> dy0, ReadOnlySpan<float> x0, ReadOnlySpan<float> dy1, ReadOnlySpan<float> x1, float mu)
    {
        int n = dy0.Length;
        if (x0.Length != n || dy1.Length != n || x1.Length != n) throw new ArgumentException("row lengths differ");
        ref float g0 = ref MemoryMarshal.GetReference(dy0), g1 = ref MemoryMarshal.GetReference(dy1);
        ref float p0 = ref MemoryMarshal.GetReference(x0), p1 = ref MemoryMarshal.GetReference(x1);
        Vector256<float> a0 = Vector256<float>.Zero, b0 = a0, a1 = a0, b1 = a0;
        var m = Vector256.Create(mu);
        int i = 0;
        for (; i <= n - 8; i += 8)
        {
            var u = Vector256.LoadUnsafe(ref g0, (nuint)i);
            var v = Vector256.LoadUnsafe(ref g1, (nuint)i);
            a0 += u;
            b0 += u * (Vector256.LoadUnsafe(ref p0, (nuint)i) - m);
            a1 += v;
            b1 += v * (Vector256.LoadUnsafe(ref p1, (nuint)i) - m);
        }
        double sa0 = Vector256.Sum(a0), sb0 = Vector256.Sum(b0), sa1 = Vector256.Sum(a1), sb1 = Vector256.Sum(b1);
        for (int j = i; j < n; j++)
        {
            sa0 += dy0[j];
            sb0 += (double)dy0[j] * (x0[j] - mu);
        }
        for (int j = i; j < n; j++)
        {
            sa1 += dy1[j];
            sb1 += (double)dy1[j] * (x1[j] - mu);
        }
        return (sa0, sb0, sa1, sb1);
    }
}
