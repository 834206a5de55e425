using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics.X86;

namespace SerEngine.Backends.Cpu;

// Software prefetch of the next row of a strided channel walk (the batch-norm passes read one
// channel's N rows of HW values, C·HW apart): each row is a short stream of its own, which the
// hardware prefetcher picks up only after its first lines miss, so the walk waits on memory at the
// start of every row. Issuing the next row's lines while this one is summed keeps the misses in
// flight. Only a hint: the values and their order are untouched. Used by BatchNorm2dReluMaxPoolBackward's
// first pass (five streams a row: x, dyPool, yPool, argmax, the plane); the passes of one or three
// streams gained nothing from it.
internal static class RowPrefetch
{
    /// <summary>Prefetches (into L2) every cache line of <paramref name="row"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe void Row(ReadOnlySpan<float> row)
    {
        if (!Sse.IsSupported) return;
        fixed (float* p = row)
            for (int i = 0; i < row.Length; i += 16) Sse.Prefetch1(p + i);
    }

    /// <summary>Prefetches row (i, ch) of a [N, C, HW] tensor when it exists (i &lt; n).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Row(float[] a, int i, int n, int ch, int c, int hw)
    {
        if (i < n) Row(a.AsSpan((i * c + ch) * hw, hw));
    }

    /// <summary>Prefetches row (i, ch) of an int [N, C, HW] tensor when it exists (i &lt; n).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Row(int[] a, int i, int n, int ch, int c, int hw)
    {
        if (i < n) Row(System.Runtime.InteropServices.MemoryMarshal.Cast<int, float>(a.AsSpan((i * c + ch) * hw, hw)));
    }
}
