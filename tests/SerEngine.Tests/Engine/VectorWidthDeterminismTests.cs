using System.Runtime.Intrinsics;
using SerEngine.Backends;
using SerEngine.Backends.Cpu;

namespace SerEngine.Tests.Engine;

/// <summary>
/// The cpu backend's results do not depend on the machine's vector width: the GEMM with 256-bit and
/// with 512-bit micro-kernels (emulated where the CPU lacks AVX-512) gives bit-identical products, the
/// small-output, long-k shapes that split k between threads included; and the fixed-order sums
/// (FixedSum) equal a scalar emulation of their documented order, bit for bit, on any CPU.
/// </summary>
public class VectorWidthDeterminismTests
{
    [Fact]
    public void GemmIsBitIdenticalWith256And512BitKernels()
    {
        var rng = new Generator(8);
        // [m, n, k]: conv backward-weight shapes (16 × 121 over 1344, FocusCalibrationNet's 8 × 20 over 50k),
        // which the planner splits along k, and ordinary ones (the last with an A past GemmWideA: fewer column blocks)
        int[][] sizes = [[16, 121, 1344], [8, 20, 12_000], [32, 144, 3000], [7, 33, 5], [64, 200, 48], [129, 70, 300], [300, 200, 900]];
        foreach (var s in sizes)
        {
            int m = s[0], n = s[1], k = s[2];
            var a = Tensor.RandomNormal(new Shape(m, k), rng, backend: KernelTwinReference);
            var b = Tensor.RandomNormal(new Shape(k, n), rng, backend: KernelTwinReference);
            float[] Product(GemmKernelKind kind)
            {
                var be = new CpuBackend(2) { GemmKernel = kind };
                var sa = be.Allocate(m * k, DType.Float32);
                var sb = be.Allocate(k * n, DType.Float32);
                var sc = be.Allocate(m * n, DType.Float32);
                be.Write(sa, a.ToArray());
                be.Write(sb, b.ToArray());
                be.Gemm(false, false, 1, m, n, k, 1f, sa, 0, sb, 0, 0f, sc, 0);
                var c = new float[m * n];
                be.Read(sc, c);
                return c;
            }
            Assert.Equal(Product(GemmKernelKind.Vector256), Product(GemmKernelKind.Vector512));
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(15)]
    [InlineData(16)]
    [InlineData(17)]
    [InlineData(40)]
    [InlineData(128)]
    [InlineData(129)]
    public void BiasedSoftmaxRowsAreBitIdenticalWith256And512BitVectors(int cols)
    {
        var rng = new Generator((ulong)cols + 11);
        var x = Tensor.RandomNormal(new Shape(cols), rng, 0f, 4f, KernelTwinReference).ToArray();
        var bias = Tensor.RandomNormal(new Shape(cols), rng, backend: KernelTwinReference).ToArray();
        var mask = new int[cols];
        for (int j = 0; j < cols; j++) mask[j] = j % 5 == 3 || j >= cols - cols / 4 ? 0 : 1; // masked keys inside and at the end
        x[0] = 90f; // large exponents stay in range after the maximum is subtracted
        float[] Row(bool wide)
        {
            var y = new float[cols];
            float max = CpuBackend.BiasedRow(x, bias, mask, 0.125f, y, wide);
            if (!float.IsNegativeInfinity(max)) CpuBackend.ExpNormalizeRow(y, max, wide);
            return y;
        }
        var narrow = Row(false);
        Assert.Equal(narrow.Select(BitConverter.SingleToInt32Bits), Row(true).Select(BitConverter.SingleToInt32Bits));
        if (cols > 3) Assert.Equal(0f, narrow[3]); // a masked key is exactly 0
    }

    [Theory]
    [InlineData(600, 128, 100)] // the benchmark's layout: the last 28 keys masked, whole masked vectors at the end
    [InlineData(90, 40, 21)]
    [InlineData(50, 129, 77)]
    public void BiasedSoftmaxRowsMatchTheUnskippedRecipeBitForBit(int rows, int cols, int valid)
    {
        // the backend builds each row in scratch and skips the exponential of all-masked vectors: pinned here
        // to the plain 256-bit recipe (every vector through ExpRow8, the 8-lane sum, 1 / sum, a product)
        var rng = new Generator((ulong)(rows + cols));
        var x = Tensor.RandomNormal(new Shape(rows * cols), rng, 0f, 4f, KernelTwinReference).ToArray();
        var bias = Tensor.RandomNormal(new Shape(rows * cols), rng, backend: KernelTwinReference).ToArray();
        var mask = new int[2 * cols];
        for (int j = 0; j < cols; j++) mask[cols + j] = j < valid && j % 7 != 2 ? 1 : 0; // the first half's rows: every key masked
        var expected = new float[rows * cols];
        for (int r = 0; r < rows; r++)
        {
            var y = expected.AsSpan(r * cols, cols);
            float max = CpuBackend.BiasedRow(x.AsSpan(r * cols, cols), bias.AsSpan(r * cols, cols), mask.AsSpan(r / (rows / 2) * cols, cols), 0.5f, y, wide: false);
            if (float.IsNegativeInfinity(max))
            {
                y.Clear();
                continue;
            }
            var vsum = Vector256<float>.Zero;
            int j = 0;
            for (; j + 8 <= cols; j += 8)
            {
                var e = CpuBackend.ExpRow8(Vector256.Create(y.Slice(j, 8)) - Vector256.Create(max));
                e.CopyTo(y.Slice(j, 8));
                vsum += e;
            }
            float sum = Vector256.Sum(vsum);
            for (; j < cols; j++) sum += y[j] = MathF.Exp(y[j] - max);
            float inv = 1f / sum;
            for (j = 0; j < cols; j++) y[j] *= inv;
        }
        var be = new CpuBackend(2);
        var (sx, sb, sm, sy) = (be.Allocate(x.Length, DType.Float32), be.Allocate(x.Length, DType.Float32), be.Allocate(mask.Length, DType.Int32), be.Allocate(x.Length, DType.Float32));
        be.Write(sx, x);
        be.Write(sb, bias);
        be.Write(sm, mask);
        be.BiasedSoftmax(sx, sb, sm, sy, rows, cols, rows / 2, 0.5f);
        var got = new float[x.Length];
        be.Read(sy, got);
        Assert.Equal(expected.Select(BitConverter.SingleToInt32Bits), got.Select(BitConverter.SingleToInt32Bits));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(7)]
    [InlineData(8)]
    [InlineData(31)]
    [InlineData(32)]
    [InlineData(45)]
    [InlineData(1000)]
    [InlineData(4099)]
    public void FixedSumFollowsItsDocumentedOrder(int n)
    {
        var rng = new Generator((ulong)n + 3);
        var x = Tensor.RandomNormal(new Shape(Math.Max(n, 1)), rng, backend: KernelTwinReference).ToArray()[..n];
        var y = Tensor.RandomNormal(new Shape(Math.Max(n, 1)), rng, 0f, 3f, KernelTwinReference).ToArray()[..n];
        Assert.Equal(BitConverter.SingleToInt32Bits(Emulated(x, null)), BitConverter.SingleToInt32Bits(FixedSum.Sum(x)));
        Assert.Equal(BitConverter.SingleToInt32Bits(Emulated(x, y)), BitConverter.SingleToInt32Bits(FixedSum.Dot(x, y)));
    }

    private static readonly Backend KernelTwinReference = BackendRegistry.Get("cpu-reference");

    /// <summary>FixedSum's order in scalar code: four 8-lane accumulators over 32-float steps, one over 8-float steps, lanes pairwise, the tail.</summary>
    private static float Emulated(float[] x, float[]? y)
    {
        float V(int i) => y is null ? x[i] : x[i] * y[i];
        var acc = new float[4, 8];
        int n = x.Length, i = 0;
        for (; i <= n - 32; i += 32)
            for (int a = 0; a < 4; a++)
                for (int l = 0; l < 8; l++) acc[a, l] += V(i + 8 * a + l);
        for (; i <= n - 8; i += 8)
            for (int l = 0; l < 8; l++) acc[0, l] += V(i + l);
        var v = new float[8];
        for (int l = 0; l < 8; l++) v[l] = (acc[0, l] + acc[1, l]) + (acc[2, l] + acc[3, l]);
        float s = ((v[0] + v[4]) + (v[2] + v[6])) + ((v[1] + v[5]) + (v[3] + v[7]));
        for (; i < n; i++) s += V(i);
        return s;
    }

    [Fact]
    public void ThisMachinesWidthIsNamedInTheBackend() =>
        Assert.Contains(Vector512.IsHardwareAccelerated ? "SIMD 512-bit" : Vector256.IsHardwareAccelerated ? "SIMD 256-bit" : "SIMD 128-bit",
            BackendRegistry.Get("cpu").DeviceName, StringComparison.Ordinal);
}
