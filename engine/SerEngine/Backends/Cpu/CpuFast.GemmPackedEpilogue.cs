using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace SerEngine.Backends.Cpu;

// GemmPackedA with a step on each finished row of C (Backend.GemmPackedEpilogue.cs). On the narrow path
// (≤ 16 columns, 512-bit) each task does the step on its own rows right after their products, inside the same
// parallel loop, so the calling thread no longer runs the step alone while the worker waits; elsewhere the step
// runs after the product. Either way each row goes through the same function, so the bits do not depend on the
// path or the vector width, and they are those of the composed default on this backend: tanh through Tanh8 for
// every element (the Unary kernel's vector body; a row's tail is run through it padded), and the residual mean
// as SumTo sums a short row (in order, in double) times the Scale factor 1/n.
public partial class CpuBackend
{
    /// <summary>What <see cref="GemmNarrow"/> does to each finished row of C.</summary>
    internal enum RowStep { None, Tanh, RowMeans, ResidualReluMean }

    /// <summary>
    /// The step and its operands: for ResidualReluMean, residual [N, m, n] (items <see cref="ItemStride"/> apart,
    /// as C) and means [N, m]; for RowMeans, means [N, m] of the first m rows (m ≤ the product's rows).
    /// </summary>
    internal readonly unsafe struct RowsEpilogue(RowStep step, float* residual, float* means, long itemStride, int m)
    {
        public RowStep Step { get; } = step;

        public float* Residual { get; } = residual;

        public float* Means { get; } = means;

        public long ItemStride { get; } = itemStride;

        public int M { get; } = m;

        /// <summary>Applies the step to rows [r0, r0 + rows) of item <paramref name="item"/> of C (<paramref name="ci"/> is that item's C).</summary>
        public void Apply(int item, float* ci, int r0, int rows, int n)
        {
            switch (Step)
            {
                case RowStep.Tanh:
                    TanhAll(ci + (long)r0 * n, rows * n);
                    break;
                case RowStep.RowMeans:
                    if (r0 < M) ResidualReluMeans(ci + (long)r0 * n, null, Means + (long)item * M + r0, Math.Min(rows, M - r0), n);
                    break;
                case RowStep.ResidualReluMean:
                    ResidualReluMeans(ci + (long)r0 * n, Residual + item * ItemStride + (long)r0 * n, Means + (long)item * M + r0, rows, n);
                    break;
            }
        }
    }

    /// <summary>
    /// means[r] = (Σ_j ReLU(x[r, j] + c[r, j]), in order, in double) · (1/n) for r &lt; rows (rows of n floats), or without
    /// x (null) the plain means (Σ_j c[r, j] in order, in double) · (1/n): SumTo's short-row sums (<see cref="SumShortRows"/>,
    /// whose gathered eight-row loop the ReLU case repeats with the residual added), then the Scale by 1/n.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void ResidualReluMeans(float* c, float* x, float* means, int rows, int n)
    {
        float scale = 1f / n;
        int r = 0;
        if (x == null && Avx2.IsSupported && n < 32)
        {
            SumShortRows(c, means, rows, n);
            if (n != 1)
                for (; r < rows; r++) means[r] *= scale;
            return;
        }
        if (x != null && Avx2.IsSupported && n < 32)
        {
            var idx = Vector128.Create(0, n, 2 * n, 3 * n);
            for (; r + 8 <= rows; r += 8)
            {
                float* c0 = c + (long)r * n, c4 = c0 + 4L * n;
                float* x0 = x + (long)r * n, x4 = x0 + 4L * n;
                Vector256<double> a0 = Vector256<double>.Zero, a1 = a0;
                for (int j = 0; j < n; j++)
                {
                    a0 += Avx.ConvertToVector256Double(Relu4(Avx2.GatherVector128(x0 + j, idx, 4) + Avx2.GatherVector128(c0 + j, idx, 4)));
                    a1 += Avx.ConvertToVector256Double(Relu4(Avx2.GatherVector128(x4 + j, idx, 4) + Avx2.GatherVector128(c4 + j, idx, 4)));
                }
                var m0 = Avx.ConvertToVector128Single(a0);
                var m1 = Avx.ConvertToVector128Single(a1);
                if (n != 1)
                {
                    m0 *= Vector128.Create(scale);
                    m1 *= Vector128.Create(scale);
                }
                m0.Store(means + r);
                m1.Store(means + r + 4);
            }
        }
        for (; r < rows; r++)
        {
            float* cr = c + (long)r * n, xr = x == null ? null : x + (long)r * n;
            double s = 0;
            for (int j = 0; j < n; j++) s += xr == null ? cr[j] : Relu(xr[j] + cr[j]);
            means[r] = n == 1 ? (float)s : (float)s * scale;
        }

        static float Relu(float v) => v > 0 ? v : 0f;
        static Vector128<float> Relu4(Vector128<float> v) => Vector128.ConditionalSelect(Vector128.GreaterThan(v, Vector128<float>.Zero), v, Vector128<float>.Zero);
    }

