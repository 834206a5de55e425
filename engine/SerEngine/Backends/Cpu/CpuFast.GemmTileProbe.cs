using System.Runtime.Intrinsics.X86;

namespace SerEngine.Backends.Cpu;

// The GEMM tile kernel on its own, for the bench's probe gemm.tile.v512 / v256: the rate sgemm's in-place tiles
// reach on a core when every operand is in L1, between the FMA peak (fma.peak) and sgemm in situ, so a shortfall
// can be split into what the kernel loses and what the memory around it costs.
public partial class CpuBackend
{
    /// <summary>Whether this machine runs the six-row in-place tile kernel of <paramref name="bits"/> (512 or 256).</summary>
    internal static bool GemmTileSupported(int bits) => bits == 512 ? Avx512F.IsSupported : bits == 256 && Fma.IsSupported;

    /// <summary>Columns of that tile: 32 at 512 bits, 16 at 256.</summary>
    internal static int GemmTileColumns(int bits) => bits == 512 ? InPlace512.NR : InPlace256.NR;

    /// <summary>
    /// Runs the six-row in-place tile kernel of <paramref name="bits"/> (the one sgemm's full tiles run when A is
    /// read in place) <paramref name="repeats"/> times over the same operands: C[6, NR] += A[6, kc]·B[kc, NR], A's
    /// rows <paramref name="lda"/> floats apart, B one packed [kc][NR] micro-panel, C's rows <paramref name="ldc"/>
    /// apart. The caller checks <see cref="GemmTileSupported"/>.
    /// </summary>
    internal static unsafe void GemmTileRepeat(int bits, int kc, float* a, nint lda, float* b, float* c, nint ldc, int repeats)
    {
        if (bits == 512)
            for (int r = 0; r < repeats; r++) InPlace512.SixRows(kc, a, lda, b, c, ldc, add: true);
        else
            for (int r = 0; r < repeats; r++) InPlace256.SixRows(kc, a, lda, b, c, ldc, add: true);
    }
}
