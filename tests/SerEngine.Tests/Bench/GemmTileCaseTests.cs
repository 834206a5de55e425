using SerEngine.Backends.Cpu;
using SerEngine.Bench;

namespace SerEngine.Tests.Bench;

/// <summary>The GEMM tile probe of <c>ser bench</c> (gemm.tile.v512 / v256): its names and the engine hook it times.</summary>
public class GemmTileCaseTests
{
    [Theory]
    [InlineData("gemm.tile.v512", "gemm.tile.v512")]
    [InlineData("gemm.tile.v256.lda1024", "gemm.tile.v256")]
    [InlineData("gemm.tile.v512.lda260", "gemm.tile.v512.lda260")]
    [InlineData("gemm.tile.v512.lda100", null)] // rows shorter than a KC-deep tile
    [InlineData("gemm.tile.v128", null)]
    public void FindsTheProbeByName(string name, string? found) => Assert.Equal(found, BenchCases.Find(name)?.Name);

    [Fact]
    public unsafe void TheHookAddsTheTileProductOncePerRepeat()
    {
        int ran = 0;
        foreach (int bits in new[] { 256, 512 })
        {
            if (!CpuBackend.GemmTileSupported(bits)) continue; // 512 bits on AVX-512 machines only
            int kc = CpuBackend.GemmKC, nr = CpuBackend.GemmTileColumns(bits), w = CpuBackend.GemmTilePanel(bits), lda = 300, repeats = 3;
            var a = new float[6 * lda];  // [6][lda], columns 0..kc used
            var b = new float[kc * nr];  // [nr / w][kc][w]: the tile's micro-panels side by side
            var c = new float[6 * lda];  // [6][lda], columns 0..NR used
            var rng = new Random(7);
            for (int i = 0; i < a.Length; i++) a[i] = (float)(rng.NextDouble() - 0.5);
            for (int i = 0; i < b.Length; i++) b[i] = (float)(rng.NextDouble() - 0.5);
            fixed (float* pa = a, pb = b, pc = c)
                CpuBackend.GemmTileRepeat(bits, kc, pa, lda, pb, pc, lda, repeats);
            for (int r = 0; r < 6; r++)
                for (int j = 0; j < lda; j++)
                {
                    double want = 0;
                    if (j < nr)
                        for (int p = 0; p < kc; p++) want += (double)a[r * lda + p] * b[j / w * kc * w + p * w + j % w];
                    Assert.Equal(repeats * want, c[r * lda + j], 1e-3); // columns past the tile stay 0
                }
            ran++;
        }
        Assert.True(ran >= 1, "no tile width ran: the 256-bit kernel needs FMA (x86-64-v3)");
    }
}
