using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace SerEngine.Backends.Cpu;

// Fast SumTo (the adjoint of broadcasting) and BroadcastTo.
// SumTo walks x [xShape] with y's broadcast strides (0 along summed axes), collapsed (StridedLoop),
// with the kept axes outermost so that threads own disjoint outputs:
//   inner axis summed: y[j] = Σ over the run and the summed outer axes (a vectorised sum per run,
//                      accumulated in double; short runs with nothing else summed: four rows at a time, scalar);
//   inner axis kept:   y[j..] = Σ x runs, one run per summed outer index, 32 columns at a time in registers.
// BroadcastTo walks y with x's broadcast strides: runs are copies (x stride 1) or fills (stride 0).
public partial class CpuBackend
{
    /// <inheritdoc/>
    public override unsafe void SumTo(Storage x, Shape xShape, Storage y, Shape yShape)
    {
        float[] xv = F(x), yv = F(y);
        int size = xShape.Size, outSize = yShape.Size;
        if (outSize == 0) return;
        if (size == 0 || xShape == yShape)
        {
            if (size == 0) yv.AsSpan(0, outSize).Clear();
            else xv.AsSpan(0, size).CopyTo(yv);
            return;
        }
        if (Avx2.IsSupported && xShape[^1] < 32 && IsLastAxisSum(xShape, yShape))
        {
            // short rows each summed to one element (a mean over a few tokens), both sides contiguous
            fixed (float* px = xv, py = yv) SumShortRows(px, py, outSize, xShape[^1]);
            return;
        }
        var dims = xShape.ToArray();
        var loop = StridedLoop.Collapse(dims, StridedLoop.Contiguous(dims), BroadcastStrides(yShape, xShape));
        // after collapsing: split the outer axes into kept (y stride ≠ 0) and summed ones
        var (kept, summed) = loop.SplitOuter(1);
        int inner = kept.Inner;
        bool innerSummed = kept.InnerStride(1) == 0;
        long keptRows = kept.Rows, summedRows = summed.Rows;
        if (innerSummed && summedRows == 1 && inner < 32 && kept.InnerStride(0) == 1)
        {
            // short rows each summed to one element (a mean over a few tokens): four rows at a time in
            // four independent sums (one sum per row would wait on each add), no vector reduction per row
            var k = kept.Clone();
            k.Seek(0);
            long* xo = stackalloc long[4];
            long* yo = stackalloc long[4];
            fixed (float* px = xv, py = yv) // pointers: the array reads' bounds checks cost more than the adds
                for (long row = 0; row < keptRows; row += 4)
                {
                    int rows = (int)Math.Min(4, keptRows - row);
                    for (int r = 0; r < 4; r++)
                    {
                        xo[r] = k.Offset(0);
                        yo[r] = k.Offset(1);
                        if (r + 1 < rows) k.Next();
                    }
                    if (row + rows < keptRows) k.Next();
                    for (int r = rows; r < 4; r++) xo[r] = xo[0];
                    float* x0 = px + xo[0], x1 = px + xo[1], x2 = px + xo[2], x3 = px + xo[3];
                    double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
                    for (int q = 0; q < inner; q++)
                    {
                        s0 += x0[q]; s1 += x1[q]; s2 += x2[q]; s3 += x3[q];
                    }
                    py[yo[0]] = (float)s0;
                    if (rows > 1) py[yo[1]] = (float)s1;
                    if (rows > 2) py[yo[2]] = (float)s2;
                    if (rows > 3) py[yo[3]] = (float)s3;
                }
            return;
        }
        if (innerSummed)
        {
            // every kept row is one output element
            ForChunks((int)keptRows, size, (s, e) =>
            {
                var k = kept.Clone();
                var r = summed.Clone();
                k.Seek(s);
                for (long row = s; row < e; row++)
                {
                    double acc = 0;
                    r.Seek(0);
                    for (long q = 0; q < summedRows; q++)
                    {
                        acc += FixedSum.Sum(new ReadOnlySpan<float>(xv, (int)(k.Offset(0) + r.Offset(0)), inner));
                        if (q + 1 < summedRows) r.Next();
                    }
                    yv[k.Offset(1)] = (float)acc;
                    if (row + 1 < e) k.Next();
                }
            });
            return;
        }
        // inner axis kept (y stride 1 along it): each kept row of y is the sum of its summed runs of x,
        // taken 32 columns at a time in registers (the runs' offsets listed once); tasks are (kept row,
        // column block) pairs
        var offsets = ArrayPool<long>.Shared.Rent((int)summedRows);
        var walk = summed.Clone();
        walk.Seek(0);
        for (long q = 0; q < summedRows; q++)
        {
            offsets[q] = walk.Offset(0);
            if (q + 1 < summedRows) walk.Next();
        }
        int blocks = (inner + 31) / 32, runs = (int)summedRows;
        ForChunks((int)(keptRows * blocks), size, (s, e) =>
        {
            var k = kept.Clone();
            long at = s / blocks;
            k.Seek(at);
            for (int task = s; task < e; task++)
            {
                long row = task / blocks;
                for (; at < row; at++) k.Next();
                int j0 = task % blocks * 32;
                ColumnSums(xv, k.Offset(0) + j0, offsets, runs, yv, (int)k.Offset(1) + j0, Math.Min(32, inner - j0));
            }
        });
        ArrayPool<long>.Shared.Return(offsets);
    }

