using SerEngine.Backends;
using SerEngine.Backends.Cpu;

namespace SerEngine.Tests.Engine;

/// <summary>
/// The fused attention's row kernels against plain loops: RowsTimes is, element for element, the scalar
/// chain of fused multiply-adds over k in order (so its 512-bit, 256-bit and scalar column steps agree
/// bit for bit), and TransposePadded moves every value and zeroes the padding (8×8 shuffle blocks, their
/// partial row blocks and the scalar columns). Also the fast focus bias against the reference's loops.
/// Run with DOTNET_EnableAVX512=0 for the 256-bit forms.
/// </summary>
public class CpuFastAttentionKernelTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    [InlineData(9)]
    public unsafe void RowsTimesIsTheScalarFusedChainBitForBit(int rows)
    {
        var rng = new Random(rows);
        foreach (int k in new[] { 1, 15, 64 })
            foreach (int n in new[] { 1, 7, 8, 9, 15, 16, 17, 31, 32, 33, 48, 64, 65, 80 })
            {
                int lda = k + 3, ldb = n + 5, ldy = n + 2;
                var a = Values(rng, rows * lda);
                var b = Values(rng, k * ldb);
                var y = new float[rows * ldy];
                Array.Fill(y, float.NaN);
                fixed (float* pa = a, pb = b, py = y) CpuBackend.RowsTimes(pa, lda, rows, k, pb, ldb, n, py, ldy);
                for (int i = 0; i < rows; i++)
                    for (int j = 0; j < n; j++)
                    {
                        float s = 0f;
                        for (int kk = 0; kk < k; kk++) s = MathF.FusedMultiplyAdd(a[i * lda + kk], b[kk * ldb + j], s);
                        Assert.True(BitConverter.SingleToInt32Bits(s) == BitConverter.SingleToInt32Bits(y[i * ldy + j]), $"rows {rows} k {k} n {n}: y[{i}, {j}]");
                    }
            }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(8)]
    [InlineData(9)]
    [InlineData(15)]
    [InlineData(16)]
    [InlineData(17)]
    public unsafe void TransposePaddedMovesEveryValueAndZeroesThePadding(int rows)
    {
        var rng = new Random(100 + rows);
        foreach (int cols in new[] { 1, 7, 8, 9, 64, 65 })
            foreach (int ldDst in new[] { (rows + 7) & ~7, ((rows + 7) & ~7) + 8, rows + 1 })
            {
                int ldSrc = cols + 3;
                var src = Values(rng, rows * ldSrc);
                var dst = new float[cols * ldDst];
                Array.Fill(dst, float.NaN);
                fixed (float* ps = src, pd = dst) CpuBackend.TransposePadded(ps, rows, cols, ldSrc, pd, ldDst);
                for (int c = 0; c < cols; c++)
                    for (int r = 0; r < ldDst; r++)
                        Assert.True(BitConverter.SingleToInt32Bits(r < rows ? src[r * ldSrc + c] : 0f) == BitConverter.SingleToInt32Bits(dst[c * ldDst + r]),
                            $"rows {rows} cols {cols} ldDst {ldDst}: dst[{c}, {r}]");
            }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    [InlineData(1920)]
    public void FocusBiasIsTheReferenceBitForBit(int rows)
    {
        var reference = BackendRegistry.Get("cpu-reference");
        var rng = new Random(rows);
        foreach (int t in new[] { 1, 5, 8, 15, 16, 17, 24 })
        {
            var centres = Store(reference, [.. Enumerable.Range(0, rows).Select(_ => (float)(rng.NextDouble() * t))]);
            var widths = Store(reference, [.. Enumerable.Range(0, rows).Select(_ => (float)(1 + rng.NextDouble() * t))]);
            var dBias = Store(reference, Values(rng, rows * t));
            var (want, wantP, wantW) = (Nan(reference, rows * t), Nan(reference, rows), Nan(reference, rows));
            reference.FocusBiasForward(centres, widths, want, rows, t);
            reference.FocusBiasBackward(centres, widths, dBias, wantP, wantW, rows, t);
            foreach (var fast in new[] { new CpuBackend(1), new CpuBackend(2) })
            {
                var (got, gotP, gotW) = (Nan(reference, rows * t), Nan(reference, rows), Nan(reference, rows));
                fast.FocusBiasForward(centres, widths, got, rows, t);
                fast.FocusBiasBackward(centres, widths, dBias, gotP, gotW, rows, t);
                Assert.True(Read(reference, want).AsSpan().SequenceEqual(Read(reference, got)), $"bias rows {rows} t {t}");
                Assert.True(Read(reference, wantP).AsSpan().SequenceEqual(Read(reference, gotP)), $"dCentres rows {rows} t {t}");
                Assert.True(Read(reference, wantW).AsSpan().SequenceEqual(Read(reference, gotW)), $"dWidths rows {rows} t {t}");
                var onlyW = Nan(reference, rows);
                fast.FocusBiasBackward(centres, widths, dBias, null, onlyW, rows, t);
                Assert.True(Read(reference, wantW).AsSpan().SequenceEqual(Read(reference, onlyW)), $"dWidths alone rows {rows} t {t}");
            }
        }
    }

    private static float[] Values(Random rng, int n) => [.. Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() * 2 - 1))];

    private static Storage Store(Backend be, float[] values)
    {
        var s = be.Allocate(values.Length, DType.Float32);
        be.Write(s, values);
        return s;
    }

    private static Storage Nan(Backend be, int n)
    {
        var s = be.Allocate(n, DType.Float32);
        be.Fill(s, n, float.NaN);
        return s;
    }

    private static float[] Read(Backend be, Storage s)
    {
        var v = new float[s.Length];
        be.Read(s, v);
        return v;
    }
}
