using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using SerEngine.Audio;
using SerEngine.Backends;

namespace SerEngine.Bench;

/// <summary>
/// <c>fma.peak.v512</c> / <c>fma.peak.v256</c>: the machine's float32 FMA peak, a probe rather than a
/// BENCH_CASES.md case (no PyTorch peer). Each of the bench's threads runs <see cref="Chains"/>
/// independent FMA chains of 512- or 256-bit vectors (more chains than FMA latency × FMA pipes, so
/// the pipes never wait), all in registers; GFLOP/s count 2 flops per lane per FMA. The GEMM's
/// fraction of peak is sgemm's GFLOP/s over this one's at the same thread count.
/// </summary>
/// <param name="bits">512 or 256.</param>
public sealed class FmaPeakCase(int bits) : BenchCase
{
    /// <summary>Independent accumulators per thread.</summary>
    public const int Chains = 12;

    /// <summary>Loop iterations per thread and run (each does <see cref="Chains"/> FMAs).</summary>
    public const int Iterations = 1 << 21;

    private static float _sink;

    /// <inheritdoc/>
    public override string Name => $"fma.peak.v{bits}";

    /// <inheritdoc/>
    public override string Description => $"probe: {Chains} independent {bits}-bit float32 FMA chains per thread (the FMA peak; not a BENCH_CASES.md case)";

    /// <inheritdoc/>
    public override BenchStep Prepare(Backend backend)
    {
        if (bits == 512 ? !Avx512F.IsSupported : bits == 256 ? !Fma.IsSupported : true)
            throw new NotSupportedException($"{Name}: this machine (or DOTNET_EnableAVX512=0) has no {bits}-bit FMA");
        int threads = FrontEndThreads.Max;
        var options = new ParallelOptions { MaxDegreeOfParallelism = threads };
        Action<int> body = bits == 512 ? _ => Chains512() : _ => Chains256();
        double flops = 2.0 * Chains * (bits / 32) * (double)Iterations * threads;
        return new BenchStep(() => Parallel.For(0, threads, options, body), flops);
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void Chains512()
    {
        // acc = acc·m + c stays bounded (|m| < 1), so no chain overflows or goes denormal
        var m = Vector512.Create(0.999f);
        var c = Vector512.Create(1e-3f);
        Vector512<float> a0 = Vector512.Create(0.1f), a1 = a0 + c, a2 = a1 + c, a3 = a2 + c, a4 = a3 + c, a5 = a4 + c;
        Vector512<float> a6 = a5 + c, a7 = a6 + c, a8 = a7 + c, a9 = a8 + c, a10 = a9 + c, a11 = a10 + c;
        for (int i = 0; i < Iterations; i++)
        {
            a0 = Avx512F.FusedMultiplyAdd(a0, m, c); a1 = Avx512F.FusedMultiplyAdd(a1, m, c);
            a2 = Avx512F.FusedMultiplyAdd(a2, m, c); a3 = Avx512F.FusedMultiplyAdd(a3, m, c);
            a4 = Avx512F.FusedMultiplyAdd(a4, m, c); a5 = Avx512F.FusedMultiplyAdd(a5, m, c);
            a6 = Avx512F.FusedMultiplyAdd(a6, m, c); a7 = Avx512F.FusedMultiplyAdd(a7, m, c);
            a8 = Avx512F.FusedMultiplyAdd(a8, m, c); a9 = Avx512F.FusedMultiplyAdd(a9, m, c);
            a10 = Avx512F.FusedMultiplyAdd(a10, m, c); a11 = Avx512F.FusedMultiplyAdd(a11, m, c);
        }
        _sink = Vector512.Sum(a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11);
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void Chains256()
    {
        var m = Vector256.Create(0.999f);
        var c = Vector256.Create(1e-3f);
        Vector256<float> a0 = Vector256.Create(0.1f), a1 = a0 + c, a2 = a1 + c, a3 = a2 + c, a4 = a3 + c, a5 = a4 + c;
        Vector256<float> a6 = a5 + c, a7 = a6 + c, a8 = a7 + c, a9 = a8 + c, a10 = a9 + c, a11 = a10 + c;
        for (int i = 0; i < Iterations; i++)
        {
            a0 = Fma.MultiplyAdd(a0, m, c); a1 = Fma.MultiplyAdd(a1, m, c);
            a2 = Fma.MultiplyAdd(a2, m, c); a3 = Fma.MultiplyAdd(a3, m, c);
            a4 = Fma.MultiplyAdd(a4, m, c); a5 = Fma.MultiplyAdd(a5, m, c);
            a6 = Fma.MultiplyAdd(a6, m, c); a7 = Fma.MultiplyAdd(a7, m, c);
            a8 = Fma.MultiplyAdd(a8, m, c); a9 = Fma.MultiplyAdd(a9, m, c);
            a10 = Fma.MultiplyAdd(a10, m, c); a11 = Fma.MultiplyAdd(a11, m, c);
        }
        _sink = Vector256.Sum(a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11);
    }
}