    /// <summary>Whether y is x with only its last axis summed (x [.., R, inner] and y [.., R, 1] both contiguous).</summary>
    private static bool IsLastAxisSum(Shape xShape, Shape yShape)
    {
        if (xShape.Rank != yShape.Rank || yShape[^1] != 1) return false;
        for (int i = 0; i < xShape.Rank - 1; i++)
            if (xShape[i] != yShape[i]) return false;
        return true;
    }

    /// <summary>
    /// y[r] = Σ_q x[r·inner + q] (q in order, in double) for r &lt; rows: eight rows at a time as the lanes of
    /// two double vectors (a gather per column), so each lane adds its row exactly as the scalar loop does;
    /// one scalar sum per row would wait on each add and pay a row's bookkeeping per few elements.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void SumShortRows(float* x, float* y, int rows, int inner)
    {
        int r = 0;
        var idx = Vector128.Create(0, inner, 2 * inner, 3 * inner); // inner < 32 (the caller's condition)
        for (; r + 8 <= rows; r += 8)
        {
            float* x0 = x + (long)r * inner, x4 = x0 + 4L * inner;
            Vector256<double> a0 = Vector256<double>.Zero, a1 = a0;
            for (int q = 0; q < inner; q++)
            {
                a0 += Avx.ConvertToVector256Double(Avx2.GatherVector128(x0 + q, idx, 4));
                a1 += Avx.ConvertToVector256Double(Avx2.GatherVector128(x4 + q, idx, 4));
            }
            Avx.ConvertToVector128Single(a0).Store(y + r);
            Avx.ConvertToVector128Single(a1).Store(y + r + 4);
        }
        for (; r < rows; r++)
        {
            float* xr = x + (long)r * inner;
            double s = 0;
            for (int q = 0; q < inner; q++) s += xr[q];
            y[r] = (float)s;
        }
    }

    /// <summary>
    /// y[yOffset + j] = Σ over q &lt; runs of x[xOffset + offsets[q] + j] for j &lt; len (≤ 32), q in order from
    /// 0 (the float result of adding the runs one after another into a zeroed row).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void ColumnSums(float[] x, long xOffset, long[] offsets, int runs, float[] y, int yOffset, int len)
    {
        fixed (float* px0 = x, py0 = y)
        fixed (long* po = offsets)
        {
            float* px = px0 + xOffset, py = py0 + yOffset;
            int j = 0;
            if (Vector256.IsHardwareAccelerated && len == 32)
            {
                Vector256<float> a0 = Vector256<float>.Zero, a1 = a0, a2 = a0, a3 = a0;
                for (int q = 0; q < runs; q++)
                {
                    float* r = px + po[q];
                    a0 += Vector256.Load(r);
                    a1 += Vector256.Load(r + 8);
                    a2 += Vector256.Load(r + 16);
                    a3 += Vector256.Load(r + 24);
                }
                a0.Store(py);
                a1.Store(py + 8);
                a2.Store(py + 16);
                a3.Store(py + 24);
                return;
            }
            if (Vector256.IsHardwareAccelerated)
                for (; j + 8 <= len; j += 8)
                {
                    var a = Vector256<float>.Zero;
                    for (int q = 0; q < runs; q++) a += Vector256.Load(px + po[q] + j);
                    a.Store(py + j);
                }
            for (; j < len; j++)
            {
                float a = 0f;
                for (int q = 0; q < runs; q++) a += px[po[q] + j];
                py[j] = a;
            }
        }
    }

    /// <inheritdoc/>
    public override void BroadcastTo(Storage x, Shape xShape, Storage y, Shape yShape)
    {
        float[] xv = F(x), yv = F(y);
        int size = yShape.Size;
        if (size == 0) return;
        if (xShape == yShape)
        {
            xv.AsSpan(0, size).CopyTo(yv);
            return;
        }
        var dims = yShape.ToArray();
        var loop = StridedLoop.Collapse(dims, StridedLoop.Contiguous(dims), BroadcastStrides(xShape, yShape));
        RunRows(loop, size, (l, j0, count) =>
        {
            var dst = new Span<float>(yv, (int)l.Offset(0) + j0, count);
            int sx = l.InnerStride(1);
            if (sx == 0) dst.Fill(xv[l.Offset(1)]);
            else if (sx == 1) new ReadOnlySpan<float>(xv, (int)l.Offset(1) + j0, count).CopyTo(dst);
            else for (int i = 0; i < count; i++) dst[i] = xv[l.Offset(1) + (long)(j0 + i) * sx];
        });
    }
}
