using System.Runtime.InteropServices;
using SerEngine.Audio;
using SerEngine.Backends;
using SerEngine.Backends.Cpu;

namespace SerEngine.Bench;

/// <summary>
/// <c>gemm.tile.v512</c> / <c>gemm.tile.v256</c> (optionally <c>.ldaN</c>): a probe like <see cref="FmaPeakCase"/> (no
/// PyTorch peer). Each of the bench's threads runs the cpu backend's six-row in-place GEMM tile kernel (the one
/// sgemm.1024's full tiles run: 6×64 at 512 bits, 6×16 at 256) over operands that stay in L1: A's six rows <c>lda</c>
/// floats apart (default 1024, sgemm.1024's rows, 4 KiB apart), the tile's packed B micro-panels, KC rows deep, and a
/// C tile it adds into. Its GFLOP/s over
/// fma.peak's is what the kernel itself reaches; sgemm.1024's over this one's is what feeding it from memory costs.
/// </summary>
/// <param name="bits">512 or 256.</param>
/// <param name="lda">Floats between A's rows (and C's).</param>
public sealed class GemmTileCase(int bits, int lda = GemmTileCase.DefaultLda) : BenchCase
{
    /// <summary>sgemm.1024's row stride.</summary>
    public const int DefaultLda = 1024;

    /// <summary>Tile calls per thread and run (each KC deep).</summary>
    public const int Repeats = 4096;

    /// <inheritdoc/>
    public override string Name => lda == DefaultLda ? $"gemm.tile.v{bits}" : $"gemm.tile.v{bits}.lda{lda}";

    /// <inheritdoc/>
    public override string Description =>
        $"probe: the cpu backend's 6-row {bits}-bit GEMM tile kernel (sgemm's) with every operand in L1, A's rows {lda} floats apart (the kernel's own ceiling; not a BENCH_CASES.md case)";

    /// <summary>The case called <paramref name="name"/> (<c>gemm.tile.v512.lda260</c>), or null.</summary>
    public static GemmTileCase? Parse(string name)
    {
        var m = System.Text.RegularExpressions.Regex.Match(name, @"^gemm\.tile\.v(512|256)(?:\.lda([1-9]\d{0,4}))?$");
        if (!m.Success) return null;
        int l = m.Groups[2].Success ? int.Parse(m.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture) : DefaultLda;
        return l >= CpuBackend.GemmKC ? new GemmTileCase(m.Groups[1].Value == "512" ? 512 : 256, l) : null;
    }

    /// <inheritdoc/>
    public override unsafe BenchStep Prepare(Backend backend)
    {
        if (!CpuBackend.GemmTileSupported(bits))
            throw new NotSupportedException($"{Name}: this machine (or DOTNET_EnableAVX512=0) has no {bits}-bit FMA");
        int threads = FrontEndThreads.Max, kc = CpuBackend.GemmKC, nr = CpuBackend.GemmTileColumns(bits);
        nuint aFloats = (nuint)(6 * lda), bFloats = (nuint)(kc * nr);
        var buffers = new nint[threads * 3];
        for (int t = 0; t < threads; t++)
        {
            // each thread its own operands, 64-byte aligned as the backend's packing buffers and tensors are
            float* a = (float*)NativeMemory.AlignedAlloc(aFloats * sizeof(float), 64); // [6][lda], rows 0..kc used
            float* b = (float*)NativeMemory.AlignedAlloc(bFloats * sizeof(float), 64); // [columns / panel][kc][panel]
            float* c = (float*)NativeMemory.AlignedAlloc(aFloats * sizeof(float), 64); // [6][lda], the tile's columns used
            for (nuint i = 0; i < aFloats; i++) { a[i] = (i % 7) * 0.01f; c[i] = 0f; }
            for (nuint i = 0; i < bFloats; i++) b[i] = (i % 5) * 0.01f;
            (buffers[3 * t], buffers[3 * t + 1], buffers[3 * t + 2]) = ((nint)a, (nint)b, (nint)c);
        }
        var options = new ParallelOptions { MaxDegreeOfParallelism = threads };
        double flops = 2.0 * 6 * nr * kc * (double)Repeats * threads;
        return new BenchStep(
            () => Parallel.For(0, threads, options, t => CpuBackend.GemmTileRepeat(bits, kc,
                (float*)buffers[3 * t], lda, (float*)buffers[3 * t + 1], (float*)buffers[3 * t + 2], lda, Repeats)),
            flops,
            Cleanup: () => { foreach (var p in buffers) NativeMemory.AlignedFree((void*)p); });
    }
}
