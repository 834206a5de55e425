// reduce.cl — SumTo: x summed down to a shape whose dims equal x's or are 1 (the adjoint of
// broadcasting, and the gradient of every broadcast operand and bias).
//
// Dimension legend: x has dims d[0..rank) after the launch code has dropped size-1 dims and merged
// neighbours of the same kind, so reduced and kept dims alternate (rank ≤ 8); bit k of reducedMask
// is set when dim k is summed away. y holds the kept dims in order (contiguous), m elements;
// count = (elements of x) / m elements are summed into each output.
//
// Kernels, simplest first:
//   sum_to_naive   one work-item per output element loops over its `count` inputs. Any pattern.
//   sum_to_group   one work-group per output element: strided loop, then a tree in local memory.
//                  Any pattern; used when count is large (≥ 64) and the pattern is not the next one.
//   sum_rows       x viewed as [R, K] with the leading R rows summed away (reduce everything: K = 1;
//                  bias gradients: [N·T, C] → [C]). 2-D groups of TX columns × TY rows: each
//                  work-item sums a strided slice of one column of a chunk of rows, then a tree over
//                  TY in local memory writes one partial sum per (chunk, column). Run twice when
//                  there is more than one chunk: [R, K] → [G, K] → [1, K]. Deterministic (no atomics).
// The launch code picks sum_rows for the leading-dims pattern, else sum_to_group when count ≥ 64,
// else sum_to_naive. Work-group sizes are powers of two ≤ MAX_GROUP.
// CPU twin: CpuReferenceBackend.SumTo (CpuReference.Elementwise.cs).

#define MAX_RANK 8
#define MAX_GROUP 256

#include "group.h" // FOR_GROUP_STRIDE, group_max, group_sum

// Offset in x of output element j (its kept coordinates) and of reduced element r (its reduced
// coordinates); the two add up to the flat index of one summand in x.
INLINE int kept_offset(int j, const int rank, const int* d, const int mask)
{
    int offset = 0, stride = 1;
    for (int k = rank - 1; k >= 0; k--)
    {
        if (!((mask >> k) & 1))
        {
            offset += j % d[k] * stride;
            j /= d[k];
        }
        stride *= d[k];
    }
    return offset;
}

INLINE int reduced_offset(int r, const int rank, const int* d, const int mask)
{
    int offset = 0, stride = 1;
    for (int k = rank - 1; k >= 0; k--)
    {
        if ((mask >> k) & 1)
        {
            offset += r % d[k] * stride;
            r /= d[k];
        }
        stride *= d[k];
    }
    return offset;
}

KERNEL void sum_to_naive(GLOBAL const float* RESTRICT x, // [d0, ..., d(rank-1)]
                         GLOBAL float* RESTRICT y,       // [m] (the kept dims)
                         const int m, const int count, const int rank, const int reducedMask,
                         const int d0, const int d1, const int d2, const int d3,
                         const int d4, const int d5, const int d6, const int d7)
{
    const int j = GID(0);
    if (j >= m) return;
    const int d[MAX_RANK] = { d0, d1, d2, d3, d4, d5, d6, d7 };
    const int base = kept_offset(j, rank, d, reducedMask);
    float s = 0.0f;
    for (int r = 0; r < count; r++) s += x[base + reduced_offset(r, rank, d, reducedMask)];
    y[j] = s;
}

KERNEL void sum_to_group(GLOBAL const float* RESTRICT x, // [d0, ..., d(rank-1)]
                         GLOBAL float* RESTRICT y,       // [m] (the kept dims); one group each
                         const int m, const int count, const int rank, const int reducedMask,
                         const int d0, const int d1, const int d2, const int d3,
                         const int d4, const int d5, const int d6, const int d7)
{
    LOCAL float partial[MAX_GROUP];
    const int j = GROUP(0), lid = LID(0);
    if (j >= m) return; // uniform over the group
    const int d[MAX_RANK] = { d0, d1, d2, d3, d4, d5, d6, d7 };
    const int base = kept_offset(j, rank, d, reducedMask);
    float s = 0.0f;
    FOR_GROUP_STRIDE(r, count) s += x[base + reduced_offset(r, rank, d, reducedMask)];
    partial[lid] = s;
    BARRIER;
    for (int gap = LSIZE(0) / 2; gap > 0; gap >>= 1)
    {
        if (lid < gap) partial[lid] += partial[lid + gap];
        BARRIER;
    }
    if (lid == 0) y[j] = partial[0];
}

KERNEL void sum_rows(GLOBAL const float* RESTRICT x, // [rows, cols]
                     GLOBAL float* RESTRICT y,       // [NGROUPS(1), cols]: one row of sums per chunk
                     const int rows, const int cols,
                     const int rowsPerChunk)        // chunk c sums rows [c·rowsPerChunk, (c+1)·rowsPerChunk)
{
    LOCAL float partial[MAX_GROUP]; // [TY, TX]
    const int lx = LID(0), ly = LID(1), tx = LSIZE(0), ty = LSIZE(1);
    const int col = GID(0), chunk = GROUP(1);
    const int first = chunk * rowsPerChunk;
    const int end = min(rows, first + rowsPerChunk);
    float s = 0.0f;
    // rows first + ly, first + ly + TY, ... below end, with the same trip count on every work-item
    for (int base = first; base < end; base += ty)
    {
        const int r = base + ly;
        if (r < end && col < cols) s += x[r * cols + col];
    }
    partial[ly * tx + lx] = s;
    BARRIER;
    for (int gap = ty / 2; gap > 0; gap >>= 1)
    {
        if (ly < gap) partial[ly * tx + lx] += partial[(ly + gap) * tx + lx];
        BARRIER;
    }
    if (ly == 0 && col < cols) y[chunk * cols + col] = partial[lx];
}
