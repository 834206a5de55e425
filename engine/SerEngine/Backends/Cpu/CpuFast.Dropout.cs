using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace SerEngine.Backends.Cpu;

// Dropout masks, fast: the reference's counter-based draw (CpuReferenceBackend.DropoutUniform, a SplitMix64
// finaliser over seed + (index + 1)·golden) eight indices at a time in 64-bit integer lanes, the chunks shared
// among threads. Every step is integer arithmetic or an exact conversion (the draw keeps 24 bits), so the mask
// is the reference's bit for bit on any vector width and thread count.
public partial class CpuBackend
{
    /// <inheritdoc/>
    public override unsafe void DropoutMask(Storage mask, int n, float p, ulong seed)
    {
        float[] m = F(mask);
        float keep = 1f / (1f - p);
        // a draw is ~20 integer operations: worth a thread from a few thousand elements on
        ForChunks(n, 8L * n, (s, e) =>
        {
            fixed (float* pm = m) DropoutRange(pm, s, e, p, keep, seed);
        });
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void DropoutRange(float* m, int start, int end, float p, float keep, ulong seed)
    {
        int i = start;
        if (Vector256.IsHardwareAccelerated)
        {
            var golden = Vector256.Create(0x9E3779B97F4A7C15UL);
            var vseed = Vector256.Create(seed);
            var lanes = Vector256.Create(1UL, 2UL, 3UL, 4UL);    // index + 1 for the first four lanes
            var four = Vector256.Create(4UL);
            var vp = Vector256.Create(p);
            var vkeep = Vector256.Create(keep);
            var scale = Vector256.Create(1f / (1 << 24));
            for (; i + 8 <= end; i += 8)
            {
                var counter = Vector256.Create((ulong)i) + lanes;
                var lo = Mix(vseed + counter * golden);
                var hi = Mix(vseed + (counter + four) * golden);
                // the top 24 bits, exact as int and as float, scaled to [0, 1) as the reference scales them
                var bits = Vector256.Narrow(Vector256.ShiftRightLogical(lo, 40), Vector256.ShiftRightLogical(hi, 40)).AsInt32();
                var u = Vector256.ConvertToSingle(bits) * scale;
                Vector256.ConditionalSelect(Vector256.LessThan(u, vp), Vector256<float>.Zero, vkeep).Store(m + i);
            }
        }
        for (; i < end; i++) m[i] = DropoutUniform(seed, (ulong)i) < p ? 0f : keep;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<ulong> Mix(Vector256<ulong> z)
    {
        z = (z ^ Vector256.ShiftRightLogical(z, 30)) * Vector256.Create(0xBF58476D1CE4E5B9UL);
        z = (z ^ Vector256.ShiftRightLogical(z, 27)) * Vector256.Create(0x94D049BB133111EBUL);
        return z ^ Vector256.ShiftRightLogical(z, 31);
    }
}
