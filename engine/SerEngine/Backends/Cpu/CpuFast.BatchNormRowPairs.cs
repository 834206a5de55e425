using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace SerEngine.Backends.Cpu;

// Two-row forms of the batch norm's statistics kernels: the second statistics pass (Σ (x − mean)²,
// SumSquaredDeviation) and the rectified backward's first pass (SumAndCenteredDotRelu) on images i and
// i + 1 of a channel at once. Each row keeps its own accumulators, its own order and its own lane sum
// (Vector256.Sum, then the scalar tail in double), and the caller adds the two results in image order,
// so the sums are those of the one-row kernels bit for bit. One row's add chain waits on the adder's
// latency and its stream starts cold; two rows keep twice the additions and the misses in flight.
// Legend: x0, x1, dy0, dy1, y0, y1: rows of one channel of images i and i + 1, HW values each.
public partial class CpuBackend
{
    /// <summary>(SumSquaredDeviation(x0, mu), SumSquaredDeviation(x1, mu)).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static (double, double) SumSquaredDeviation2(ReadOnlySpan<float> x0, ReadOnlySpan<float> x1, float mu)
    {
        int n = x0.Length;
        if (x1.Length != n) throw new ArgumentException("row lengths differ");
        ref float p0 = ref MemoryMarshal.GetReference(x0), p1 = ref MemoryMarshal.GetReference(x1);
        Vector256<float> a0 = Vector256<float>.Zero, a1 = a0;
        var m = Vector256.Create(mu);
        int i = 0;
        for (; i <= n - 8; i += 8)
        {
            var d0 = Vector256.LoadUnsafe(ref p0, (nuint)i) - m;
            var d1 = Vector256.LoadUnsafe(ref p1, (nuint)i) - m;
            a0 += d0 * d0;
            a1 += d1 * d1;
        }
        double s0 = Vector256.Sum(a0), s1 = Vector256.Sum(a1);
        for (int j = i; j < n; j++) s0 += (double)(x0[j] - mu) * (x0[j] - mu);
        for (int j = i; j < n; j++) s1 += (double)(x1[j] - mu) * (x1[j] - mu);
        return (s0, s1);
    }

    /// <summary>SumAndCenteredDotRelu of two rows at once: (Σ g0, Σ g0·(x0 − mu), Σ g1, Σ g1·(x1 − mu)) for g = dy where y &gt; 0.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static (double, double, double, double) SumAndCenteredDotRelu2(ReadOnlySpan<float> dy0, ReadOnlySpan<float> y0, ReadOnlySpan<float> x0,
        ReadOnlySpan<float> dy1, ReadOnlySpan<float> y1, ReadOnlySpan<float> x1, float mu)
    {
        int n = dy0.Length;
        if (y0.Length != n || x0.Length != n || dy1.Length != n || y1.Length != n || x1.Length != n) throw new ArgumentException("row lengths differ");
        ref float g0 = ref MemoryMarshal.GetReference(dy0), g1 = ref MemoryMarshal.GetReference(dy1);
        ref float q0 = ref MemoryMarshal.GetReference(y0), q1 = ref MemoryMarshal.GetReference(y1);
        ref float p0 = ref MemoryMarshal.GetReference(x0), p1 = ref MemoryMarshal.GetReference(x1);
        Vector256<float> a0 = Vector256<float>.Zero, b0 = a0, a1 = a0, b1 = a0;
        var m = Vector256.Create(mu);
        int i = 0;
        for (; i <= n - 8; i += 8)
        {
            var u = Vector256.ConditionalSelect(Vector256.GreaterThan(Vector256.LoadUnsafe(ref q0, (nuint)i), Vector256<float>.Zero),
                Vector256.LoadUnsafe(ref g0, (nuint)i), Vector256<float>.Zero);
            var v = Vector256.ConditionalSelect(Vector256.GreaterThan(Vector256.LoadUnsafe(ref q1, (nuint)i), Vector256<float>.Zero),
                Vector256.LoadUnsafe(ref g1, (nuint)i), Vector256<float>.Zero);
            a0 += u;
            b0 += u * (Vector256.LoadUnsafe(ref p0, (nuint)i) - m);
            a1 += v;
            b1 += v * (Vector256.LoadUnsafe(ref p1, (nuint)i) - m);
        }
        double sa0 = Vector256.Sum(a0), sb0 = Vector256.Sum(b0), sa1 = Vector256.Sum(a1), sb1 = Vector256.Sum(b1);
        for (int j = i; j < n; j++)
        {
            float g = Positive(y0[j], dy0[j]);
            sa0 += g;
            sb0 += (double)g * (x0[j] - mu);
        }
        for (int j = i; j < n; j++)
        {
            float g = Positive(y1[j], dy1[j]);
            sa1 += g;
            sb1 += (double)g * (x1[j] - mu);
        }
        return (sa0, sb0, sa1, sb1);
    }
}