    /// <summary>x = tanh(x) for <paramref name="count"/> floats, every one through Tanh8 (the tail padded with zeros).</summary>
    private static unsafe void TanhAll(float* x, int count)
    {
        int i = 0;
        for (; i + 8 <= count; i += 8) Tanh8(Vector256.Load(x + i)).Store(x + i);
        if (i == count) return;
        var tail = stackalloc float[8];
        for (int j = 0; j < 8; j++) tail[j] = i + j < count ? x[i + j] : 0f;
        Tanh8(Vector256.Load(tail)).Store(tail);
        for (int j = 0; i + j < count; j++) x[i + j] = tail[j];
    }

    /// <inheritdoc/>
    public override unsafe void GemmPackedATanh(PackedGemmA a, int batch, int n, Storage b, int strideB, Storage c, Storage? rowBias)
    {
        if (a is not CpuPackedGemmA || !ReferenceEquals(a.Backend, this) || !Vector256.IsHardwareAccelerated)
        {
            base.GemmPackedATanh(a, batch, n, b, strideB, c, rowBias);
            return;
        }
        GemmPackedARows(a, false, batch, n, 1f, b, strideB, 0f, c, a.Rows * n, rowBias, new RowsEpilogue(RowStep.Tanh, null, null, 0, a.Rows));
    }

    /// <inheritdoc/>
    public override unsafe void GemmPackedARowMeans(PackedGemmA a, int batch, int n, Storage b, int strideB, Storage c, Storage? rowBias,
        Storage means, int meanRows)
    {
        if (a is not CpuPackedGemmA || !ReferenceEquals(a.Backend, this) || meanRows <= 0 || meanRows > a.Rows)
        {
            base.GemmPackedARowMeans(a, batch, n, b, strideB, c, rowBias, means, meanRows);
            return;
        }
        fixed (float* pm = F(means))
            GemmPackedARows(a, false, batch, n, 1f, b, strideB, 0f, c, a.Rows * n, rowBias, new RowsEpilogue(RowStep.RowMeans, null, pm, 0, meanRows));
    }

    /// <inheritdoc/>
    public override unsafe void GemmPackedAResidualReluMean(PackedGemmA a, int batch, int n, Storage b, int strideB, Storage c, Storage? rowBias,
        Storage residual, Storage means)
    {
        if (a is not CpuPackedGemmA || !ReferenceEquals(a.Backend, this))
        {
            base.GemmPackedAResidualReluMean(a, batch, n, b, strideB, c, rowBias, residual, means);
            return;
        }
        fixed (float* pr = F(residual), pm = F(means))
            GemmPackedARows(a, false, batch, n, 1f, b, strideB, 0f, c, a.Rows * n, rowBias,
                new RowsEpilogue(RowStep.ResidualReluMean, pr, pm, (long)a.Rows * n, a.Rows));
    }
}
