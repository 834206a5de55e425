using System.Runtime.CompilerServices;

namespace SerEngine.Backends.Cpu;

// Fast permute. y [yDims] is written in order; x is read through the permuted strides, collapsed
// (StridedLoop), so axes that stay together move as one. When the innermost merged axis is still
// contiguous in x every run is a block copy; otherwise the move is a transpose between x's
// contiguous axis (A) and y's (B), done in 16×16 tiles so both sides are read and written a cache
// line at a time. Short runs (≤ PermuteShortRow) are copied in one loop per chunk, not a delegate call
// each. Int32 tensors take the reference path.
public partial class CpuBackend
{
    private const int PermuteTile = 16;

    /// <inheritdoc/>
    public override unsafe void Permute(Storage x, Shape xShape, int[] perm, Storage y)
    {
        if (x.DType != DType.Float32)
        {
            base.Permute(x, xShape, perm, y);
            return;
        }
        float[] xv = F(x), yv = F(y);
        int rank = xShape.Rank, size = xShape.Size;
        if (size == 0) return;
        var xs = xShape.Strides();
        var yDims = new int[rank];
        var xStrides = new int[rank]; // stride in x of each y axis
        for (int i = 0; i < rank; i++) { yDims[i] = xShape[perm[i]]; xStrides[i] = xs[perm[i]]; }
        var loop = StridedLoop.Collapse(yDims, StridedLoop.Contiguous(yDims), xStrides);
        if (loop.InnerStride(1) == 1)
        {
            if (loop.Rows > 1 && loop.Inner <= PermuteShortRow)
            {
                CopyShortRows(loop, xv, yv, size);
                return;
            }
            RunRows(loop, size, (l, j0, count) =>
                new ReadOnlySpan<float>(xv, (int)l.Offset(1) + j0, count).CopyTo(new Span<float>(yv, (int)l.Offset(0) + j0, count)));
            return;
        }
        // a transpose: axis a (contiguous in x) against the inner axis (contiguous in y)
        int a = -1;
        for (int i = 0; i < loop.Rank - 1; i++)
            if (loop.Stride(1, i) == 1) a = i;
        if (a < 0)
        {
            base.Permute(x, xShape, perm, y); // no axis of x left contiguous (cannot happen for a permutation)
            return;
        }
        var outerDims = new List<int>();
        var outerY = new List<int>();
        var outerX = new List<int>();
        for (int i = 0; i < loop.Rank - 1; i++)
        {
            if (i == a) continue;
            outerDims.Add(loop.Dim(i));
            outerY.Add(loop.Stride(0, i));
            outerX.Add(loop.Stride(1, i));
        }
        var outer = StridedLoop.Outer(outerDims, outerY, outerX);
        int lenA = loop.Dim(a), lenB = loop.Inner, yStrideA = loop.Stride(0, a), xStrideB = loop.InnerStride(1);
        int tilesA = CeilDiv(lenA, PermuteTile);
        long tasks = outer.Rows * tilesA;
        ForChunks((int)tasks, size, (s, e) =>
        {
            var o = outer.Clone();
            long row = s / tilesA;
            o.Seek(row);
            fixed (float* px = xv, py = yv)
                for (int t = s; t < e; t++)
                {
                    if (t / tilesA != row) { o.Next(); row++; }
                    int a0 = t % tilesA * PermuteTile, a1 = Math.Min(lenA, a0 + PermuteTile);
                    long yo = o.Offset(0), xo = o.Offset(1);
                    for (int b0 = 0; b0 < lenB; b0 += PermuteTile)
                        TransposeTile(px + xo + a0, xStrideB, py + yo + (long)a0 * yStrideA + b0, yStrideA, a1 - a0, Math.Min(lenB, b0 + PermuteTile) - b0, b0);
                }
        });
    }

    /// <summary>Longest contiguous run that Permute copies with CopyShortRows.</summary>
    private const int PermuteShortRow = 256;

    /// <summary>
    /// The block copies of a permute whose runs are short (attention's head split [32, 15, 4, 64] → [32, 4, 15, 64]:
    /// 1920 runs of 64), the runs of a chunk in one loop instead of a delegate call and a span copy each.
    /// </summary>
    private unsafe void CopyShortRows(StridedLoop loop, float[] xv, float[] yv, long work)
    {
        int inner = loop.Inner;
        ForChunks((int)loop.Rows, work, (s, e) =>
        {
            var l = loop.Clone();
            l.Seek(s);
            fixed (float* px = xv, py = yv)
                for (int r = s; r < e; r++)
                {
                    Buffer.MemoryCopy(px + l.Offset(1), py + l.Offset(0), (long)inner * sizeof(float), (long)inner * sizeof(float));
                    if (r + 1 < e) l.Next();
                }
        });
    }

    /// <summary>
    /// One tile of a permute's transpose: y[i·yStride + j] = x[i + (b0 + j)·xStride] for i &lt; rows, j &lt; cols
    /// (x points at the tile's first column, y at its first value). Pointers, not indexed arrays: the bounds
    /// checks and 64-bit index products of the array form cost more than the moves.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void TransposeTile(float* x, int xStride, float* y, int yStride, int rows, int cols, int b0)
    {
        float* xb = x + (long)b0 * xStride;
        for (int i = 0; i < rows; i++)
        {
            float* yr = y + (long)i * yStride, xc = xb + i;
            int j = 0;
            for (; j + 4 <= cols; j += 4)
            {
                yr[j] = xc[(long)j * xStride];
                yr[j + 1] = xc[(long)(j + 1) * xStride];
                yr[j + 2] = xc[(long)(j + 2) * xStride];
                yr[j + 3] = xc[(long)(j + 3) * xStride];
            }
            for (; j < cols; j++) yr[j] = xc[(long)j * xStride];
        }
    }
}
