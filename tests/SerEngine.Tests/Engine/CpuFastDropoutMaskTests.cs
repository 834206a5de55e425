using SerEngine.Backends;
using SerEngine.Backends.Cpu;
using static SerEngine.Tests.Engine.FastAgreement;

namespace SerEngine.Tests.Engine;

/// <summary>
/// The fast dropout mask (eight counter-based draws at a time in integer lanes, chunks on several threads)
/// against the <c>cpu-reference</c> loop, bit for bit: lengths around the 8-wide step and above the
/// parallel threshold, several seeds and probabilities, one to three threads.
/// </summary>
public class CpuFastDropoutMaskTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(8)]
    [InlineData(9)]
    [InlineData(15360)]
    [InlineData(28800)]
    [InlineData(100003)]
    public void MaskIsTheReferenceMaskBitForBit(int n)
    {
        foreach (ulong seed in new[] { 0UL, 12345UL, 0xFFFFFFFFFFFFFFF0UL })
        {
            foreach (float p in new[] { 0.1f, 0.5f, 0.9f })
            {
                var expected = Ref.Allocate(n, DType.Float32);
                Ref.DropoutMask(expected, n, p, seed);
                var e = Read(expected);
                Assert.Contains(0f, n >= 100 ? e : [0f]);
                foreach (int threads in new[] { 1, 2, 3 })
                {
                    var actual = Ref.Allocate(n, DType.Float32);
                    new CpuBackend { Threads = threads }.DropoutMask(actual, n, p, seed);
                    Assert.True(e.AsSpan().SequenceEqual(Read(actual)), $"n {n} seed {seed} p {p} threads {threads}");
                }
            }
        }
    }
}
