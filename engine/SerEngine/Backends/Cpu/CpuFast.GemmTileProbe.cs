using System.Runtime.Intrinsics.X86;

namespace SerEngine.Backends.Cpu;

// The GEMM tile kernel on its own, for the bench's probe gemm.tile.v512 / v256: the rate sgemm's in-place tiles
// reach on a core when every operand is in L1, between the FMA peak (fma.peak) and sgemm in situ, so a shortfall
// can be split into what the kernel loses and what the memory around it costs.
public partial class CpuBackend
{
    /// <summary>Whether this machine runs the in-place tile kernel of <paramref name="bits"/> (512 or 256).</summary>
    internal static bool GemmTileSupported(int bits) => bits == 512 ? Avx512F.IsSupported : bits == 256 && Fma.IsSupported;

    /// <summary>Columns of that tile: 64 at 512 bits (sgemm.1024's 6×64 whole-depth tile), 16 at 256 (the 6×16 tile).</summary>
    internal static int GemmTileColumns(int bits) => bits == 512 ? 2 * InPlace512.NR : InPlace256.NR;

    /// <summary>Columns of one packed B micro-panel at <paramref name="bits"/>: 32 or 16.</summary>
    internal static int GemmTilePanel(int bits) => bits == 512 ? InPlace512.NR : InPlace256.NR;

    /// <summary>
    /// Runs the six-row in-place tile kernel of <paramref name="bits"/> that sgemm.1024's full tiles run (512 bits:
    /// <see cref="Kernel6x64RowsFullDepth"/> over one slab; 256 bits: the 6×16 slab kernel) <paramref name="repeats"/>
    /// times over the same operands: C[6, <see cref="GemmTileColumns"/>] += A[6, kc]·B, A's rows <paramref name="lda"/>
    /// floats apart, B the tile's packed micro-panels side by side ([columns / panel][kc][panel], panel =
    /// <see cref="GemmTilePanel"/>), C's rows <paramref name="ldc"/> apart; kc ≤ KC. The caller checks
    /// <see cref="GemmTileSupported"/>.
    /// </summary>
    internal static unsafe void GemmTileRepeat(int bits, int kc, float* a, nint lda, float* b, float* c, nint ldc, int repeats)
    {
        if (kc < 1 || kc > GemmKC) throw new ArgumentOutOfRangeException(nameof(kc), $"the tile runs one slab: 1..{GemmKC}, got {kc}");
        float* sums = stackalloc float[GemmMR * 2 * InPlace512.NR]; // [MR][64]; one slab never reads it
        if (bits == 512)
            for (int r = 0; r < repeats; r++) Kernel6x64RowsFullDepth(kc, a, lda, b, 0, 2 * InPlace512.NR, c, ldc, add: true, sums);
        else
            for (int r = 0; r < repeats; r++) InPlace256.SixRows(kc, a, lda, b, c, ldc, add: true);
    }
}
