using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using SerEngine.Audio;
using SerEngine.Backends;

namespace SerEngine.Bench;

/// <summary>
/// <c>stream.triad.MB</c>: the machine's memory bandwidth, a probe like <see cref="FmaPeakCase"/> (no
/// PyTorch peer): a[i] = b[i] + s·c[i] over three arrays of <paramref name="megabytes"/> MB each, far
/// beyond the caches, split in equal contiguous parts over the bench's threads. GB/s count the 3 arrays'
/// bytes (the write-allocate read of a is not counted, as STREAM does). The memory-bound cases'
/// fraction of the limit is their GB/s over this one's.
/// </summary>
/// <param name="megabytes">Size of each array in MB.</param>
public sealed class StreamTriadCase(int megabytes) : BenchCase
{
    /// <inheritdoc/>
    public override string Name => $"stream.triad.{megabytes}MB";

    /// <inheritdoc/>
    public override string Description => $"probe: a = b + s·c over three {megabytes} MB float32 arrays (the memory bandwidth; not a BENCH_CASES.md case)";

    /// <inheritdoc/>
    public override BenchStep Prepare(Backend backend)
    {
        int n = megabytes * (1 << 20) / sizeof(float);
        float[] a = new float[n], b = new float[n], c = new float[n]; // touched once here, so the runs measure no page faults
        b.AsSpan().Fill(1f);
        c.AsSpan().Fill(2f);
        int threads = FrontEndThreads.Max;
        var options = new ParallelOptions { MaxDegreeOfParallelism = threads };
        return new BenchStep(() => Parallel.For(0, threads, options, t =>
        {
            int from = (int)((long)n * t / threads), to = (int)((long)n * (t + 1) / threads);
            Triad(a.AsSpan(from, to - from), b.AsSpan(from, to - from), c.AsSpan(from, to - from), 3f);
        }), Bytes: 3.0 * n * sizeof(float));
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void Triad(Span<float> a, ReadOnlySpan<float> b, ReadOnlySpan<float> c, float s)
    {
        var vs = Vector256.Create(s);
        int i = 0;
        for (; i + 8 <= a.Length; i += 8)
            (Vector256.Create(b.Slice(i, 8)) + vs * Vector256.Create(c.Slice(i, 8))).CopyTo(a.Slice(i, 8));
        for (; i < a.Length; i++) a[i] = b[i] + s * c[i];
    }
}
