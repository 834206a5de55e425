using SerEngine.Backends.Cpu;
using static SerEngine.Tests.Engine.FastAgreement;

namespace SerEngine.Tests.Engine;

/// <summary>
/// The fast GEMM's packing of a transposed A (the TN products of a linear layer's weight gradient): every
/// MR-row micro-panel holds A[i, p] = a[p·m + i] at [p][i], rows past the block are zeros, and nothing is
/// written past the block's panels. Full and ragged panels, depth tails, blocks that end at the matrix's last
/// row and column (where the eight-wide moves must not read past a), and batch items.
/// </summary>
public class CpuFastGemmPackingTests
{
    [Theory]
    [InlineData(256, 480, 0, 96, 0, 256)]
    [InlineData(256, 480, 192, 64, 256, 224)]
    [InlineData(480, 256, 384, 96, 0, 256)]
    [InlineData(13, 7, 0, 13, 0, 7)]
    [InlineData(14, 9, 6, 8, 3, 6)]
    [InlineData(12, 1, 0, 12, 0, 1)]
    [InlineData(30, 17, 24, 6, 16, 1)]
    public unsafe void TransposedAPanelsHoldTheColumnsOfA(int m, int k, int i0, int mc, int p0, int kc)
    {
        const int mr = CpuBackend.GemmMR;
        const int items = 2;
        var rng = new Generator((ulong)(m * 31 + k * 7 + i0 + p0));
        var a = RandomArray(rng, items * m * k); // [items][k, m]
        int panels = CpuBackend.CeilDiv(mc, mr), size = panels * kc * mr;
        var dst = new float[size + 8];
        for (int item = 0; item < items; item++)
        {
            Array.Fill(dst, float.NaN);
            fixed (float* pa = a, pd = dst)
                new PlainA(pa, (long)m * k, true, m, k).Pack(pd, item, i0, mc, p0, kc);
            for (int panel = 0; panel < panels; panel++)
                for (int p = 0; p < kc; p++)
                    for (int r = 0; r < mr; r++)
                    {
                        int i = panel * mr + r;
                        float expected = i < mc ? a[item * m * k + (p0 + p) * m + i0 + i] : 0f;
                        float actual = dst[(panel * kc + p) * mr + r];
                        Assert.True(expected.Equals(actual), $"item {item} panel {panel} step {p} row {r}: {actual}, expected {expected}");
                    }
            for (int t = size; t < dst.Length; t++) Assert.True(float.IsNaN(dst[t]), $"packing wrote past its panels at {t - size}");
        }
    }
}
